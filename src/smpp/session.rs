//! Pure pieces of one SMPP session: the bind state, the enquire_link schedule, the throttle pause,
//! the smooth rate limiter and the reconnect backoff. Time is passed in; the socket driver
//! (`smpp::conn`) only asks these what to do next.

use std::time::{Duration, Instant};

/// SMPP 3.4 §2.2 session states, as the ESME sees them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BindState {
    /// No connection (waiting for the reconnect backoff).
    Closed,
    /// Connected, bind sent, waiting for the bind response until the bind timeout.
    Binding,
    /// Bound: submits flow.
    Bound,
    /// unbind sent (shutdown): no new submits, waiting for unbind_resp.
    Unbinding,
}

/// A smooth rate limiter: GCRA with a small tolerance. Each message reserves the next slot; slots
/// are `1/rate` apart. A sender that comes late to its slot (its task was scheduled late under
/// load) may catch up on the schedule by up to [`RateLimiter::tolerance`] — one interval, or 10 ms
/// (typical scheduling jitter) if that is more — so the configured rate is reached rather than
/// eroded by every scheduling delay. Over any window W at most W·rate + 1 + tolerance·rate
/// messages go out (at 200/s: 3 back to back at worst), and idle time builds no more credit.
#[derive(Debug, Clone)]
pub struct RateLimiter {
    interval: Duration,
    /// Theoretical arrival time of the next message.
    tat: Option<Instant>,
}

impl RateLimiter {
    /// `rate` messages per second; non-positive or non-finite rates mean unlimited.
    pub fn new(rate: Option<f64>) -> Self {
        let interval = match rate {
            Some(r) if r.is_finite() && r > 0.0 => Duration::from_secs_f64(1.0 / r),
            _ => Duration::ZERO,
        };
        RateLimiter {
            interval,
            tat: None,
        }
    }

    pub fn is_unlimited(&self) -> bool {
        self.interval.is_zero()
    }

    /// How late a sender may be and still keep to the schedule.
    pub fn tolerance(&self) -> Duration {
        self.interval.max(Duration::from_millis(10))
    }

    /// Reserves a slot: the instant at which this message may be sent (`now` or later).
    pub fn reserve(&mut self, now: Instant) -> Instant {
        if self.is_unlimited() {
            return now;
        }
        // Keep to the schedule when at most `tolerance` late; otherwise start it again now.
        let slot = match self.tat {
            Some(t) if t + self.tolerance() >= now => t,
            _ => now,
        };
        self.tat = Some(slot + self.interval);
        slot.max(now)
    }

    /// Takes a slot only if it is due within `burst` of `now` (a PI's request is refused, not
    /// delayed); otherwise says how long until one would be.
    pub fn try_reserve(&mut self, now: Instant, burst: Duration) -> Result<(), Duration> {
        if self.is_unlimited() {
            return Ok(());
        }
        let at = match self.tat {
            Some(t) if t > now => t,
            _ => now,
        };
        if at > now + burst {
            return Err(at - (now + burst));
        }
        self.tat = Some(at + self.interval);
        Ok(())
    }
}

/// enquire_link schedule (SMPP 3.4 §4.11): after `interval` without traffic from the SMSC, send
/// one; no answer within `timeout` = the link is dead (drop and rebind).
#[derive(Debug, Clone)]
pub struct EnquireLink {
    interval: Duration,
    timeout: Duration,
    last_rx: Instant,
    outstanding: Option<(u32, Instant)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkAction {
    Nothing,
    Send,
    Dead,
}

impl EnquireLink {
    pub fn new(interval: Duration, timeout: Duration, now: Instant) -> Self {
        EnquireLink {
            interval,
            timeout,
            last_rx: now,
            outstanding: None,
        }
    }

    /// Any PDU from the SMSC proves the link alive.
    pub fn received(&mut self, now: Instant) {
        self.last_rx = now;
    }

    /// enquire_link_resp for `seq`.
    pub fn answered(&mut self, seq: u32, now: Instant) {
        if matches!(self.outstanding, Some((s, _)) if s == seq) {
            self.outstanding = None;
        }
        self.last_rx = now;
    }

    pub fn sent(&mut self, seq: u32, now: Instant) {
        self.outstanding = Some((seq, now + self.timeout));
    }

    pub fn poll(&self, now: Instant) -> LinkAction {
        match self.outstanding {
            Some((_, deadline)) if now >= deadline => LinkAction::Dead,
            Some(_) => LinkAction::Nothing,
            None if now >= self.last_rx + self.interval => LinkAction::Send,
            None => LinkAction::Nothing,
        }
    }

    /// When `poll` may next return something other than Nothing.
    pub fn next_event(&self) -> Instant {
        match self.outstanding {
            Some((_, deadline)) => deadline,
            None => self.last_rx + self.interval,
        }
    }
}

/// ESME_RTHROTTLED / ESME_RMSGQFUL: the session sends nothing new until `now + pause`.
#[derive(Debug, Clone, Default)]
pub struct Throttle {
    until: Option<Instant>,
}

impl Throttle {
    pub fn pause(&mut self, now: Instant, pause: Duration) {
        let until = now + pause;
        self.until = Some(self.until.map_or(until, |u| u.max(until)));
    }

    pub fn is_paused(&self, now: Instant) -> bool {
        matches!(self.until, Some(u) if now < u)
    }

    pub fn until(&self) -> Option<Instant> {
        self.until
    }
}

/// Exponential reconnect backoff with jitter: min·2ⁿ capped at max, times a factor in [0.5, 1).
#[derive(Debug, Clone)]
pub struct Backoff {
    min: Duration,
    max: Duration,
    attempt: u32,
}

impl Backoff {
    pub fn new(min: Duration, max: Duration) -> Self {
        Backoff {
            min,
            max: max.max(min),
            attempt: 0,
        }
    }

    pub fn reset(&mut self) {
        self.attempt = 0;
    }

    /// The next delay; `jitter` in [0, 1) comes from the caller (pure).
    pub fn next_delay(&mut self, jitter: f64) -> Duration {
        let exp = self.min.saturating_mul(1u32 << self.attempt.min(20));
        self.attempt = self.attempt.saturating_add(1);
        Self::jittered(exp.min(self.max), jitter)
    }

    /// The maximum delay (bind refused for credentials: the operator has to act).
    pub fn max_delay(&self, jitter: f64) -> Duration {
        Self::jittered(self.max, jitter)
    }

    fn jittered(d: Duration, jitter: f64) -> Duration {
        let j = if jitter.is_finite() {
            jitter.clamp(0.0, 1.0)
        } else {
            0.0
        };
        d.mul_f64(0.5 + j / 2.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn try_reserve_refuses_past_the_burst_and_says_how_long() {
        let t0 = Instant::now();
        let mut r = RateLimiter::new(Some(10.0)); // one slot per 100 ms
        let burst = Duration::from_millis(250);
        // now, +100, +200 are within the burst; +300 is not.
        for _ in 0..3 {
            assert_eq!(r.try_reserve(t0, burst), Ok(()));
        }
        let wait = r.try_reserve(t0, burst).unwrap_err();
        assert_eq!(wait, Duration::from_millis(50));
        // A refusal takes no slot: after the wait the next one is granted.
        assert_eq!(r.try_reserve(t0 + wait, burst), Ok(()));
        assert!(
            RateLimiter::new(None)
                .try_reserve(t0, Duration::ZERO)
                .is_ok()
        );
    }

    #[test]
    fn rate_limiter_never_exceeds_the_rate_over_any_window() {
        // A sender that is sometimes late (every 4th call comes after its next slot, by up to
        // 4.9 ms, under one interval; deterministic pattern), for 1,000 slots.
        let t0 = Instant::now();
        let mut r = RateLimiter::new(Some(200.0)); // 5 ms
        let mut now = t0;
        let mut sent = Vec::new();
        for i in 0..1000u64 {
            let at = r.reserve(now);
            sent.push(at);
            now = if i % 4 == 0 {
                at + Duration::from_millis(5) + Duration::from_micros((i * 7919) % 4900)
            } else {
                at
            };
        }
        // Any 100 ms window holds at most 20 + 1 + 10 ms · 200/s = 23 messages...
        for (i, &start) in sent.iter().enumerate() {
            let in_window = sent[i..]
                .iter()
                .take_while(|&&t| t < start + Duration::from_millis(100))
                .count();
            assert!(in_window <= 23, "{in_window} in 100 ms at {i}");
        }
        // ...and jitter below one interval does not lower the rate by more than 5 %.
        let span = (*sent.last().unwrap() - sent[0]).as_secs_f64();
        let rate = 999.0 / span;
        assert!(rate > 190.0 && rate <= 201.0, "{rate}");
    }

    #[test]
    fn rate_limiter_spaces_slots_evenly() {
        let t0 = Instant::now();
        let mut r = RateLimiter::new(Some(100.0));
        assert_eq!(r.reserve(t0), t0);
        assert_eq!(r.reserve(t0), t0 + Duration::from_millis(10));
        assert_eq!(r.reserve(t0), t0 + Duration::from_millis(20));
        // Idle time does not build a burst: after a pause the next slot is `now`, then spaced.
        let later = t0 + Duration::from_secs(5);
        assert_eq!(r.reserve(later), later);
        assert_eq!(r.reserve(later), later + Duration::from_millis(10));
        // A sender 4 ms late for its slot (at +20) sends at once, and the slot after stays on the
        // schedule (+30), not at late+10: scheduling delays do not erode the rate.
        let late = later + Duration::from_millis(24);
        assert_eq!(r.reserve(late), late);
        assert_eq!(r.reserve(late), later + Duration::from_millis(30));
        let mut u = RateLimiter::new(None);
        assert!(u.is_unlimited());
        assert_eq!(u.reserve(t0), t0);
        assert!(RateLimiter::new(Some(0.0)).is_unlimited());
    }

    #[test]
    fn enquire_link_sends_when_idle_and_declares_dead() {
        let t0 = Instant::now();
        let s = Duration::from_secs(1);
        let mut e = EnquireLink::new(30 * s, 5 * s, t0);
        assert_eq!(e.poll(t0 + 29 * s), LinkAction::Nothing);
        e.received(t0 + 10 * s);
        assert_eq!(e.poll(t0 + 39 * s), LinkAction::Nothing);
        assert_eq!(e.poll(t0 + 40 * s), LinkAction::Send);
        e.sent(7, t0 + 40 * s);
        assert_eq!(e.poll(t0 + 44 * s), LinkAction::Nothing);
        assert_eq!(e.next_event(), t0 + 45 * s);
        assert_eq!(e.poll(t0 + 45 * s), LinkAction::Dead);
        e.answered(6, t0 + 45 * s);
        assert_eq!(
            e.poll(t0 + 45 * s),
            LinkAction::Dead,
            "another seq does not answer it"
        );
        e.answered(7, t0 + 45 * s);
        assert_eq!(e.poll(t0 + 46 * s), LinkAction::Nothing);
    }

    #[test]
    fn throttle_pause_extends_never_shortens() {
        let t0 = Instant::now();
        let mut t = Throttle::default();
        assert!(!t.is_paused(t0));
        t.pause(t0, Duration::from_secs(2));
        t.pause(t0, Duration::from_secs(1));
        assert!(t.is_paused(t0 + Duration::from_millis(1999)));
        assert!(!t.is_paused(t0 + Duration::from_secs(2)));
    }

    #[test]
    fn backoff_doubles_caps_and_jitters() {
        let ms = Duration::from_millis;
        let mut b = Backoff::new(ms(100), ms(1000));
        assert_eq!(b.next_delay(0.999_999_9).as_millis(), 99);
        assert_eq!(b.next_delay(0.0), ms(100));
        assert_eq!(b.next_delay(0.0), ms(200));
        assert_eq!(b.next_delay(0.0), ms(400));
        assert_eq!(b.next_delay(0.0), ms(500));
        assert_eq!(b.next_delay(0.0), ms(500));
        b.reset();
        assert_eq!(b.next_delay(0.0), ms(50));
        assert_eq!(b.max_delay(0.0), ms(500));
        assert_eq!(b.max_delay(f64::NAN), ms(500));
    }
}

//! Pure pieces of one SMPP session: the bind state, the enquire_link schedule, the throttle pause,
//! the smooth rate limiter, the adaptive (AIMD) send rate and the reconnect backoff. Time is passed
//! in; the socket driver (`smpp::conn`) only asks these what to do next.

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

    /// Changes the rate and keeps the schedule: the next slot is still the one already promised,
    /// those after it are spaced by the new interval.
    pub fn set_rate(&mut self, rate: Option<f64>) {
        self.interval = RateLimiter::new(rate).interval;
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

/// The adaptive send rate of one session (AIMD), for SMSCs that enforce their rate only by
/// answering ESME_RTHROTTLED / ESME_RMSGQFUL.
///
/// Without it a throttled session paused for `throttle_pause` and then sent its whole window at
/// once, most of which was throttled again: against an SMSC throttling past 360/s that came down
/// to about 2 submit_sm/s. Instead the session now learns a rate and paces through its
/// [`RateLimiter`]:
///
/// * It starts unlimited (or at the configured ceiling). Throttles are counted in *epochs* of at
///   least [`EPOCH_RESPONSES`] responses and [`EPOCH_MIN_TIME`]; only responses to submits sent
///   after the last cut count (the ones in flight at a cut say nothing about the new rate).
/// * **Decrease.** An epoch whose throttled fraction is more than [`NOISE_MARGIN`] above the
///   throttles the session has learnt to expect ("noise", below) cuts the rate to [`BETA`] times
///   the rate it was sending at (the rate the SMSC accepted over the last second when it had no
///   limit yet). A storm ([`EPOCH_RESPONSES`] throttles, nine in ten answers) closes the epoch at
///   once. One cut per epoch, however many throttles the epoch holds, so a burst of throttles
///   answering one burst of submits is one congestion event, not fifty. The caller pauses briefly
///   ([`CUT_PAUSE`]) on a cut; afterwards the limiter paces, so the window refills at the new
///   rate, never all at once.
/// * **Increase.** Every submit answered without throttling adds to the rate: after the first cut
///   from "unlimited" the rate there was only a guess, so it grows exponentially ([`SS_GAIN`]
///   per answer, slow start) until the next cut; from then on additively, by [`GROWTH`] of the
///   rate at the last cut per second of sending, so a cut to 0.7 is recovered in about 3 s at any
///   scale. Growth happens per answer, so an idle session does not inflate its rate.
/// * The rate never goes above `ceiling` (the configured `session_rate` / `rate`) nor below
///   [`MIN_RATE`].
///
/// **Random throttles are not a rate signal.** An SMSC (or scenario 3 of the load harness) may
/// throttle a fixed fraction whatever the rate. The fraction alone cannot tell the two apart, so
/// the controller tests its cut: the first epoch after a cut is compared with the one that caused
/// it. Throttles caused by our rate fall after a cut (a fraction f sent at 0.7 of the rate becomes
/// 1 − (1 − f)/0.7, or 0; less when other sessions share the limit, see
/// [`AdaptiveRate::shared_by`]); random ones stay at f. If the new fraction is nearer f than that
/// expectation, and at most [`NOISE_MAX`], the throttles are taken as noise: the cut is undone
/// and the noise level becomes that fraction, so later cuts need throttling clearly above it. The
/// noise level halves every [`NOISE_HALF_LIFE`], so the verdict is tested again now and then and
/// is unlearnt when the random throttles stop. Throttling beyond [`NOISE_MAX`] is always rate
/// pressure.
#[derive(Debug, Clone)]
pub struct AdaptiveRate {
    ceiling: Option<f64>,
    /// The limiter's rate when there is no adaptive limit (`session_rate`).
    base: Option<f64>,
    /// The adaptive limit; None = not limited by adaptation.
    current: Option<f64>,
    /// The rate the session was sending at when it was last cut.
    w_max: f64,
    slow_start: bool,
    noise: f64,
    noise_at: Instant,
    sessions: f64,
    limiter: RateLimiter,
    meter: SendMeter,
    accepted: SendMeter,
    /// Responses to submits sent at or before the last cut are stale.
    cut_at: Option<Instant>,
    epoch_start: Instant,
    responses: u32,
    throttled: u32,
    last_cut: Option<Cut>,
}

/// What a cut replaced, to undo it if it did not help.
#[derive(Debug, Clone, Copy)]
struct Cut {
    before: Option<f64>,
    w_max: f64,
    slow_start: bool,
    fraction: f64,
}

/// Multiplicative decrease: 0.7 (as CUBIC) rather than TCP's 0.5; the SMSC's rate is steady, so
/// the smaller cut keeps the sawtooth between about 0.8 and 1.15 of it.
pub const BETA: f64 = 0.7;
/// Additive increase per second of sending, as a fraction of the rate at the last cut: a cut is
/// recovered in (1 − BETA) / GROWTH = 3 s whatever the SMSC's rate.
pub const GROWTH: f64 = 0.1;
/// Slow start: messages per second added per unthrottled answer (the rate doubles in about
/// 1.4 s of sending), until the first cut after it.
pub const SS_GAIN: f64 = 0.5;
/// The adaptive rate never goes below 1 submit_sm/s (or the ceiling if that is lower).
pub const MIN_RATE: f64 = 1.0;
/// An epoch closes after this many (fresh) responses...
pub const EPOCH_RESPONSES: u32 = 64;
/// ...and at least this long: enough samples that 30 % random throttles are 0.30 ± 0.06.
pub const EPOCH_MIN_TIME: Duration = Duration::from_millis(100);
/// At low rates an epoch closes after this long with a quarter of [`EPOCH_RESPONSES`]: slower,
/// and a 20/s SMSC would be overrun for three seconds before the controller looks.
pub const EPOCH_MAX_TIME: Duration = Duration::from_secs(1);
/// An epoch is congested when its throttled fraction exceeds the noise level by this much.
pub const NOISE_MARGIN: f64 = 0.15;
/// Throttling above this fraction is never taken for noise. It bounds the harm of a wrong
/// verdict: at most NOISE_MAX + NOISE_MARGIN = half the answers throttled until it is retested.
pub const NOISE_MAX: f64 = 0.35;
/// The noise level halves in this time unless a cut that did not help confirms it again: a
/// mistaken verdict (sampling noise can make a rate overshoot look like noise) is retested, and
/// random throttles cost one short dip per retest. Quiet epochs do not lower or raise it: raised
/// by them it would chase a rate creeping above the SMSC's.
pub const NOISE_HALF_LIFE: Duration = Duration::from_secs(20);
/// The pause after a cut (the caller takes the lower of this and `throttle_pause`): long
/// enough for the answers in flight to come back, short against the ~3 s sawtooth.
pub const CUT_PAUSE: Duration = Duration::from_millis(100);

impl AdaptiveRate {
    /// `ceiling`: the hard cap (`session_rate` / `rate`); `base`: the limiter's rate while
    /// nothing has been learnt (`session_rate`). None = unlimited.
    /// The SMSC's rate is shared by this many sessions (the noise test expects less from one
    /// session's cut when the others share the limit).
    pub fn shared_by(mut self, sessions: usize) -> Self {
        self.sessions = sessions.max(1) as f64;
        self
    }

    pub fn new(ceiling: Option<f64>, base: Option<f64>, now: Instant) -> Self {
        let valid = |r: Option<f64>| r.filter(|r| r.is_finite() && *r > 0.0);
        let ceiling = valid(ceiling);
        AdaptiveRate {
            ceiling,
            base: valid(base),
            current: None,
            w_max: 0.0,
            slow_start: false,
            noise: 0.0,
            noise_at: now,
            sessions: 1.0,
            limiter: RateLimiter::new(valid(base)),
            meter: SendMeter::new(now),
            accepted: SendMeter::new(now),
            cut_at: None,
            epoch_start: now,
            responses: 0,
            throttled: 0,
            last_cut: None,
        }
    }

    /// The limit the session paces at now; None = unlimited.
    pub fn rate(&self) -> Option<f64> {
        self.current.or(self.base)
    }

    /// The adaptive limit alone (None until the SMSC has pushed back).
    pub fn adaptive(&self) -> Option<f64> {
        self.current
    }

    /// The throttled fraction currently taken for noise.
    pub fn noise(&self) -> f64 {
        self.noise
    }

    fn floor(&self) -> f64 {
        self.ceiling.map_or(MIN_RATE, |c| c.min(MIN_RATE))
    }

    fn clamp(&self, r: f64) -> f64 {
        let r = r.max(self.floor());
        self.ceiling.map_or(r, |c| r.min(c))
    }

    fn set(&mut self, current: Option<f64>) {
        self.current = current;
        self.limiter.set_rate(self.rate());
    }

    /// The instant the next submit may go (see [`RateLimiter::reserve`]).
    pub fn reserve(&mut self, now: Instant) -> Instant {
        self.limiter.reserve(now)
    }

    /// A submit_sm went out (measures the send rate a first cut starts from).
    pub fn sent(&mut self, now: Instant) {
        self.meter.record(now);
    }

    /// A submit sent at `sent_at` was answered (`throttled`: ESME_RTHROTTLED, ESME_RMSGQFUL or no
    /// answer in time). True = the rate was cut: the caller pauses for [`CUT_PAUSE`].
    pub fn on_response(&mut self, now: Instant, sent_at: Instant, throttled: bool) -> bool {
        // No growth while a cut awaits its verdict: the epoch after it must run at the cut rate.
        if !throttled {
            self.accepted.record(now);
        }
        if !throttled
            && self.last_cut.is_none()
            && let Some(r) = self.current
        {
            let step = if self.slow_start {
                SS_GAIN
            } else {
                (GROWTH * self.w_max).max(MIN_RATE) / r
            };
            let grown = self.clamp(r + step);
            self.set(Some(grown));
        }
        if self.cut_at.is_some_and(|c| sent_at <= c) {
            return false;
        }
        self.responses += 1;
        self.throttled += u32::from(throttled);
        let age = now.duration_since(self.epoch_start);
        let full = (self.responses >= EPOCH_RESPONSES && age >= EPOCH_MIN_TIME)
            || (self.responses >= EPOCH_RESPONSES / 4 && age >= EPOCH_MAX_TIME);
        // A storm (an unlimited session resending throttled submits at line speed) closes the
        // epoch at once. Not a short run: an SMSC answers a throttle at once and an accepted
        // submit after its processing, so random throttles too arrive in runs of a window's 30 %.
        let storm = self.throttled >= EPOCH_RESPONSES && self.throttled * 10 >= self.responses * 9;
        if !full && !storm {
            return false;
        }
        let f = f64::from(self.throttled) / f64::from(self.responses);
        self.epoch_start = now;
        self.responses = 0;
        self.throttled = 0;
        // Forget the noise level slowly, so that a mistaken verdict is tested again.
        self.noise *= 0.5f64
            .powf(now.duration_since(self.noise_at).as_secs_f64() / NOISE_HALF_LIFE.as_secs_f64());
        self.noise_at = now;
        if let Some(cut) = self.last_cut.take()
            && f <= NOISE_MAX
            && f > (cut.fraction + self.expected_after_cut(cut.fraction)) / 2.0
        {
            // The cut did not lower the throttling: it does not depend on our rate. Undo it.
            self.noise = self.noise.max(f);
            self.w_max = cut.w_max;
            self.slow_start = cut.slow_start;
            self.set(cut.before);
            return false;
        }
        if f > self.noise + NOISE_MARGIN {
            self.cut(now, f);
            return true;
        }
        false
    }

    /// The throttled fraction to expect after a cut if `before` was caused by the rate: the
    /// SMSC's limit is shared by `sessions`, and the others are assumed to keep their rate, so
    /// the total falls by (1 − BETA)/sessions.
    fn expected_after_cut(&self, before: f64) -> f64 {
        let k = 1.0 - (1.0 - BETA) / self.sessions;
        (1.0 - (1.0 - before) / k).max(0.0)
    }

    fn cut(&mut self, now: Instant, fraction: f64) {
        let measured = self.meter.rate(now);
        let accepted = self.accepted.rate(now);
        let sending = match self.current.or(self.ceiling) {
            Some(r) if measured > 0.0 => r.min(measured),
            Some(r) => r,
            // Unlimited: a session resending throttled submits at once measures thousands per
            // second; what the SMSC took is the estimate (an overestimate is cut again within an
            // epoch, an underestimate only grows back by slow start).
            None if accepted > 0.0 => accepted,
            None => self.floor(),
        };
        self.last_cut = Some(Cut {
            before: self.current,
            w_max: self.w_max,
            slow_start: self.slow_start,
            fraction,
        });
        // From "unlimited" the measured rate is a guess (a window sent at once measures as a
        // burst): grow from it exponentially until the SMSC pushes back again.
        self.slow_start = self.current.is_none();
        self.w_max = sending;
        let cut = self.clamp(sending * BETA);
        self.set(Some(cut));
        self.cut_at = Some(now);
    }
}

/// Submits per second over the last 0.5–1 s (two half-second buckets).
#[derive(Debug, Clone)]
struct SendMeter {
    start: Instant,
    count: u32,
    prev_count: u32,
    prev_span: Duration,
}

const METER_BUCKET: Duration = Duration::from_millis(500);

impl SendMeter {
    fn new(now: Instant) -> Self {
        SendMeter {
            start: now,
            count: 0,
            prev_count: 0,
            prev_span: Duration::ZERO,
        }
    }

    fn roll(&mut self, now: Instant) {
        let span = now.saturating_duration_since(self.start);
        if span >= METER_BUCKET {
            self.prev_count = self.count;
            self.prev_span = span;
            self.count = 0;
            self.start = now;
        }
    }

    fn record(&mut self, now: Instant) {
        self.roll(now);
        self.count = self.count.saturating_add(1);
    }

    /// Over at least 10 ms (the first answers of a session come within a millisecond).
    fn rate(&mut self, now: Instant) -> f64 {
        self.roll(now);
        let span = self.prev_span + now.saturating_duration_since(self.start);
        let n = f64::from(self.prev_count) + f64::from(self.count);
        n / span.max(Duration::from_millis(10)).as_secs_f64()
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
    /// A session against a model SMSC: `window` outstanding, answers after `latency`, `throttle`
    /// decides per submit (given its send instant). Runs `secs` of model time; returns the
    /// controller and (accepted, throttled) per second of the last half.
    fn closed_loop(
        ctl: &mut AdaptiveRate,
        window: usize,
        latency: Duration,
        secs: u64,
        mut throttle: impl FnMut(Instant) -> bool,
    ) -> (f64, f64) {
        let t0 = Instant::now();
        let end = t0 + Duration::from_secs(secs);
        let half = t0 + Duration::from_secs(secs / 2);
        let mut now = t0;
        let mut inflight: std::collections::VecDeque<(Instant, Instant, bool)> = Default::default();
        let mut paused_until = t0;
        let mut slot: Option<Instant> = None;
        let (mut ok, mut thr) = (0u64, 0u64);
        for _ in 0..10_000_000 {
            if now >= end {
                break;
            }
            while let Some(&(at, sent, t)) = inflight.front() {
                if at > now {
                    break;
                }
                inflight.pop_front();
                if now >= half {
                    if t { thr += 1 } else { ok += 1 }
                }
                if ctl.on_response(now, sent, t) {
                    paused_until = paused_until.max(now + CUT_PAUSE);
                }
            }
            if now >= paused_until && inflight.len() < window {
                let at = *slot.get_or_insert_with(|| ctl.reserve(now));
                if at <= now {
                    slot = None;
                    ctl.sent(now);
                    inflight.push_back((now + latency, now, throttle(now)));
                    continue;
                }
            }
            let mut next = inflight.front().map_or(end, |f| f.0);
            if now < paused_until {
                next = next.min(paused_until);
            } else if let Some(s) = slot.filter(|_| inflight.len() < window) {
                next = next.min(s);
            }
            now = next.max(now);
        }
        let span = (secs - secs / 2) as f64;
        (ok as f64 / span, thr as f64 / span)
    }

    /// One epoch of throttles only, sent and answered `EPOCH_MIN_TIME` later; the number of cuts.
    fn congest(a: &mut AdaptiveRate, t: &mut Instant) -> usize {
        *t += EPOCH_MIN_TIME;
        (0..EPOCH_RESPONSES)
            .filter(|_| a.on_response(*t, *t, true))
            .count()
    }

    /// The simulator's limit: GCRA with one interval of tolerance.
    fn gcra(rate: f64) -> impl FnMut(Instant) -> bool {
        let interval = Duration::from_secs_f64(1.0 / rate);
        let mut tat: Option<Instant> = None;
        move |now| {
            let t = tat.unwrap_or(now).max(now);
            if t > now + interval {
                return true;
            }
            tat = Some(t + interval);
            false
        }
    }

    #[test]
    fn adaptive_cuts_once_per_burst_from_the_measured_rate_and_paces_after_the_pause() {
        let t0 = Instant::now();
        let ms = Duration::from_millis;
        let mut a = AdaptiveRate::new(None, None, t0);
        assert_eq!(a.rate(), None);
        // 100/s for a second, all accepted: nothing learnt.
        for i in 0..100 {
            let t = t0 + ms(10 * i);
            assert_eq!(a.reserve(t), t);
            a.sent(t);
            assert!(!a.on_response(t, t, false));
        }
        assert_eq!(a.rate(), None);
        // Then a window's worth of throttles at once: one cut, from the measured 100/s.
        let t1 = t0 + ms(1000);
        let cuts = (0..50).filter(|_| a.on_response(t1, t1, true)).count();
        assert_eq!(cuts, 1);
        let r = a.rate().unwrap();
        assert!((r - 100.0 * BETA).abs() < 1.0, "{r}");
        // Answers to submits sent before the cut are stale: no second cut.
        let t2 = t1 + ms(5);
        assert!((0..50).all(|_| !a.on_response(t2, t1, true)));
        // After the pause the window does not go at once: slots are 1/rate apart, so within
        // 50 ms of the pause's end at most 1 + 50 ms · 70/s + the tolerance's one slot go out.
        let resume = t1 + CUT_PAUSE;
        let mut burst = 0;
        for _ in 0..50 {
            if a.reserve(resume) <= resume + ms(50) {
                burst += 1;
            }
        }
        assert!(burst <= 6, "{burst} of a window of 50 within 50 ms");
    }

    #[test]
    fn adaptive_grows_back_when_clean_and_never_above_the_ceiling() {
        let t0 = Instant::now();
        let mut a = AdaptiveRate::new(Some(150.0), None, t0);
        assert_eq!(
            a.rate(),
            None,
            "unlimited by adaptation; the SMSC limiter holds `rate`"
        );
        // Two congested epochs: the first cut (from the ceiling) starts slow start, the second
        // ends it.
        let mut t = t0;
        for _ in 0..2 {
            assert_eq!(congest(&mut a, &mut t), 1);
        }
        let cut = a.rate().unwrap();
        assert!((cut - 150.0 * BETA * BETA).abs() < 1.0, "{cut}");
        // Clean answers at the paced rate: once the epoch after the cut has shown it helped,
        // additive growth of GROWTH·w_max per second.
        let mut last = cut;
        let mut growing_since = None;
        let mut after_1s = None;
        while t < t0 + Duration::from_secs(20) {
            t = a.reserve(t).max(t);
            a.sent(t);
            assert!(!a.on_response(t, t, false));
            let r = a.rate().unwrap();
            assert!(r >= last && r <= 150.0, "{r}");
            if growing_since.is_none() && r > cut {
                growing_since = Some((t, last));
            }
            if let Some((s, from)) = growing_since
                && after_1s.is_none()
                && t >= s + Duration::from_secs(1)
            {
                after_1s = Some(r - from);
            }
            last = r;
        }
        let (s, _) = growing_since.unwrap();
        assert!(
            s - t0 < Duration::from_secs(2),
            "the verdict took {:?}",
            s - t0
        );
        let grown = after_1s.unwrap();
        let expect = GROWTH * 150.0 * BETA;
        assert!(
            grown > expect * 0.8 && grown < expect * 1.2,
            "{grown} vs {expect}"
        );
        assert_eq!(a.rate(), Some(150.0), "back at the ceiling, not above");
    }

    #[test]
    fn adaptive_rate_floors_above_zero() {
        let t0 = Instant::now();
        let mut a = AdaptiveRate::new(None, None, t0);
        let mut t = t0;
        for _ in 0..100 {
            congest(&mut a, &mut t);
        }
        assert_eq!(a.rate(), Some(MIN_RATE));
        // A ceiling below the floor is the floor.
        let mut low = AdaptiveRate::new(Some(0.5), None, t0);
        congest(&mut low, &mut t);
        assert_eq!(low.rate(), Some(0.5));
        // session_rate is where the limiter starts.
        assert_eq!(
            AdaptiveRate::new(Some(50.0), Some(50.0), t0).rate(),
            Some(50.0)
        );
    }

    #[test]
    fn adaptive_converges_near_an_smsc_that_throttles_past_its_rate() {
        for (rate, window, latency) in [(200.0, 10, 1), (360.0, 50, 2), (20.0, 10, 5)] {
            let mut a = AdaptiveRate::new(None, None, Instant::now());
            let (ok, thr) = closed_loop(
                &mut a,
                window,
                Duration::from_millis(latency),
                40,
                gcra(rate),
            );
            assert!(
                ok > 0.85 * rate && ok <= rate * 1.01,
                "{rate}/s: accepted {ok:.1}/s"
            );
            assert!(
                thr < 0.2 * ok,
                "{rate}/s: throttled {thr:.1}/s of {ok:.1}/s"
            );
        }
        // With a configured ceiling below the SMSC's rate nothing is throttled at all.
        let mut a = AdaptiveRate::new(Some(100.0), Some(100.0), Instant::now());
        let (ok, thr) = closed_loop(&mut a, 10, Duration::from_millis(1), 10, gcra(200.0));
        assert!(ok > 95.0 && ok <= 101.0 && thr == 0.0, "{ok} {thr}");
    }

    #[test]
    fn random_throttles_do_not_collapse_the_rate() {
        // 30 % of answers throttled whatever the rate (deterministic LCG), window 10, 1 ms: a
        // sender that ignores throttles gets 7,000 accepted/s here.
        let mut x: u64 = 7;
        let random = move |_| {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (x >> 33) % 100 < 30
        };
        let mut a = AdaptiveRate::new(None, None, Instant::now());
        let (ok, thr) = closed_loop(&mut a, 10, Duration::from_millis(1), 20, random);
        assert!(
            ok > 0.7 * 7000.0,
            "accepted {ok:.0}/s, throttled {thr:.0}/s, rate {:?}",
            a.rate()
        );
        assert!(a.noise() > 0.0, "learnt as noise");
    }
}

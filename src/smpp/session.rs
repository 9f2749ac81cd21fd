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
///   least [`EPOCH_RESPONSES`] responses and [`EPOCH_MIN_TIME`] from the epoch's first response;
///   only responses to submits sent after the last cut count (the ones in flight at a cut say
///   nothing about the new rate).
/// * **Decrease.** An epoch whose throttled fraction is more than [`NOISE_MARGIN`] above the
///   throttles the session has learnt to expect ("noise", below) cuts the rate to [`BETA`] times
///   the rate it was sending at (the rate the SMSC accepted over the last second of traffic when
///   it had no limit yet; idle time does not count). A storm ([`EPOCH_RESPONSES`] throttles, nine
///   in ten answers, over at least one accepted round trip) closes the epoch at once; a session
///   with no rate to cut from and nothing accepted yet is held ([`CUT_PAUSE`]) while it waits
///   for a first accepted answer, rather than resending throttles at line speed. One cut per
///   epoch, however many throttles the epoch holds, so a burst of throttles
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
/// expectation, and not clearly above [`NOISE_MAX`], the throttles are taken as noise: the cut is
/// undone and the noise level becomes that fraction (at most NOISE_MAX), so later cuts need
/// throttling clearly above it. A fraction within sampling error of a threshold is judged over
/// more answers ([`VERDICT_RESPONSES`]): one epoch of 64 is 0.30 ± 0.06 for 30 % random
/// throttles, and a wrong verdict is a cut that stays. The noise level holds while the throttles
/// do and halves every [`NOISE_HALF_LIFE`] over quieter epochs, so it is unlearnt when the random
/// throttles stop (and a mistaken verdict with them). Throttling clearly beyond [`NOISE_MAX`] is
/// always rate pressure.
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
    /// The round trip of the last accepted submit_sm (an SMSC answers ESME_RTHROTTLED at once,
    /// an accepted submit after its latency).
    accepted_rtt: Duration,
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
/// Throttling clearly above this fraction (by more than [`VERDICT_Z`] sampling errors) is never
/// taken for noise, and the noise level never exceeds it. It bounds the harm of a wrong verdict:
/// at most NOISE_MAX + NOISE_MARGIN = half the answers throttled until it is retested.
pub const NOISE_MAX: f64 = 0.35;
/// The noise level halves in this time over epochs with less than half of it (the random
/// throttles have stopped, or it was a mistaken verdict: sampling noise can make a rate overshoot
/// look like noise; a rate-limited session spends most epochs below its limit, unthrottled).
/// While the throttles stay at the level it holds. It is never raised by epochs without a cut:
/// raised by them it would chase a rate creeping above the SMSC's.
pub const NOISE_HALF_LIFE: Duration = Duration::from_secs(20);
/// An epoch is judged (cut or not; after a cut, noise or not) once its throttled fraction is
/// this many sampling errors (binomial, over its answers) from the threshold that decides...
pub const VERDICT_Z: f64 = 2.0;
/// ...or, when it is nearer, after this many answers (30 % random throttles then measure
/// 0.30 ± 0.03)...
pub const VERDICT_RESPONSES: u32 = 4 * EPOCH_RESPONSES;
/// ...or, at low rates, after this long with a quarter of [`EPOCH_RESPONSES`].
pub const VERDICT_MAX_TIME: Duration = Duration::from_secs(4);
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
            meter: SendMeter::new(),
            accepted: SendMeter::new(),
            cut_at: None,
            epoch_start: now,
            accepted_rtt: EPOCH_MIN_TIME,
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
    /// answer in time). True = the caller pauses for [`CUT_PAUSE`]: the rate was cut, or a storm
    /// of throttles waits for an accepted round trip before it can be judged.
    pub fn on_response(&mut self, now: Instant, sent_at: Instant, throttled: bool) -> bool {
        if !throttled {
            self.accepted.record(now);
            self.accepted_rtt = now.saturating_duration_since(sent_at);
        }
        // No growth while a cut awaits its verdict: the epoch after it must run at the cut rate.
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
        // An epoch's time runs from its first answer, not from the last epoch's end or the bind:
        // after an idle spell the first answers to a full window are mostly throttles (answered
        // at once; the accepted submits come after the SMSC's latency), and an epoch that had
        // "lasted" since the bind closed on those 64 answers alone.
        if self.responses == 0 {
            self.epoch_start = now;
        }
        self.responses += 1;
        self.throttled += u32::from(throttled);
        let age = now.duration_since(self.epoch_start);
        let n = f64::from(self.responses);
        let f = f64::from(self.throttled) / n;
        // The sampling error of a fraction p measured over this epoch's answers.
        let sigma = |p: f64| (p * (1.0 - p) / n).sqrt();
        // Clearly beyond NOISE_MAX, not by sampling error (30 % random throttles measure above
        // 0.35 in one epoch of 64 in five).
        let beyond = f - VERDICT_Z * sigma(f) > NOISE_MAX;
        let mut full = (self.responses >= EPOCH_RESPONSES && age >= EPOCH_MIN_TIME)
            || (self.responses >= EPOCH_RESPONSES / 4 && age >= EPOCH_MAX_TIME);
        // An epoch whose outcome sampling error could have made closes only after
        // VERDICT_RESPONSES answers: each wrong outcome costs a cut that stays.
        let clear = match self.last_cut {
            // Against the random throttles already learnt: with a noise level of 0.3, one epoch
            // of 64 in 200 measures above 0.45 by chance, and a cut it triggers is then judged
            // to have helped (the epoch after it is compared with that high one). With no noise
            // learnt every full epoch is clear, as a rate limit needs.
            None => (f - (self.noise + NOISE_MARGIN)).abs() >= VERDICT_Z * sigma(self.noise),
            // The epoch after a cut decides whether the throttles are noise: "the cut helped"
            // or "clearly beyond NOISE_MAX" (rate pressure either way) as soon as the epoch is
            // full, anything that may be noise over more answers (one epoch of 64 takes 30 %
            // random throttles for a cut that helped about one time in seven).
            Some(cut) => {
                let mid = self.verdict_mid(cut.fraction);
                f + VERDICT_Z * sigma(mid) < mid || beyond
            }
        };
        if !clear {
            full = (full && self.responses >= VERDICT_RESPONSES)
                || (self.responses >= EPOCH_RESPONSES / 4 && age >= VERDICT_MAX_TIME);
        }
        // A storm (an unlimited session resending throttled submits at line speed) closes the
        // epoch at once. Not a short run: an SMSC answers a throttle at once and an accepted
        // submit after its processing, so random throttles too arrive in runs of a window's 30 %.
        // And not before one accepted round trip: 64 throttles can come back before the first
        // accepted answer, and a cut from "unlimited" with nothing accepted yet goes to the floor.
        // An accepted answer in the epoch is that round trip too: a session held (below) gets
        // its first while paused, and waiting on to `accepted_rtt` would measure the pause as
        // sending time (2 accepted over a 100 ms hold measured 20/s, and the cut went to 14).
        let storm = self.throttled >= EPOCH_RESPONSES
            && self.throttled * 10 >= self.responses * 9
            && (age >= self.accepted_rtt || self.responses > self.throttled);
        // Unlimited with nothing accepted yet there is no rate to cut from (the cut would go to
        // the floor), so the epoch waits for a first accepted answer, up to EPOCH_MAX_TIME. Held
        // meanwhile: unlimited, the session resends each throttle as soon as it is answered, so
        // the throttles it drew while it waited grew with the speed of the machine, not with
        // time. On loopback against a 200/s SMSC shared by two sessions, the one its peer
        // crowded out drew 1,146 throttles in 5.5 ms in a release build, 216 in a debug build,
        // before its first accepted answer. Paused, it draws at most a window per pause.
        let blind = self.current.or(self.ceiling).is_none()
            && self.accepted.last.is_none()
            && age < EPOCH_MAX_TIME;
        if blind {
            return throttled && self.throttled >= EPOCH_RESPONSES;
        }
        if !full && !storm {
            return false;
        }
        self.epoch_start = now;
        self.responses = 0;
        self.throttled = 0;
        // Forget the noise level slowly, so that a mistaken verdict is tested again, but only
        // over epochs with less than half of it: while the random throttles go on, a decayed
        // level let ordinary epochs cut again, and a cut triggered by an epoch above the
        // threshold is compared with that (high) epoch, so "it helped" won about half the
        // verdicts and the rate ratcheted down 0.7 at a time.
        if f < self.noise / 2.0 {
            self.noise *= 0.5f64.powf(
                now.duration_since(self.noise_at).as_secs_f64() / NOISE_HALF_LIFE.as_secs_f64(),
            );
        }
        self.noise_at = now;
        if let Some(cut) = self.last_cut.take()
            && !beyond
            && f > self.verdict_mid(cut.fraction)
        {
            // The cut did not lower the throttling: it does not depend on our rate. Undo it.
            self.noise = self.noise.max(f.min(NOISE_MAX));
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

    /// Halfway between the throttled fraction a cut was made at (what random throttles keep)
    /// and what it becomes if our rate caused it.
    fn verdict_mid(&self, before: f64) -> f64 {
        (before + self.expected_after_cut(before)) / 2.0
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

/// Submits per second over the last 0.5–1 s of traffic (two half-second buckets). Idle time
/// does not count: a gap between two records counts at most [`IDLE_GAP`], so the rate of a
/// session that was idle since its bind, or between two bursts, is the rate it sent at while it
/// had work, not that rate diluted by the idle seconds before.
#[derive(Debug, Clone)]
struct SendMeter {
    last: Option<Instant>,
    count: u32,
    busy: Duration,
    prev_count: u32,
    prev_busy: Duration,
}

const METER_BUCKET: Duration = Duration::from_millis(500);
/// A gap between two events longer than this is idle time, counted as this much.
const IDLE_GAP: Duration = EPOCH_MIN_TIME;

impl SendMeter {
    fn new() -> Self {
        SendMeter {
            last: None,
            count: 0,
            busy: Duration::ZERO,
            prev_count: 0,
            prev_busy: Duration::ZERO,
        }
    }

    fn gap(&self, now: Instant) -> Duration {
        self.last.map_or(Duration::ZERO, |l| {
            now.saturating_duration_since(l).min(IDLE_GAP)
        })
    }

    fn record(&mut self, now: Instant) {
        self.busy += self.gap(now);
        self.last = Some(now);
        self.count = self.count.saturating_add(1);
        if self.busy >= METER_BUCKET {
            self.prev_count = self.count;
            self.prev_busy = self.busy;
            self.count = 0;
            self.busy = Duration::ZERO;
        }
    }

    /// Over at least 10 ms (the first answers of a session come within a millisecond).
    fn rate(&self, now: Instant) -> f64 {
        let span = self.prev_busy + self.busy + self.gap(now);
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

    /// One epoch of throttles only, each answered at once, over `EPOCH_MIN_TIME`; the number of
    /// cuts.
    fn congest(a: &mut AdaptiveRate, t: &mut Instant) -> usize {
        let start = *t + EPOCH_MIN_TIME / EPOCH_RESPONSES;
        (0..EPOCH_RESPONSES)
            .filter(|&i| {
                *t = start + EPOCH_MIN_TIME * i / (EPOCH_RESPONSES - 1);
                a.on_response(*t, *t, true)
            })
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

    /// Seeded randomness for the model runs (an LCG: deterministic, no dependency).
    struct Lcg(u64);

    impl Lcg {
        fn new(seed: u64) -> Self {
            let mut l = Lcg(seed ^ 0x9E37_79B9_7F4A_7C15);
            l.next();
            l
        }

        /// Uniform in [0, 1).
        fn next(&mut self) -> f64 {
            self.0 = self
                .0
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (self.0 >> 11) as f64 / (1u64 << 53) as f64
        }
    }

    /// A pool of sessions against a model SMSC, driven as `bound_loop` drives them (fake clock):
    /// each session keeps up to `window` submit_sm in flight, takes a job from the shared queue
    /// only when it is not paused and has room, then waits for its rate slot; a throttled submit
    /// goes back to the queue. The SMSC answers ESME_RTHROTTLED at once (a quarter of the least
    /// latency) and accepts after a latency drawn from `latency`.
    struct Pool {
        sessions: usize,
        window: usize,
        latency: (Duration, Duration),
        /// (offset from the bind, segments queued then): ramp-up from idle, bursts with gaps.
        arrivals: Vec<(Duration, u64)>,
        horizon: Duration,
    }

    struct PoolRun {
        /// Accepted segments per second from the first accepted to the last, as `ppgd bench`
        /// reports segments_per_s.
        segments_per_s: f64,
        /// Accepted per second of the run.
        per_second: Vec<u64>,
        /// Throttled answers over the run.
        throttled: u64,
        /// Each session's rate at the end (None = not limited by adaptation).
        rates: Vec<Option<f64>>,
        /// Each session's cuts (when, and the rate after), for the failure messages.
        cuts: Vec<Vec<(f64, f64)>>,
    }

    impl PoolRun {
        /// Accepted per second from second `from` of the run to its end.
        fn accepted_per_s(&self, from: usize) -> f64 {
            let tail = &self.per_second[from..];
            tail.iter().sum::<u64>() as f64 / tail.len() as f64
        }
    }

    impl std::fmt::Debug for PoolRun {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            let cuts: Vec<Vec<String>> = (self.cuts.iter())
                .map(|c| {
                    c.iter()
                        .take(12)
                        .map(|(t, r)| format!("{t:.2}s→{r:.0}"))
                        .collect()
                })
                .collect();
            write!(
                f,
                "{:.0} segments/s, rates {:?}, cuts {cuts:?}",
                self.segments_per_s, self.rates
            )
        }
    }

    impl Pool {
        fn run(&self, seed: u64, mut smsc: impl FnMut(Instant, &mut Lcg) -> bool) -> PoolRun {
            use std::cmp::Reverse;
            use std::collections::BinaryHeap;
            struct Session {
                ctl: AdaptiveRate,
                /// (answered at, sent at, throttled), earliest answer first.
                inflight: BinaryHeap<Reverse<(Instant, Instant, bool)>>,
                paused_until: Instant,
                /// A job taken from the queue, waiting for its rate slot.
                slot: Option<Instant>,
                cuts: Vec<(f64, f64)>,
            }
            let t0 = Instant::now();
            let end = t0 + self.horizon;
            let mut rng = Lcg::new(seed);
            let mut ss: Vec<Session> = (0..self.sessions)
                .map(|_| Session {
                    ctl: AdaptiveRate::new(None, None, t0).shared_by(self.sessions),
                    inflight: BinaryHeap::new(),
                    paused_until: t0,
                    slot: None,
                    cuts: Vec::new(),
                })
                .collect();
            let total: u64 = self.arrivals.iter().map(|a| a.1).sum();
            let mut arrivals = self.arrivals.iter().peekable();
            let (mut queue, mut accepted, mut throttles) = (0u64, 0u64, 0u64);
            let (mut first, mut last) = (None, t0);
            let mut per_second = vec![0u64; self.horizon.as_secs() as usize + 1];
            let (lo, hi) = self.latency;
            let mut now = t0;
            while now < end && accepted < total {
                while let Some((_, n)) = arrivals.next_if(|a| t0 + a.0 <= now) {
                    queue += n;
                }
                for s in &mut ss {
                    while let Some(&Reverse((at, sent, throttled))) = s.inflight.peek() {
                        if at > now {
                            break;
                        }
                        s.inflight.pop();
                        if throttled {
                            queue += 1;
                            throttles += 1;
                        } else {
                            accepted += 1;
                            first.get_or_insert(now);
                            last = now;
                            per_second[(now - t0).as_secs() as usize] += 1;
                        }
                        let before = s.ctl.rate();
                        if s.ctl.on_response(now, sent, throttled) {
                            s.paused_until = s.paused_until.max(now + CUT_PAUSE);
                        }
                        // A pause is a cut, or a storm held until it can be judged.
                        if s.ctl.rate().unwrap_or(f64::INFINITY) < before.unwrap_or(f64::INFINITY) {
                            let rate = s.ctl.rate().unwrap_or(f64::INFINITY);
                            s.cuts.push(((now - t0).as_secs_f64(), rate));
                        }
                    }
                }
                for s in &mut ss {
                    while now >= s.paused_until && s.inflight.len() < self.window {
                        if s.slot.is_none() {
                            if queue == 0 {
                                break;
                            }
                            queue -= 1;
                            s.slot = Some(s.ctl.reserve(now));
                        }
                        if s.slot.is_some_and(|at| at > now) {
                            break;
                        }
                        s.slot = None;
                        s.ctl.sent(now);
                        let throttled = smsc(now, &mut rng);
                        let latency = if throttled {
                            lo / 4
                        } else {
                            lo + (hi - lo).mul_f64(rng.next())
                        };
                        s.inflight.push(Reverse((now + latency, now, throttled)));
                    }
                }
                let mut next = end;
                if let Some((at, _)) = arrivals.peek() {
                    next = next.min(t0 + *at);
                }
                for s in &ss {
                    if let Some(Reverse((at, _, _))) = s.inflight.peek() {
                        next = next.min(*at);
                    }
                    if now < s.paused_until {
                        if s.slot.is_some() || queue > 0 {
                            next = next.min(s.paused_until);
                        }
                    } else if let Some(at) = s.slot.filter(|_| s.inflight.len() < self.window) {
                        next = next.min(at);
                    }
                }
                now = next.max(now + Duration::from_nanos(1));
            }
            let secs = first.map_or(0.0, |f| (last - f).as_secs_f64());
            PoolRun {
                segments_per_s: if secs > 0.0 {
                    accepted as f64 / secs
                } else {
                    0.0
                },
                per_second,
                throttled: throttles,
                rates: ss.iter().map(|s| s.ctl.rate()).collect(),
                cuts: ss.into_iter().map(|s| s.cuts).collect(),
            }
        }
    }

    /// The model SMSC: past `limit` submit_sm/s (GCRA, as the simulator's `--throttle-rate`,
    /// shared by the pool's sessions) ESME_RTHROTTLED, and `random` of the rest at random, whatever
    /// the rate (`--throttle-ratio`).
    fn smsc(limit: Option<f64>, random: f64) -> impl FnMut(Instant, &mut Lcg) -> bool {
        let mut limit = limit.map(gcra);
        move |now, rng| limit.as_mut().is_some_and(|l| l(now)) || rng.next() < random
    }

    /// `per_s` segments a second from `from` for `secs`, queued every 10 ms.
    fn steady(from: Duration, per_s: u64, secs: u64) -> Vec<(Duration, u64)> {
        (0..secs * 100)
            .map(|i| (from + Duration::from_millis(10 * i), per_s / 100))
            .collect()
    }

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    /// Scenario 3's shape: the sessions sit idle from their bind until 8,333 segments are queued
    /// at once; window 50, accepted after 2–8 ms. Each session can take 50 / 5 ms = 10,000
    /// submits/s, 7,000 accepted: 14,000 segments/s for the pool if adaptation does not limit it.
    fn scenario_3(idle: Duration) -> Pool {
        Pool {
            sessions: 2,
            window: 50,
            latency: (ms(2), ms(8)),
            arrivals: vec![(idle, 8333)],
            horizon: Duration::from_secs(200),
        }
    }

    /// 2,000 segments every 2 s for 40 s: ramp-ups from idle, and long enough (twice
    /// NOISE_HALF_LIFE) for the noise verdict to be tested again.
    fn bursts() -> Pool {
        Pool {
            sessions: 2,
            window: 64,
            latency: (Duration::from_micros(200), ms(2)),
            arrivals: (0..20).map(|i| (ms(300 + 2000 * i), 2000)).collect(),
            horizon: Duration::from_secs(41),
        }
    }

    /// More work than the windows can take for 40 s: window 8, accepted after 4–16 ms, so each
    /// session can take 800 submits/s (560 accepted), and epochs hold a few dozen answers.
    fn saturated() -> Pool {
        Pool {
            sessions: 2,
            window: 8,
            latency: (ms(4), ms(16)),
            arrivals: steady(ms(500), 5000, 40),
            horizon: Duration::from_secs(41),
        }
    }

    /// Scenario 7a's shape: 900 segments/s offered for 60 s to an SMSC that takes 360/s.
    fn overload() -> Pool {
        Pool {
            sessions: 2,
            window: 50,
            latency: (Duration::from_micros(200), ms(2)),
            arrivals: steady(ms(500), 900, 60),
            horizon: Duration::from_secs(61),
        }
    }

    /// The proto test `adaptive_rate_converges_to_an_smsc_that_only_throttles`: 800 segments
    /// queued at once for 2 sessions of window 10 against an SMSC with no latency. A throttle
    /// comes back and is resent in `turn` (the model answers throttles in a quarter of the least
    /// latency): on loopback the release build measured 115,500 submits/s for one session before
    /// its first cut (10 in flight: a turn of 87 µs), the debug build 22,500/s (440 µs).
    fn loopback(turn: Duration) -> Pool {
        Pool {
            sessions: 2,
            window: 10,
            latency: (turn * 4, turn * 8),
            arrivals: vec![(ms(100), 800)],
            horizon: Duration::from_secs(20),
        }
    }

    #[test]
    fn a_fast_sender_does_not_draw_a_storm_of_throttles_before_its_first_cut() {
        // Before the fix (20 seeds) throttled: 5,267 to 5,318 at a 10 µs turn, 756 to 900 at
        // 87 µs, 291 to 436 at 440 µs; an unlimited session resent each throttle at once while
        // its storm waited for a first accepted answer. Now 242 to 262 at 10 µs and 87 µs, 205
        // to 305 at 440 µs, at 176 to 187 segments/s (179 to 187 before).
        for turn in [10, 87, 440] {
            for seed in 0..20 {
                let run = loopback(Duration::from_micros(turn)).run(seed, smsc(Some(200.0), 0.0));
                let ok: u64 = run.per_second.iter().sum();
                assert_eq!(ok, 800, "turn {turn} µs, seed {seed}: {run:?}");
                // As the proto test: fewer throttles than half the accepted submits.
                assert!(
                    run.throttled < ok / 2,
                    "turn {turn} µs, seed {seed}: {} throttled, {run:?}",
                    run.throttled
                );
                assert!(
                    run.segments_per_s > 0.85 * 200.0,
                    "turn {turn} µs, seed {seed}: {run:?}"
                );
            }
        }
    }

    #[test]
    fn random_throttles_after_idle_do_not_settle_low_for_any_seed() {
        // Before the fix (100 seeds, 0.3 s idle) 7 to 5,518 segments/s, median 213; after 1 s
        // idle 2 to 189: the first epoch closed on the first 64 answers after the idle spell
        // (mostly throttles, answered at once), and the cut from "unlimited" went to 0.7 of the
        // accepted rate diluted by the idle time, or to the floor; from there small epochs
        // ratcheted it down. Now 14,075 to 14,282 for both.
        for seed in 0..100 {
            let idle = if seed % 2 == 0 { ms(300) } else { ms(1000) };
            let run = scenario_3(idle).run(seed, smsc(None, 0.3));
            assert!(run.segments_per_s > 0.9 * 14_000.0, "seed {seed}: {run:?}");
        }
    }

    #[test]
    fn random_throttles_in_bursts_and_over_retests_leave_the_rate_unlimited() {
        // Before the fix (100 seeds) bursts: 4 to 909 accepted/s, median 98; saturated: 6 to
        // 907, median 146. Now every seed 909 (all offered) and 1,429 to 1,472.
        for seed in 0..40 {
            let run = bursts().run(seed, smsc(None, 0.3));
            let ok: u64 = run.per_second.iter().sum();
            assert_eq!(ok, 40_000, "seed {seed}: {run:?}");
            // Not limited by adaptation, or at least the offered 1,000/s.
            let high = run.rates.iter().all(|r| r.is_none_or(|r| r >= 1000.0));
            assert!(high, "seed {seed}: {run:?}");
        }
        for seed in 0..40 {
            let run = saturated().run(seed, smsc(None, 0.3));
            let ok = run.accepted_per_s(20);
            assert!(ok > 0.9 * 2.0 * 770.0, "seed {seed}: {ok:.0}/s, {run:?}");
            // Not limited by adaptation, or at least what the window lets a session send.
            let high = run.rates.iter().all(|r| r.is_none_or(|r| r >= 1100.0));
            assert!(high, "seed {seed}: {run:?}");
        }
    }

    #[test]
    fn a_pool_settles_near_an_smsc_rate_limit_with_or_without_random_throttles() {
        // 320 to 348 accepted/s (321 to 340 before the fix).
        for seed in 0..100 {
            let run = overload().run(seed, smsc(Some(360.0), 0.0));
            let ok = run.accepted_per_s(30);
            let near = ok > 0.8 * 360.0 && ok < 1.15 * 360.0;
            assert!(near, "seed {seed}: {ok:.0}/s, {run:?}");
        }
        // Both: the SMSC lets 360/s through and throttles 30 % of those at random, 252/s at most.
        // Before the fix 1 to 129 accepted/s, median 4 (a storm of throttles answered before any
        // accepted submit cut to the floor, then small epochs ratcheted); now 225 to 243.
        for seed in 0..100 {
            let run = overload().run(seed, smsc(Some(360.0), 0.3));
            let ok = run.accepted_per_s(30);
            assert!(ok > 0.8 * 252.0, "seed {seed}: {ok:.0}/s, {run:?}");
        }
    }

    /// The settled rate over many seeds, for diagnosis (`cargo test --lib explore_ -- --ignored
    /// --nocapture`; SEEDS=n): quantiles 0/5/10/25/50/75/90/100 % of each model run's measure.
    #[test]
    #[ignore]
    fn explore_adaptive_rate_over_seeds() {
        let seeds: u64 = std::env::var("SEEDS").map_or(100, |s| s.parse().unwrap());
        let quantiles = |mut v: Vec<f64>| {
            v.sort_by(f64::total_cmp);
            let at = |q: f64| v[((v.len() - 1) as f64 * q) as usize];
            [0.0, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 1.0]
                .map(|q| format!("{:.0}", at(q)))
                .join(" / ")
        };
        let show = |name: &str, runs: Vec<PoolRun>, measure: &dyn Fn(&PoolRun) -> f64| {
            let lowest = |r: &PoolRun| r.rates.iter().map(|r| r.unwrap_or(1e9)).fold(1e9, f64::min);
            println!("{name}: {}", quantiles(runs.iter().map(measure).collect()));
            println!(
                "  lower session rate at the end (1e9 = unlimited): {}",
                quantiles(runs.iter().map(lowest).collect())
            );
        };
        let each = |pool: Pool, limit: Option<f64>, random: f64| -> Vec<PoolRun> {
            (0..seeds)
                .map(|seed| pool.run(seed, smsc(limit, random)))
                .collect()
        };
        for idle in [ms(300), ms(1000)] {
            show(
                &format!("scenario 3, idle {idle:?}, segments/s"),
                each(scenario_3(idle), None, 0.3),
                &|r| r.segments_per_s,
            );
        }
        show(
            "bursts, accepted/s from 20 s",
            each(bursts(), None, 0.3),
            &|r| r.accepted_per_s(20),
        );
        show(
            "saturated, accepted/s from 20 s",
            each(saturated(), None, 0.3),
            &|r| r.accepted_per_s(20),
        );
        show(
            "overload, 360/s limit, accepted/s from 30 s",
            each(overload(), Some(360.0), 0.0),
            &|r| r.accepted_per_s(30),
        );
        show(
            "overload, 360/s limit + 30 % random, accepted/s from 30 s",
            each(overload(), Some(360.0), 0.3),
            &|r| r.accepted_per_s(30),
        );
    }
}

//! How an upstream answers (SPEC §6, seed 000): per method, every call by how it ended and how
//! long it took, kept per minute for a day so the success rate of the last hour and of the last day
//! can be read, and a circuit breaker (failsafe's) that stops new submissions after repeated
//! failures while queries go on.
//!
//! A business decline (the upstream answered and said no: a bad argument, no such payout, a
//! number used before) is counted, but not against the upstream: the success rate is successes
//! over the calls that were not declines. Only system errors and timeouts count against the
//! breaker.
//!
//! Each node measures the calls it makes; the counts of each minute are also kept aside until the
//! server adds them to the deployment's (`take_unflushed`), so the dashboard's rates cover every
//! node and survive restarts. The breaker and `/metrics` are the node's own.
use std::{
    collections::{BTreeMap, VecDeque},
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use failsafe::{
    StateMachine,
    backoff::{self, Exponential},
    failure_policy::{self, ConsecutiveFailures},
};

/// How one call ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallEnd {
    Success,
    /// The upstream answered and refused on business grounds: not its failure.
    Decline,
    /// An error answer, an unreadable or unsigned reply, a broken connection.
    SystemError,
    /// No answer in time.
    Timeout,
}

/// Calls counted by how they ended.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub calls: u64,
    pub successes: u64,
    pub declines: u64,
    pub system_errors: u64,
    pub timeouts: u64,
    pub latency_ms_total: u64,
}

impl Counts {
    fn add(&mut self, end: CallEnd, latency: Duration) {
        self.calls += 1;
        match end {
            CallEnd::Success => self.successes += 1,
            CallEnd::Decline => self.declines += 1,
            CallEnd::SystemError => self.system_errors += 1,
            CallEnd::Timeout => self.timeouts += 1,
        }
        self.latency_ms_total += u64::try_from(latency.as_millis()).unwrap_or(u64::MAX);
    }

    pub fn merge(&mut self, other: &Counts) {
        self.calls += other.calls;
        self.successes += other.successes;
        self.declines += other.declines;
        self.system_errors += other.system_errors;
        self.timeouts += other.timeouts;
        self.latency_ms_total += other.latency_ms_total;
    }

    /// Successes over the calls that were not declines; `None` without such calls.
    pub fn success_rate(&self) -> Option<f64> {
        let counted = self.calls - self.declines;
        (counted > 0).then(|| self.successes as f64 / counted as f64)
    }

    pub fn mean_latency_ms(&self) -> Option<u64> {
        (self.calls > 0).then(|| self.latency_ms_total / self.calls)
    }
}

/// When the breaker opens and how long it stays open.
#[derive(Debug, Clone, Copy)]
pub struct BreakerSettings {
    /// Failures in a row (system errors and timeouts) that open it.
    pub failures_in_a_row: u32,
    /// How long it stays open the first time (at least a second); doubled each time it opens
    /// again, up to `max_open`.
    pub open_for: Duration,
    pub max_open: Duration,
}

impl Default for BreakerSettings {
    fn default() -> Self {
        BreakerSettings { failures_in_a_row: 5, open_for: Duration::from_secs(30), max_open: Duration::from_secs(600) }
    }
}

/// The success rate below which a method is shown as degraded (seed 000: keep it at 98% or more).
pub const HEALTHY_SUCCESS_RATE: f64 = 0.98;

/// What is known of one method of one upstream.
#[derive(Debug, Clone, PartialEq)]
pub struct MethodReport {
    pub upstream: &'static str,
    pub method: &'static str,
    pub last_hour: Counts,
    pub last_day: Counts,
    pub since_start: Counts,
    /// The breaker is open: new submissions through this method are held back.
    pub breaker_open: bool,
}

impl MethodReport {
    /// Below the healthy success rate over the last hour.
    pub fn degraded(&self) -> bool {
        self.last_hour.success_rate().is_some_and(|rate| rate < HEALTHY_SUCCESS_RATE)
    }
}

type Breaker = StateMachine<ConsecutiveFailures<Exponential>, OpenFlag>;

/// Tells whether the breaker is open, for the reports (the state machine keeps it to itself).
#[derive(Debug, Clone, Default)]
struct OpenFlag(Arc<AtomicBool>);

impl failsafe::Instrument for OpenFlag {
    fn on_call_rejected(&self) {}

    fn on_open(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    fn on_half_open(&self) {
        self.0.store(false, Ordering::SeqCst);
    }

    fn on_closed(&self) {
        self.0.store(false, Ordering::SeqCst);
    }
}

struct Method {
    breaker: Breaker,
    open: OpenFlag,
    /// (minute since the epoch, that minute's calls), oldest first, at most a day.
    minutes: VecDeque<(u64, Counts)>,
    /// Counts not yet added to the deployment's, by minute.
    unflushed: BTreeMap<u64, Counts>,
    since_start: Counts,
}

/// One method's calls in one minute (since the epoch), not yet added to the deployment's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MinuteCounts {
    pub method: &'static str,
    pub minute: u64,
    pub counts: Counts,
}

const MINUTES_KEPT: u64 = 24 * 60;

/// One upstream's health: every method it was called with.
pub struct Health {
    upstream: &'static str,
    breaker: BreakerSettings,
    methods: Mutex<BTreeMap<&'static str, Method>>,
}

fn minute_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |since| since.as_secs() / 60)
}

impl Health {
    pub fn new(upstream: &'static str, breaker: BreakerSettings) -> Health {
        Health { upstream, breaker, methods: Mutex::new(BTreeMap::new()) }
    }

    pub fn upstream(&self) -> &'static str {
        self.upstream
    }

    fn with_method<T>(&self, method: &'static str, act: impl FnOnce(&mut Method) -> T) -> T {
        // A poisoned lock only means another thread panicked while counting: the counts are
        // still usable.
        let mut methods = self.methods.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let entry = methods.entry(method).or_insert_with(|| {
            let open = OpenFlag::default();
            // failsafe's backoff wants whole seconds, the longest at least the first.
            let open_for = self.breaker.open_for.max(Duration::from_secs(1));
            let backoff = backoff::exponential(open_for, self.breaker.max_open.max(open_for));
            let policy = failure_policy::consecutive_failures(self.breaker.failures_in_a_row.max(1), backoff);
            Method {
                breaker: StateMachine::new(policy, open.clone()),
                open,
                minutes: VecDeque::new(),
                unflushed: BTreeMap::new(),
                since_start: Counts::default(),
            }
        });
        act(entry)
    }

    /// Whether a call that makes something new (a submission) may go out now. Queries are never
    /// held back.
    pub fn permits(&self, method: &'static str) -> bool {
        self.with_method(method, |method| method.breaker.is_call_permitted())
    }

    pub fn record(&self, method: &'static str, end: CallEnd, latency: Duration) {
        let minute = minute_now();
        self.with_method(method, |method| {
            match end {
                CallEnd::Success | CallEnd::Decline => method.breaker.on_success(),
                CallEnd::SystemError | CallEnd::Timeout => method.breaker.on_error(),
            }
            method.since_start.add(end, latency);
            method.unflushed.entry(minute).or_default().add(end, latency);
            match method.minutes.back_mut() {
                Some((last, counts)) if *last == minute => counts.add(end, latency),
                _ => {
                    let mut counts = Counts::default();
                    counts.add(end, latency);
                    method.minutes.push_back((minute, counts));
                }
            }
            while method.minutes.front().is_some_and(|(first, _)| *first + MINUTES_KEPT <= minute) {
                method.minutes.pop_front();
            }
        });
    }

    /// The counts not yet added to the deployment's, taken (give them back with [`Health::restore`]
    /// if adding them failed).
    pub fn take_unflushed(&self) -> Vec<MinuteCounts> {
        let mut methods = self.methods.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        methods
            .iter_mut()
            .flat_map(|(name, method)| {
                std::mem::take(&mut method.unflushed).into_iter().map(|(minute, counts)| MinuteCounts {
                    method: name,
                    minute,
                    counts,
                })
            })
            .collect()
    }

    /// Puts back counts [`Health::take_unflushed`] took, to be added next time.
    pub fn restore(&self, taken: Vec<MinuteCounts>) {
        for MinuteCounts { method, minute, counts } in taken {
            self.with_method(method, |entry| entry.unflushed.entry(minute).or_default().merge(&counts));
        }
    }

    /// Every method's figures now.
    pub fn report(&self) -> Vec<MethodReport> {
        let now = minute_now();
        let methods = self.methods.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        methods
            .iter()
            .map(|(name, method)| {
                let within = |minutes: u64| {
                    let mut counts = Counts::default();
                    for (minute, at) in &method.minutes {
                        if minute + minutes > now {
                            counts.merge(at);
                        }
                    }
                    counts
                };
                MethodReport {
                    upstream: self.upstream,
                    method: name,
                    last_hour: within(60),
                    last_day: within(MINUTES_KEPT),
                    since_start: method.since_start,
                    breaker_open: method.open.0.load(Ordering::SeqCst),
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn health() -> Health {
        let breaker = BreakerSettings {
            failures_in_a_row: 3,
            open_for: Duration::from_millis(50),
            max_open: Duration::from_secs(1),
        };
        Health::new("jdpay", breaker)
    }

    #[test]
    fn declines_are_counted_but_not_against_the_upstream() {
        let health = health();
        let ms = Duration::from_millis(10);
        for end in [CallEnd::Success, CallEnd::Success, CallEnd::Decline, CallEnd::SystemError] {
            health.record("defray_pay", end, ms);
        }
        let report = health.report().remove(0);
        assert_eq!((report.last_hour.calls, report.last_hour.declines), (4, 1));
        assert_eq!(report.last_hour.success_rate(), Some(2.0 / 3.0));
        assert_eq!(report.last_hour.mean_latency_ms(), Some(10));
        assert!(report.degraded(), "67% is below 98%");
        assert_eq!(report.last_day, report.last_hour);
        let taken = health.take_unflushed();
        assert_eq!(taken.len(), 1);
        assert_eq!(taken[0].counts.calls, 4);
        assert!(health.take_unflushed().is_empty(), "taken once");
        health.restore(taken);
        assert_eq!(health.take_unflushed()[0].counts.calls, 4, "given back after a failed flush");
    }

    #[test]
    fn the_breaker_opens_after_failures_in_a_row_and_closes_after_a_success() {
        let health = health();
        for _ in 0..2 {
            health.record("defray_pay", CallEnd::Timeout, Duration::ZERO);
        }
        assert!(health.permits("defray_pay"), "two failures do not open it");
        health.record("defray_pay", CallEnd::SystemError, Duration::ZERO);
        assert!(!health.permits("defray_pay"), "the third does");
        assert!(health.report()[0].breaker_open);
        assert!(health.permits("trade_query"), "another method is not held back");
        std::thread::sleep(Duration::from_millis(1_100));
        assert!(health.permits("defray_pay"), "half open after its time: one call may try");
        health.record("defray_pay", CallEnd::Success, Duration::ZERO);
        assert!(health.permits("defray_pay"));
        assert!(!health.report()[0].breaker_open, "closed again");
    }
}

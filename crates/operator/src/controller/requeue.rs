//! When to look at an object again: the periodic resync that corrects drift without any Kubernetes
//! change, and the error policy (transient errors back off exponentially, errors that need a person
//! wait long). Every interval is jittered so objects created together do not resync together.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::time::Duration;

use dataplatform_api::RESYNC_INTERVAL_ANNOTATION;
use dataplatform_engine::{ReconcileError, WaitClock, WaitKind};

/// A resync shorter than this would make AWS reads the operator's main load.
pub const MIN_RESYNC: Duration = Duration::from_secs(30);

#[derive(Clone, Debug)]
pub struct RequeuePolicy {
    /// Default periodic resync (`--resync-interval`).
    pub resync: Duration,
    /// First retry after a transient error; doubles per failure in a row.
    pub backoff_base: Duration,
    /// Longest wait between retries of a transient error.
    pub backoff_cap: Duration,
    /// Wait after an error a retry cannot fix (InvalidSpec, AccessDenied, AccountMismatch, Conflict):
    /// a spec change triggers a reconcile at once anyway.
    pub permanent_error: Duration,
}

impl Default for RequeuePolicy {
    fn default() -> Self {
        Self {
            resync: Duration::from_secs(300),
            backoff_base: Duration::from_secs(5),
            backoff_cap: Duration::from_secs(300),
            permanent_error: Duration::from_secs(900),
        }
    }
}

impl RequeuePolicy {
    /// The interval before the next resync of an object with `annotations` (before jitter), and
    /// what is wrong with its `dataplatform.io/resync-interval` annotation, if anything.
    pub fn resync_for(&self, annotations: &BTreeMap<String, String>) -> (Duration, Option<String>) {
        let Some(value) = annotations.get(RESYNC_INTERVAL_ANNOTATION) else {
            return (self.resync, None);
        };
        match crate::cli::parse_duration(value) {
            Ok(interval) if interval < MIN_RESYNC => (
                MIN_RESYNC,
                Some(format!(
                    "annotation {RESYNC_INTERVAL_ANNOTATION}: {value:?} is shorter than {}s; {}s is used",
                    MIN_RESYNC.as_secs(),
                    MIN_RESYNC.as_secs()
                )),
            ),
            Ok(interval) => (interval, None),
            Err(problem) => (
                self.resync,
                Some(format!(
                    "annotation {RESYNC_INTERVAL_ANNOTATION}: {problem}; the default interval is used"
                )),
            ),
        }
    }

    /// After a successful pass: the resync, or sooner when the engine is waiting on AWS.
    pub fn after_success(&self, annotations: &BTreeMap<String, String>, engine_wants: Option<Duration>) -> Duration {
        let resync = jittered(self.resync_for(annotations).0);
        engine_wants.map_or(resync, |soon| soon.min(resync))
    }

    /// After `failures` failed passes in a row (1 for the first) ending in `error`.
    pub fn after_error(&self, error: &ControllerErrorClass, failures: u32) -> Duration {
        match error {
            ControllerErrorClass::Transient => jittered(self.backoff(failures)),
            ControllerErrorClass::NeedsPerson => jittered(self.permanent_error),
            ControllerErrorClass::InProgress(wait) => *wait,
        }
    }

    /// `base * 2^(failures-1)`, capped.
    pub fn backoff(&self, failures: u32) -> Duration {
        let doublings = failures.saturating_sub(1).min(20);
        self.backoff_base
            .saturating_mul(1u32 << doublings)
            .min(self.backoff_cap)
    }
}

/// How the error policy treats a failed pass.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ControllerErrorClass {
    /// Throttling, 5xx, the Kubernetes API unreachable, a dependency not ready: back off and retry.
    Transient,
    /// The spec or the account's IAM setup is wrong: only a change fixes it.
    NeedsPerson,
    /// Deletion waits on AWS (a database deleting): look again after this long, no backoff.
    InProgress(Duration),
}

impl ControllerErrorClass {
    pub fn of_reconcile(error: &ReconcileError) -> Self {
        if error.is_transient() {
            ControllerErrorClass::Transient
        } else {
            ControllerErrorClass::NeedsPerson
        }
    }
}

/// Between 90% and 110% of `interval`.
pub fn jittered(interval: Duration) -> Duration {
    interval.mul_f64(0.9 + fastrand::f64() * 0.2)
}

/// Failed passes in a row per object, reset by a success; the error policy's memory.
#[derive(Debug, Default)]
pub struct FailureCounts(Mutex<HashMap<String, u32>>);

impl FailureCounts {
    /// Counts one more failure of `key` and returns how many in a row.
    pub fn record_failure(&self, key: &str) -> u32 {
        let mut counts = self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let count = counts.entry(key.to_owned()).or_insert(0);
        *count = count.saturating_add(1);
        *count
    }

    pub fn reset(&self, key: &str) {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .remove(key);
    }
}

/// Where each waiting object is in its wait's schedule ([`WaitClock`]), when its next pass is due,
/// and what it looked like then; an object that stops waiting (Ready, a failed pass that went to
/// the error policy, a deletion) leaves it.
#[derive(Debug, Default)]
pub struct WaitClocks(Mutex<HashMap<String, Waiting>>);

#[derive(Debug)]
struct Waiting {
    clock: WaitClock,
    kind: WaitKind,
    /// When the wait of this kind began (probes slow down as it goes on).
    since: std::time::Instant,
    pass_due: std::time::Instant,
    /// The object's generation and annotations at the pass: a change of either needs a pass.
    fingerprint: u64,
}

impl WaitClocks {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Waiting>> {
        self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// After a pass of `key` that waits for `kind` (`None`: it does not): how soon to look again,
    /// by a pass on the kind's schedule or, for a kind with a probe, sooner by a probe.
    pub fn next(&self, key: &str, kind: Option<WaitKind>, fingerprint: u64) -> Option<Duration> {
        let mut clocks = self.lock();
        let Some(kind) = kind else {
            clocks.remove(key);
            return None;
        };
        let now = std::time::Instant::now();
        let before = clocks.remove(key);
        let since = before.as_ref().filter(|w| w.kind == kind).map_or(now, |w| w.since);
        let mut clock = before.map(|w| w.clock).unwrap_or_default();
        let interval = clock.next(Some(kind))?;
        clocks.insert(
            key.to_owned(),
            Waiting {
                clock,
                kind,
                since,
                pass_due: now + interval,
                fingerprint,
            },
        );
        Some(
            kind.probe_every(now - since)
                .map_or(interval, |probe| probe.min(interval)),
        )
    }

    /// The kind to probe instead of a pass, when the object waits for one with a probe, its pass is
    /// not due yet and it has not changed since.
    pub fn probe_instead(&self, key: &str, fingerprint: u64) -> Option<WaitKind> {
        let clocks = self.lock();
        let waiting = clocks.get(key)?;
        let due = std::time::Instant::now() >= waiting.pass_due;
        let probed = waiting.kind.probe_every(waiting.since.elapsed()).is_some();
        (probed && !due && waiting.fingerprint == fingerprint).then_some(waiting.kind)
    }

    /// After a probe that found the wait not over: the next probe, or the pass if sooner.
    pub fn after_probe(&self, key: &str) -> Option<Duration> {
        let clocks = self.lock();
        let waiting = clocks.get(key)?;
        let left = waiting.pass_due.saturating_duration_since(std::time::Instant::now());
        let probe = waiting.kind.probe_every(waiting.since.elapsed());
        Some(probe.map_or(left, |probe| probe.min(left)))
    }

    pub fn forget(&self, key: &str) {
        self.lock().remove(key);
    }

    /// Objects waiting (the map's size: it must not outlive them).
    pub fn waiting(&self) -> usize {
        self.lock().len()
    }
}

/// What a waiting object's probe must not skip a pass over: its generation (the spec), its
/// annotations (`paused`, the resync interval, someone asking for a pass), its deletion, and what
/// it reads of other objects (`others_read`).
pub fn wait_fingerprint(meta: &kube::api::ObjectMeta, others_read: u64) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::hash::DefaultHasher::new();
    others_read.hash(&mut hasher);
    meta.generation.hash(&mut hasher);
    meta.annotations.hash(&mut hasher);
    meta.deletion_timestamp.is_some().hash(&mut hasher);
    hasher.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn annotations(value: &str) -> BTreeMap<String, String> {
        BTreeMap::from([(RESYNC_INTERVAL_ANNOTATION.to_owned(), value.to_owned())])
    }

    fn within_jitter(actual: Duration, expected: Duration) -> bool {
        actual >= expected.mul_f64(0.9) && actual <= expected.mul_f64(1.1)
    }

    #[test]
    fn transient_errors_back_off_exponentially_up_to_the_cap() {
        let policy = RequeuePolicy::default();
        let waits: Vec<u64> = (1..=8).map(|n| policy.backoff(n).as_secs()).collect();
        assert_eq!(waits, [5, 10, 20, 40, 80, 160, 300, 300]);
        assert_eq!(policy.backoff(u32::MAX), Duration::from_secs(300), "no overflow");
        for failures in 1..=8 {
            let wait = policy.after_error(&ControllerErrorClass::Transient, failures);
            assert!(within_jitter(wait, policy.backoff(failures)), "{failures}: {wait:?}");
        }
    }

    #[test]
    fn errors_that_need_a_person_wait_long_whatever_the_count() {
        let policy = RequeuePolicy::default();
        for failures in [1, 2, 50] {
            let wait = policy.after_error(&ControllerErrorClass::NeedsPerson, failures);
            assert!(within_jitter(wait, Duration::from_secs(900)), "{wait:?}");
        }
        let invalid = ReconcileError::InvalidSpec(dataplatform_api::InvalidSpec { problems: vec![] });
        assert_eq!(
            ControllerErrorClass::of_reconcile(&invalid),
            ControllerErrorClass::NeedsPerson
        );
        let waiting = ReconcileError::DependencyNotReady("account".into());
        assert_eq!(
            ControllerErrorClass::of_reconcile(&waiting),
            ControllerErrorClass::Transient
        );
    }

    #[test]
    fn resync_is_the_flag_or_the_annotation_never_below_the_floor() {
        let policy = RequeuePolicy::default();
        assert_eq!(policy.resync_for(&BTreeMap::new()), (Duration::from_secs(300), None));
        assert_eq!(policy.resync_for(&annotations("10m")), (Duration::from_secs(600), None));
        assert_eq!(policy.resync_for(&annotations("5s")).0, MIN_RESYNC);
        assert!(
            policy
                .resync_for(&annotations("5s"))
                .1
                .is_some_and(|p| p.contains("shorter"))
        );
        let (interval, problem) = policy.resync_for(&annotations("soon"));
        assert_eq!(interval, Duration::from_secs(300));
        let problem = problem.expect("a problem to announce");
        assert!(
            problem.contains(RESYNC_INTERVAL_ANNOTATION) && problem.contains("90s"),
            "{problem}"
        );

        let next = policy.after_success(&BTreeMap::new(), None);
        assert!(within_jitter(next, Duration::from_secs(300)), "{next:?}");
        let progress = policy.after_success(&BTreeMap::new(), Some(Duration::from_secs(30)));
        assert_eq!(
            progress,
            Duration::from_secs(30),
            "in-progress work is looked at sooner"
        );
    }

    #[test]
    fn failure_counts_are_per_object_and_reset_by_success() {
        let counts = FailureCounts::default();
        assert_eq!(counts.record_failure("a"), 1);
        assert_eq!(counts.record_failure("a"), 2);
        assert_eq!(counts.record_failure("b"), 1);
        counts.reset("a");
        assert_eq!(counts.record_failure("a"), 1);
    }

    #[test]
    fn a_waiting_object_follows_its_kinds_schedule_and_leaves_when_it_stops_waiting() {
        let clocks = WaitClocks::default();
        let secs = |d: Option<Duration>| d.map(|d| d.as_secs());
        let waits: Vec<_> = (0..4)
            .map(|_| secs(clocks.next("a", Some(WaitKind::Database), 7)))
            .collect();
        assert_eq!(waits, [Some(10), Some(20), Some(40), Some(80)]);
        assert_eq!(clocks.probe_instead("a", 7), None, "a database has no probe");
        assert_eq!(
            secs(clocks.next("b", Some(WaitKind::Network), 7)),
            Some(5),
            "per object"
        );
        assert_eq!(clocks.waiting(), 2);
        assert_eq!(clocks.next("a", None, 7), None, "Ready");
        clocks.forget("b");
        assert_eq!(clocks.waiting(), 0, "nothing kept for objects that no longer wait");
        assert_eq!(
            secs(clocks.next("a", Some(WaitKind::Database), 7)),
            Some(10),
            "a new wait starts over"
        );
    }

    #[test]
    fn tasks_are_probed_every_second_until_their_pass_is_due_or_the_object_changes() {
        let clocks = WaitClocks::default();
        // The first pass of the wait is 5 s away; until then a probe a second.
        assert_eq!(clocks.next("a", Some(WaitKind::Tasks), 7), Some(Duration::from_secs(1)));
        assert_eq!(clocks.probe_instead("a", 7), Some(WaitKind::Tasks));
        assert_eq!(clocks.after_probe("a"), Some(Duration::from_secs(1)));
        assert_eq!(
            clocks.probe_instead("a", 8),
            None,
            "a spec or annotation change gets a pass"
        );
        assert_eq!(clocks.probe_instead("b", 7), None, "not waiting");
        clocks.next("a", Some(WaitKind::Database), 7);
        assert_eq!(clocks.probe_instead("a", 7), None, "a database has no probe");
    }
}

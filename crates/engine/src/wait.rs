//! When to look again at an account that waits on AWS: a schedule per kind of wait, since AWS takes
//! seconds to start a task and minutes to make a database. A fixed interval (30 s, as before)
//! adds up to 30 s to every stage that waits; polling fast for everything would read a database
//! that is minutes away every second. So each kind starts at about the time the thing is first
//! likely to be ready and doubles from there (Terraform's and the SDKs' waiters poll each kind at
//! its own pace too), up to a cap, so that by five minutes of waiting a kind has cost no more
//! passes than the 30 s poll did (ten), and fewer after. The reasoning for each kind is in
//! docs/operations.md ("Waiting on AWS") and on [`WaitKind::schedule`].

use std::time::Duration;

/// What a pass that is not Ready waits for, from the soonest to the slowest.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum WaitKind {
    /// This pass made what a later part builds on (the network before the database and services):
    /// the next pass can go on at once.
    NextStep,
    /// ECS starting a service's tasks or rolling out a revision.
    Tasks,
    /// Cloud Map making a namespace or a name.
    Names,
    /// A NAT gateway, a VPC endpoint or the subnets and groups becoming available.
    Network,
    /// A load balancer provisioning.
    LoadBalancer,
    /// An Aurora cluster or instance being created or modified.
    Database,
    /// Anything else that is not Ready (a failed rollout waits for the spec): the old fixed poll.
    Other,
}

/// The first wait, and the longest: each pass in a row of the same kind waits twice the last.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Schedule {
    pub first: Duration,
    pub cap: Duration,
}

const fn secs(first: u64, cap: u64) -> Schedule {
    Schedule {
        first: Duration::from_secs(first),
        cap: Duration::from_secs(cap),
    }
}

impl WaitKind {
    pub const ALL: [WaitKind; 7] = [
        WaitKind::NextStep,
        WaitKind::Tasks,
        WaitKind::Names,
        WaitKind::Network,
        WaitKind::LoadBalancer,
        WaitKind::Database,
        WaitKind::Other,
    ];

    pub fn schedule(self) -> Schedule {
        match self {
            // No wait on AWS: the next step's create is the next pass's work.
            WaitKind::NextStep => secs(1, 1),
            // A Fargate task starts in 20-60 s on AWS (image pull, ENI); a rollout takes a minute
            // or more. The probe (`probe_every`) sees tasks that start fast; the passes between
            // check everything else.
            WaitKind::Tasks => secs(5, 60),
            // Cloud Map's CreatePrivateDnsNamespace runs as an operation of 30-60 s (it makes a
            // Route 53 hosted zone); a name (CreateService) is immediate once the namespace is.
            WaitKind::Names => secs(2, 60),
            // A NAT gateway and an interface endpoint take one to three minutes.
            WaitKind::Network => secs(5, 60),
            // An application load balancer provisions in two to five minutes.
            WaitKind::LoadBalancer => secs(5, 60),
            // An Aurora Serverless v2 cluster and its instance take five to fifteen minutes; a
            // modification minutes. Terraform polls RDS every 30 s; we start at 10 s and slow to 2
            // minutes.
            WaitKind::Database => secs(10, 120),
            WaitKind::Other => secs(30, 30),
        }
    }

    /// How often a wait of this kind is probed between its passes, `waited` into the wait, for kinds
    /// with a probe (a read or two that say whether the wait may be over, `parts::probe`): a probe
    /// that says so brings the pass forward. Tasks: every second for the first 30 s (a fast start),
    /// every 5 s to two minutes, then every 15 s; with the passes' own schedule from 5 s, a steady
    /// wait of five minutes reads less than the 30 s poll did (unit-tested).
    pub fn probe_every(self, waited: Duration) -> Option<Duration> {
        match self {
            WaitKind::Tasks if waited < Duration::from_secs(30) => Some(Duration::from_secs(1)),
            WaitKind::Tasks if waited < Duration::from_secs(120) => Some(Duration::from_secs(5)),
            WaitKind::Tasks => Some(Duration::from_secs(15)),
            _ => None,
        }
    }

    /// The wait before pass `attempt` (0: the first look after the wait began).
    pub fn after(self, attempt: u32) -> Duration {
        let Schedule { first, cap } = self.schedule();
        first.saturating_mul(1u32 << attempt.min(16)).min(cap)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            WaitKind::NextStep => "next-step",
            WaitKind::Tasks => "tasks",
            WaitKind::Names => "names",
            WaitKind::Network => "network",
            WaitKind::LoadBalancer => "load-balancer",
            WaitKind::Database => "database",
            WaitKind::Other => "other",
        }
    }
}

/// One object's wait: how many passes in a row waited for the same kind. The controller keeps one
/// per object, the CLI's `apply --wait` one per account.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WaitClock {
    current: Option<(WaitKind, u32)>,
}

impl WaitClock {
    /// After a pass that waits for `kind` (`None`: it does not wait): how long until the next.
    /// A new kind starts its schedule from the beginning; a pass that does not wait ends the wait.
    pub fn next(&mut self, kind: Option<WaitKind>) -> Option<Duration> {
        let Some(kind) = kind else {
            self.current = None;
            return None;
        };
        let attempt = match self.current {
            Some((seen, attempts)) if seen == kind => attempts + 1,
            _ => 0,
        };
        self.current = Some((kind, attempt));
        Some(kind.after(attempt))
    }

    /// Whether the object is waiting at all.
    pub fn is_waiting(&self) -> bool {
        self.current.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reads of one pass over an account (the bench's Child: about 60) and of one probe.
    const PASS_READS: u64 = 60;
    const PROBE_READS: u64 = 1;

    /// Reads a steady wait of `kind` makes in its first `seconds`: its passes, and its probes
    /// between them.
    fn reads_within(kind: WaitKind, seconds: u64) -> u64 {
        let end = Duration::from_secs(seconds);
        let (mut clock, mut at, mut reads) = (WaitClock::default(), Duration::ZERO, 0);
        loop {
            let pass_at = at + clock.next(Some(kind)).expect("waiting");
            while let Some(probe) = kind.probe_every(at) {
                if at + probe >= pass_at || at + probe > end {
                    break;
                }
                at += probe;
                reads += PROBE_READS;
            }
            at = pass_at;
            if at > end {
                return reads;
            }
            reads += PASS_READS;
        }
    }

    #[test]
    fn a_steady_wait_costs_no_more_reads_than_the_old_30_s_poll_from_five_minutes_on() {
        for kind in WaitKind::ALL.into_iter().filter(|k| *k != WaitKind::NextStep) {
            for seconds in (300..=3600).step_by(5) {
                let reads = reads_within(kind, seconds);
                let polled = seconds / 30 * PASS_READS;
                assert!(
                    reads <= polled,
                    "{kind:?}: {reads} reads in {seconds} s, the 30 s poll made {polled}"
                );
            }
        }
    }

    #[test]
    fn tasks_are_looked_at_within_a_second_and_a_database_later() {
        assert_eq!(
            WaitKind::Tasks.probe_every(Duration::ZERO),
            Some(Duration::from_secs(1))
        );
        let waits: Vec<u64> = (0..6).map(|a| WaitKind::Tasks.after(a).as_secs()).collect();
        assert_eq!(waits, [5, 10, 20, 40, 60, 60]);
        assert_eq!(
            WaitKind::Database.probe_every(Duration::ZERO),
            None,
            "no probe: passes only"
        );
        assert!(WaitKind::Database.after(0) > WaitKind::Tasks.after(0));
        assert_eq!(WaitKind::Other.after(9), Duration::from_secs(30), "the old poll");
    }

    #[test]
    fn a_new_kind_of_wait_starts_its_schedule_again_and_ready_stops_it() {
        let mut clock = WaitClock::default();
        assert_eq!(clock.next(Some(WaitKind::Database)), Some(Duration::from_secs(10)));
        assert_eq!(clock.next(Some(WaitKind::Database)), Some(Duration::from_secs(20)));
        assert_eq!(clock.next(Some(WaitKind::Tasks)), Some(Duration::from_secs(5)));
        assert_eq!(clock.next(None), None);
        assert!(!clock.is_waiting());
        assert_eq!(
            clock.next(Some(WaitKind::Tasks)),
            Some(Duration::from_secs(5)),
            "a new wait"
        );
    }
}

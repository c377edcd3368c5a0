//! Request budget: a token bucket per account and service, so one busy account cannot exhaust an AWS
//! API's rate limit for the others and a burst of reconciles is smoothed instead of throttled.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

/// How many calls per second each account may make to each AWS service, and how many it may make at
/// once after a quiet period.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BudgetConfig {
    pub requests_per_second: f64,
    pub burst: u32,
}

impl Default for BudgetConfig {
    fn default() -> Self {
        // Well below the lowest per-account control-plane limits we call (IAM: ~20 rps shared by
        // the whole account), so the operator leaves room for people and other tools. The burst
        // holds one pass's reads of its busiest service (S3: about ten per bucket, three buckets),
        // so a pass is not slowed by its own reads: at 20, every pass of an account spent a second
        // waiting for its last S3 reads (issue 36's bench). An account's passes run one at a time,
        // so the burst is spent once per pass; the rate still bounds what follows.
        Self {
            requests_per_second: 10.0,
            burst: 40,
        }
    }
}

#[derive(Debug)]
pub struct TokenBucket {
    config: BudgetConfig,
    state: Mutex<BucketState>,
}

#[derive(Debug)]
struct BucketState {
    tokens: f64,
    refilled_at: Instant,
}

impl TokenBucket {
    pub fn new(config: BudgetConfig) -> Self {
        Self {
            config,
            state: Mutex::new(BucketState {
                tokens: f64::from(config.burst.max(1)),
                refilled_at: Instant::now(),
            }),
        }
    }

    /// Waits until a call may be made, then takes one token.
    pub async fn acquire(&self) {
        loop {
            match self.try_take() {
                None => return,
                Some(wait) => tokio::time::sleep(wait).await,
            }
        }
    }

    /// Takes a token, or says how long until one is available.
    fn try_take(&self) -> Option<Duration> {
        let mut state = self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let now = Instant::now();
        let rate = self.config.requests_per_second.max(f64::MIN_POSITIVE);
        let elapsed = now.duration_since(state.refilled_at).as_secs_f64();
        state.tokens = (state.tokens + elapsed * rate).min(f64::from(self.config.burst.max(1)));
        state.refilled_at = now;
        if state.tokens >= 1.0 {
            state.tokens -= 1.0;
            None
        } else {
            Some(Duration::from_secs_f64((1.0 - state.tokens) / rate))
        }
    }
}

/// The buckets of one account, one per AWS service, made on first use.
#[derive(Debug)]
pub struct AccountBudget {
    config: BudgetConfig,
    by_service: Mutex<HashMap<&'static str, std::sync::Arc<TokenBucket>>>,
}

impl AccountBudget {
    pub fn new(config: BudgetConfig) -> Self {
        Self {
            config,
            by_service: Mutex::new(HashMap::new()),
        }
    }

    pub async fn acquire(&self, service: &'static str) {
        let bucket = {
            let mut map = self.by_service.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            map.entry(service)
                .or_insert_with(|| std::sync::Arc::new(TokenBucket::new(self.config)))
                .clone()
        };
        bucket.acquire().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_burst_passes_at_once_then_calls_are_spaced_by_the_rate() {
        let bucket = TokenBucket::new(BudgetConfig {
            requests_per_second: 2.0,
            burst: 3,
        });
        let start = Instant::now();
        for _ in 0..3 {
            bucket.acquire().await;
        }
        assert_eq!(start.elapsed(), Duration::ZERO, "the burst must not wait");
        bucket.acquire().await;
        bucket.acquire().await;
        let waited = start.elapsed();
        assert!(
            waited >= Duration::from_millis(999) && waited <= Duration::from_millis(1010),
            "two calls beyond the burst at 2/s take one second, took {waited:?}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn services_of_one_account_have_separate_budgets() {
        let budget = AccountBudget::new(BudgetConfig {
            requests_per_second: 1.0,
            burst: 1,
        });
        let start = Instant::now();
        budget.acquire("s3").await;
        budget.acquire("iam").await;
        assert_eq!(start.elapsed(), Duration::ZERO);
        budget.acquire("s3").await;
        assert!(start.elapsed() >= Duration::from_millis(999));
    }
}

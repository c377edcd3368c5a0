//! One retry loop for every AWS call: throttling and transient faults back off exponentially with full
//! jitter; everything else (access denied, invalid input, not found, conflict) is returned at once so
//! the caller decides, and nothing spins in a hot loop. The SDK's own retries are switched off on our
//! clients so a call is never retried twice over.

use std::future::Future;
use std::time::Duration;

use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_runtime_api::http::Response;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use tokio::sync::Semaphore;

use crate::budget::AccountBudget;
use crate::error::AwsError;

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included.
    pub max_attempts: u32,
    pub base_delay: Duration,
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    /// Ten attempts: at 20% throttling and 5% server errors a call fails all ten about once in a
    /// million, so an apply of many calls converges in one run (five failed one in a thousand).
    fn default() -> Self {
        Self {
            max_attempts: 10,
            base_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(20),
        }
    }
}

impl RetryPolicy {
    /// Full jitter: a random delay between zero and the exponential ceiling for this attempt.
    pub fn backoff(&self, failed_attempts: u32) -> Duration {
        let ceiling = self
            .base_delay
            .saturating_mul(2u32.saturating_pow(failed_attempts.saturating_sub(1)))
            .min(self.max_delay);
        ceiling.mul_f64(fastrand::f64())
    }
}

/// Whether a failed call may be sent again as it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Repeat {
    /// Sending it twice does no harm: throttling and transient faults are retried.
    Safe,
    /// A second send could do the work twice (a new task-definition revision each time): only a
    /// throttled call, which AWS refused unread, is sent again. A transient fault may have been
    /// carried out with its answer lost, and goes back to the caller, who looks before sending again.
    OnlyWhenRefused,
}

/// Makes one AWS call within the account's budget, once one of the process's `in_flight`
/// permits is free (held while the request is out, not while backing off), retrying what is
/// worth retrying.
pub async fn call<T, E, F, Fut>(
    policy: &RetryPolicy,
    budget: &AccountBudget,
    in_flight: &Semaphore,
    service: &'static str,
    operation: &'static str,
    repeat: Repeat,
    mut send: F,
) -> Result<T, AwsError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, SdkError<E, Response>>>,
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let mut attempt = 1;
    loop {
        budget.acquire(service).await;
        // Never closed: a closed gate would only mean no limit.
        let sending = in_flight.acquire().await.ok();
        // One line per request at trace level (the time-to-Ready bench counts a pass's calls by it).
        tracing::trace!(service, operation, attempt, "AWS call");
        // Boxed: an SDK call's future is several KiB, and unboxed it would sit inside every
        // future that contains this one (a pass joins dozens), allocated for the whole pass and
        // while waiting for the budget. Boxed, it exists only while the request is in flight.
        let answer = Box::pin(send()).await;
        drop(sending);
        match answer {
            Ok(output) => return Ok(output),
            Err(error) => {
                let error = AwsError::from_sdk(service, operation, error);
                let refused = error.class == crate::error::ErrorClass::Throttled;
                let again = error.class.is_retryable() && (repeat == Repeat::Safe || refused);
                if !again || attempt >= policy.max_attempts {
                    return Err(error);
                }
                let delay = policy.backoff(attempt);
                tracing::debug!(service, operation, attempt, ?delay, error = %error, "retrying AWS call");
                tokio::time::sleep(delay).await;
                attempt += 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use aws_sdk_sts::operation::get_caller_identity::GetCallerIdentityError;
    use aws_smithy_runtime_api::http::StatusCode;
    use aws_smithy_types::body::SdkBody;
    use aws_smithy_types::error::ErrorMetadata;

    use super::*;
    use crate::budget::BudgetConfig;
    use crate::error::ErrorClass;

    fn service_error(code: &str, status: u16) -> SdkError<GetCallerIdentityError, Response> {
        let error = GetCallerIdentityError::generic(ErrorMetadata::builder().code(code).message("injected").build());
        let response = Response::new(StatusCode::try_from(status).expect("status"), SdkBody::empty());
        SdkError::service_error(error, response)
    }

    async fn attempts_until_done(code: &str, status: u16, failures: u32) -> (u32, Result<(), AwsError>) {
        attempts_with(Repeat::Safe, code, status, failures).await
    }

    async fn attempts_with(repeat: Repeat, code: &str, status: u16, failures: u32) -> (u32, Result<(), AwsError>) {
        let policy = RetryPolicy {
            max_attempts: 4,
            ..RetryPolicy::default()
        };
        let budget = AccountBudget::new(BudgetConfig::default());
        let attempts = AtomicU32::new(0);
        let result = call(
            &policy,
            &budget,
            &Semaphore::new(1),
            "sts",
            "GetCallerIdentity",
            repeat,
            || {
                let n = attempts.fetch_add(1, Ordering::SeqCst);
                let code = code.to_owned();
                async move {
                    if n < failures {
                        Err(service_error(&code, status))
                    } else {
                        Ok(())
                    }
                }
            },
        )
        .await;
        (attempts.load(Ordering::SeqCst), result)
    }

    #[tokio::test(start_paused = true)]
    async fn throttling_and_server_errors_are_retried_until_they_pass() {
        assert_eq!(attempts_until_done("Throttling", 400, 2).await.0, 3);
        assert_eq!(attempts_until_done("InternalError", 500, 3).await.0, 4);
    }

    #[tokio::test(start_paused = true)]
    async fn retries_stop_at_the_attempt_limit_with_the_classified_error() {
        let (attempts, result) = attempts_until_done("Throttling", 400, 10).await;
        assert_eq!(attempts, 4);
        assert_eq!(result.unwrap_err().class, ErrorClass::Throttled);
    }

    #[tokio::test(start_paused = true)]
    async fn access_denied_and_invalid_input_are_not_retried() {
        let (attempts, result) = attempts_until_done("AccessDenied", 403, 10).await;
        assert_eq!((attempts, result.unwrap_err().class), (1, ErrorClass::AccessDenied));
        let (attempts, result) = attempts_until_done("ValidationError", 400, 10).await;
        assert_eq!((attempts, result.unwrap_err().class), (1, ErrorClass::Invalid));
    }

    #[tokio::test(start_paused = true)]
    async fn a_call_that_must_not_run_twice_is_repeated_only_when_throttled() {
        assert_eq!(attempts_with(Repeat::OnlyWhenRefused, "Throttling", 400, 2).await.0, 3);
        let (attempts, result) = attempts_with(Repeat::OnlyWhenRefused, "InternalError", 500, 3).await;
        assert_eq!((attempts, result.unwrap_err().class), (1, ErrorClass::Retryable));
    }

    #[tokio::test(start_paused = true)]
    async fn no_more_calls_are_out_at_once_than_the_process_allows() {
        let (policy, budget) = (RetryPolicy::default(), AccountBudget::new(BudgetConfig::default()));
        let in_flight = Semaphore::new(3);
        let (out, most_out) = (AtomicU32::new(0), AtomicU32::new(0));
        let calls = (0..12).map(|_| {
            call(
                &policy,
                &budget,
                &in_flight,
                "sts",
                "GetCallerIdentity",
                Repeat::Safe,
                || async {
                    let now = out.fetch_add(1, Ordering::SeqCst) + 1;
                    most_out.fetch_max(now, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    out.fetch_sub(1, Ordering::SeqCst);
                    Ok::<(), SdkError<GetCallerIdentityError, Response>>(())
                },
            )
        });
        let results = futures::future::join_all(calls).await;
        assert!(results.iter().all(Result::is_ok));
        assert_eq!(most_out.load(Ordering::SeqCst), 3);
    }

    #[test]
    fn backoff_is_jittered_below_an_exponential_ceiling() {
        let policy = RetryPolicy::default();
        let delays: Vec<_> = (0..50).map(|_| policy.backoff(3)).collect();
        assert!(delays.iter().all(|d| *d <= Duration::from_millis(800)));
        assert!(delays.windows(2).any(|w| w[0] != w[1]), "delays must vary");
        assert!(policy.backoff(30) <= policy.max_delay);
    }
}

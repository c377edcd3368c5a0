//! Records the HTTP requests our clients send and how busy the endpoint was, for the benchmark:
//! replaying the very same requests against the endpoint alone shows what the endpoint costs, so
//! the operator's own share of the time is visible.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeDeserializationInterceptorContextRef, BeforeTransmitInterceptorContextRef,
};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordedRequest {
    pub method: String,
    pub uri: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

#[derive(Debug, Default)]
struct State {
    requests: Vec<RecordedRequest>,
    busy_since: Option<Instant>,
    busy: Duration,
}

#[derive(Clone, Debug, Default)]
pub struct RequestRecorder {
    state: Arc<Mutex<State>>,
    in_flight: Arc<AtomicUsize>,
    peak_in_flight: Arc<AtomicUsize>,
}

impl RequestRecorder {
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Forgets what was recorded so far.
    pub fn reset(&self) {
        *self.lock() = State::default();
        self.peak_in_flight.store(0, Ordering::SeqCst);
    }

    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.lock().requests.clone()
    }

    /// Most requests in flight at once since the last reset.
    pub fn peak_in_flight(&self) -> usize {
        self.peak_in_flight.load(Ordering::SeqCst)
    }

    /// Time with at least one request in flight since the last reset.
    pub fn busy(&self) -> Duration {
        self.lock().busy
    }
}

impl Intercept for RequestRecorder {
    fn name(&self) -> &'static str {
        "dataplatform-request-recorder"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let request = context.request();
        let recorded = RecordedRequest {
            method: request.method().to_owned(),
            uri: request.uri().to_owned(),
            headers: request
                .headers()
                .iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect(),
            body: request.body().bytes().unwrap_or_default().to_vec(),
        };
        let now_in_flight = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.peak_in_flight.fetch_max(now_in_flight, Ordering::SeqCst);
        let mut state = self.lock();
        state.requests.push(recorded);
        if now_in_flight == 1 {
            state.busy_since = Some(Instant::now());
        }
        Ok(())
    }

    fn read_after_transmit(
        &self,
        _context: &BeforeDeserializationInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if self.in_flight.fetch_sub(1, Ordering::SeqCst) == 1 {
            let mut state = self.lock();
            if let Some(since) = state.busy_since.take() {
                state.busy += since.elapsed();
            }
        }
        Ok(())
    }
}

//! The operations endpoints: `/metrics` (Prometheus text), `/healthz` (the process serves), and
//! `/readyz` (standing by for leadership, or leading with both caches filled).

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

use http::{Method, Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;

use super::context::Context;
use super::metrics::Metrics;

/// What the endpoints report; the controller fills it in as it starts.
#[derive(Default)]
pub struct Health {
    ready: AtomicBool,
    leading: OnceLock<Arc<Context>>,
    standby_metrics: OnceLock<Metrics>,
}

impl Health {
    pub fn set_ready(&self, ready: bool) {
        self.ready.store(ready, Ordering::Relaxed);
    }

    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Relaxed)
    }

    /// From now on `/metrics` reports the leading controllers.
    pub fn leading(&self, ctx: Arc<Context>) {
        let _ = self.leading.set(ctx);
    }

    pub fn metrics_text(&self) -> String {
        match self.leading.get() {
            Some(ctx) => ctx
                .metrics
                .render(&ctx.ready_states(), &ctx.engine.sessions().counter().snapshot()),
            None => self
                .standby_metrics
                .get_or_init(Metrics::new)
                .render(&[], &Default::default()),
        }
    }

    pub fn respond(&self, method: &Method, path: &str) -> (StatusCode, &'static str, String) {
        const TEXT: &str = "text/plain; charset=utf-8";
        if method != Method::GET {
            return (StatusCode::METHOD_NOT_ALLOWED, TEXT, "GET only\n".into());
        }
        match path {
            "/healthz" => (StatusCode::OK, TEXT, "ok\n".into()),
            "/readyz" if self.is_ready() => (StatusCode::OK, TEXT, "ready\n".into()),
            "/readyz" => (StatusCode::SERVICE_UNAVAILABLE, TEXT, "starting\n".into()),
            "/metrics" => (
                StatusCode::OK,
                "application/openmetrics-text; version=1.0.0; charset=utf-8",
                self.metrics_text(),
            ),
            _ => (
                StatusCode::NOT_FOUND,
                TEXT,
                "not found: try /metrics, /healthz, /readyz\n".into(),
            ),
        }
    }
}

/// Serves until `shutdown` completes.
pub async fn serve(
    listener: tokio::net::TcpListener,
    health: Arc<Health>,
    shutdown: impl std::future::Future<Output = ()>,
) -> std::io::Result<()> {
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => accepted?,
            () = &mut shutdown => return Ok(()),
        };
        let health = health.clone();
        tokio::spawn(async move {
            let service = service_fn(move |request: Request<Incoming>| {
                let (status, content_type, body) = health.respond(request.method(), request.uri().path());
                let response = Response::builder()
                    .status(status)
                    .header(http::header::CONTENT_TYPE, content_type)
                    .body(Full::new(Bytes::from(body)));
                async move { Ok::<_, Infallible>(response.unwrap_or_default()) }
            });
            if let Err(error) = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await
            {
                tracing::debug!(%peer, %error, "health/metrics connection ended with an error");
            }
        });
    }
}

pub async fn bind(address: SocketAddr) -> std::io::Result<tokio::net::TcpListener> {
    tokio::net::TcpListener::bind(address).await
}

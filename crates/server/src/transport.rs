//! The accept loop and the per-connection lifecycle, on hyper directly:
//! `axum::serve` has no header, body or idle timeouts, no connection cap,
//! and its graceful shutdown waits forever for a client that never finishes
//! its request.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::{Pin, pin};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use bytes::Bytes;
use http::{HeaderValue, Request, Response, StatusCode, Version, header};
use http_body::{Body as HttpBody, Frame, SizeHint};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};
use tokio::time::{Instant, Sleep};
use tower::ServiceExt as _;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// How long a client may take, and how many may be connected at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// From accepting a connection (or, on HTTP/1.1, from starting to wait
    /// for the next request) until the request head has arrived.
    pub header_read_timeout: Duration,
    /// From the request head until the whole body has arrived.
    pub body_read_timeout: Duration,
    /// A connection with no request in flight for this long is closed.
    pub idle_timeout: Duration,
    pub max_connections: usize,
    /// After shutdown begins, how long in-flight requests may take before
    /// their connections are dropped.
    pub shutdown_grace: Duration,
}

/// Serves `app` on `listener` until `stop` turns true (or its sender is
/// dropped), then drains within [`Limits::shutdown_grace`].
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: Limits,
    mut stop: watch::Receiver<bool>,
) -> std::io::Result<()> {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout);
    builder.http2().timer(TokioTimer::new());
    let builder = Arc::new(builder);
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let mut last_warning: Option<Instant> = None;
    loop {
        let permit = match slots.clone().try_acquire_owned() {
            Ok(p) => p,
            Err(_) => {
                // At most one line a minute: a flood must not also flood the log.
                let now = Instant::now();
                if last_warning.is_none_or(|t| now - t >= Duration::from_secs(60)) {
                    tracing::warn!(
                        max_connections = limits.max_connections,
                        "connection limit of {} reached; new connections wait until one closes",
                        limits.max_connections
                    );
                    last_warning = Some(now);
                }
                tokio::select! {
                    p = slots.clone().acquire_owned() => p.expect("the semaphore is never closed"),
                    _ = stopped(&mut stop) => break,
                }
            }
        };
        let accepted = tokio::select! {
            r = listener.accept() => r,
            _ = stopped(&mut stop) => break,
        };
        let (tcp, remote) = match accepted {
            Ok(a) => a,
            Err(e) if is_connection_error(&e) => continue,
            Err(e) => {
                // Typically EMFILE: retrying at once would spin.
                tracing::error!(error = %e, "cannot accept connections; retrying in 1 s");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        tokio::spawn(connection(
            builder.clone(),
            app.clone(),
            tcp,
            remote,
            limits,
            stop.clone(),
            permit,
        ));
    }
    drop(listener);
    // Each connection holds a permit until its task ends, so holding them
    // all means every connection is gone. Each task bounds its own drain by
    // the grace; the timeout here only guards against a bug in that.
    let all = u32::try_from(limits.max_connections).unwrap_or(u32::MAX);
    let drained = tokio::time::timeout(
        limits.shutdown_grace + Duration::from_secs(2),
        slots.acquire_many(all),
    )
    .await;
    if drained.is_err() {
        tracing::warn!("connections still open after the shutdown grace; exiting anyway");
    }
    Ok(())
}

/// Shutdown was asked for, or the [`crate::Running`] that could ask is gone.
async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}

fn is_connection_error(e: &std::io::Error) -> bool {
    use std::io::ErrorKind::*;
    matches!(
        e.kind(),
        ConnectionRefused | ConnectionAborted | ConnectionReset
    )
}

/// A connection's activity, shared by its requests and its idle timer.
/// Uncontended (one connection's requests), so a plain mutex.
type Shared = Arc<Mutex<Activity>>;

/// What a connection is doing, for its idle timer.
#[derive(Debug, Clone, Copy)]
struct Activity {
    in_flight: usize,
    requests: u64,
    /// When `in_flight` last dropped to zero (or the connection opened).
    quiet_since: Instant,
}

enum Expiry {
    /// No request head arrived in time: nothing to finish, drop it.
    Silent,
    /// Idle between requests: close politely.
    Idle,
}

async fn connection(
    builder: Arc<auto::Builder<TokioExecutor>>,
    app: Router,
    tcp: TcpStream,
    remote: SocketAddr,
    limits: Limits,
    mut stop: watch::Receiver<bool>,
    _permit: OwnedSemaphorePermit,
) {
    let activity: Shared = Arc::new(Mutex::new(Activity {
        in_flight: 0,
        requests: 0,
        quiet_since: Instant::now(),
    }));
    let service = {
        let activity = activity.clone();
        hyper::service::service_fn(move |req| {
            handle(
                app.clone(),
                req,
                remote,
                limits.body_read_timeout,
                activity.clone(),
            )
        })
    };
    let mut conn = pin!(builder.serve_connection(TokioIo::new(tcp), service));
    let mut expiry = pin!(expiry(activity.clone(), limits));
    let mut give_up = pin!(tokio::time::sleep(Duration::MAX / 4));
    let mut draining = false;
    let mut stopping = false;
    loop {
        tokio::select! {
            result = conn.as_mut() => {
                if let Err(e) = result {
                    tracing::debug!(%remote, error = %e, "connection ended with an error");
                }
                return;
            }
            why = &mut expiry, if !draining => match why {
                Expiry::Silent => return,
                Expiry::Idle => {
                    conn.as_mut().graceful_shutdown();
                    draining = true;
                    // A request that started just as the timer fired may
                    // still be arriving; give it the time any request gets.
                    give_up.as_mut().reset(
                        Instant::now() + limits.header_read_timeout + limits.body_read_timeout,
                    );
                }
            },
            _ = stopped(&mut stop), if !stopping => {
                stopping = true;
                if !draining {
                    conn.as_mut().graceful_shutdown();
                    draining = true;
                }
                let deadline = Instant::now() + limits.shutdown_grace;
                if deadline < give_up.deadline() {
                    give_up.as_mut().reset(deadline);
                }
            }
            _ = &mut give_up, if draining => return,
        }
    }
}

/// Resolves when the connection has been silent or idle too long. hyper's
/// own header timer only starts once HTTP/1.1 has been recognised, so a
/// client that connects and sends nothing (or half an HTTP/2 preface) is
/// caught here.
///
/// It sleeps until the deadline the activity implies and then looks again,
/// rather than being woken by every request: a busy keep-alive connection
/// costs no timer work per request.
async fn expiry(activity: Shared, limits: Limits) -> Expiry {
    loop {
        let seen = activity.lock().map_or_else(|p| *p.into_inner(), |a| *a);
        let (at, why) = if seen.in_flight > 0 {
            (Instant::now() + limits.idle_timeout, None)
        } else if seen.requests == 0 {
            (
                seen.quiet_since + limits.header_read_timeout,
                Some(Expiry::Silent),
            )
        } else {
            (seen.quiet_since + limits.idle_timeout, Some(Expiry::Idle))
        };
        tokio::time::sleep_until(at).await;
        let now = activity.lock().map_or_else(|p| *p.into_inner(), |a| *a);
        let unchanged = now.in_flight == 0
            && now.requests == seen.requests
            && now.quiet_since == seen.quiet_since;
        if let Some(why) = why
            && unchanged
        {
            return why;
        }
    }
}

async fn handle(
    app: Router,
    mut req: Request<Incoming>,
    remote: SocketAddr,
    body_read_timeout: Duration,
    activity: Shared,
) -> Result<Response<Tracked>, Infallible> {
    let guard = InFlight::enter(activity);
    let http1 = req.version() < Version::HTTP_2;
    req.extensions_mut().insert(ConnectInfo(remote));
    let timed_out = Arc::new(AtomicBool::new(false));
    let req = if req.body().is_end_stream() {
        req.map(Body::new)
    } else {
        let flag = timed_out.clone();
        req.map(|inner| {
            Body::new(Deadline {
                inner,
                timer: Box::pin(tokio::time::sleep(body_read_timeout)),
                timed_out: flag,
            })
        })
    };
    let mut res = app.oneshot(req).await.unwrap_or_else(|e| match e {});
    // Whatever the handler made of the failed read, the cause is the client's
    // slowness, and the rest of its body must not be read as a next request.
    if timed_out.load(Ordering::Relaxed) {
        res = body_timeout_response(body_read_timeout, http1);
    }
    Ok(res.map(|inner| Tracked {
        inner,
        _guard: guard,
    }))
}

fn body_timeout_response(limit: Duration, http1: bool) -> Response<Body> {
    let body = serde_json::json!({
        "error": "invalid_request",
        "error_description": format!(
            "the request body did not arrive within {} s",
            limit.as_secs()
        ),
    })
    .to_string();
    let mut res = Response::new(Body::from(body));
    *res.status_mut() = StatusCode::REQUEST_TIMEOUT;
    let headers = res.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if http1 {
        headers.insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    res
}

/// Counts a request as in flight until its response body is dropped, i.e.
/// written out or abandoned.
struct InFlight(Shared);

fn update(activity: &Shared, f: impl FnOnce(&mut Activity)) {
    let mut a = activity.lock().unwrap_or_else(|p| p.into_inner());
    f(&mut a);
}

impl InFlight {
    fn enter(activity: Shared) -> Self {
        update(&activity, |a| {
            a.in_flight += 1;
            a.requests += 1;
        });
        Self(activity)
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        update(&self.0, |a| {
            a.in_flight -= 1;
            if a.in_flight == 0 {
                a.quiet_since = Instant::now();
            }
        });
    }
}

struct Tracked {
    inner: Body,
    _guard: InFlight,
}

impl HttpBody for Tracked {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.get_mut().inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// A request body that fails once its deadline passes. tower-http's
/// `RequestBodyTimeoutLayer` restarts its timer on every frame, so a client
/// trickling a byte at a time would never trip it; this is one deadline for
/// the whole body.
struct Deadline {
    inner: Incoming,
    timer: Pin<Box<Sleep>>,
    timed_out: Arc<AtomicBool>,
}

#[derive(Debug, thiserror::Error)]
#[error("request body timed out")]
struct BodyTimedOut;

impl HttpBody for Deadline {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = self.get_mut();
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(frame) => Poll::Ready(frame.map(|r| r.map_err(Into::into))),
            Poll::Pending => {
                if this.timer.as_mut().poll(cx).is_ready() {
                    this.timed_out.store(true, Ordering::Relaxed);
                    Poll::Ready(Some(Err(BodyTimedOut.into())))
                } else {
                    Poll::Pending
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

//! The tower middleware: authenticate, then either pass the request on with
//! its [`Principal`] or answer the refusal.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use tower::{Layer, Service};

use crate::Guard;
use crate::error::add_resource_metadata;

fn is_preflight<B>(req: &Request<B>) -> bool {
    req.method() == http::Method::OPTIONS
        && req
            .headers()
            .contains_key(http::header::ACCESS_CONTROL_REQUEST_METHOD)
}

/// Layer form of a [`Guard`]; see [`Guard::layer`].
#[derive(Debug, Clone)]
pub struct GuardLayer {
    guard: Guard,
}

impl GuardLayer {
    pub fn new(guard: Guard) -> Self {
        Self { guard }
    }
}

impl<S> Layer<S> for GuardLayer {
    type Service = GuardService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        GuardService {
            inner,
            guard: self.guard.clone(),
        }
    }
}

/// The service [`GuardLayer`] wraps around an API. Requests it lets through
/// carry a [`crate::Principal`] extension. Its refusals carry the RFC 9728
/// `resource_metadata` parameter, and so do the Bearer challenges of 401 and
/// 403 responses from the API it wraps.
#[derive(Debug, Clone)]
pub struct GuardService<S> {
    inner: S,
    guard: Guard,
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for GuardService<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    ReqBody: http_body::Body + From<Bytes> + Send + 'static,
    ReqBody::Data: Send,
    ReqBody::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    ResBody: From<Bytes> + 'static,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<ReqBody>) -> Self::Future {
        // The clone that was driven to readiness serves this request; the
        // fresh clone stays behind for the next (tower's usual dance).
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let guard = self.guard.clone();
        // A CORS preflight carries no credentials by definition (Fetch
        // standard): refusing it would keep browser clients from ever
        // sending the real request. The CORS layer (or the API) answers it.
        if is_preflight(&req) {
            return Box::pin(inner.call(req));
        }
        Box::pin(async move {
            let (mut req, result) = guard.authenticate_request(req).await;
            match result {
                Ok(principal) => {
                    req.extensions_mut().insert(principal);
                    let mut res = inner.call(req).await?;
                    // A handler's `require_scope` error knows no guard: name
                    // the metadata document in its challenge here.
                    if let Some(url) = guard.resource_metadata_url()
                        && matches!(
                            res.status(),
                            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN
                        )
                    {
                        add_resource_metadata(res.headers_mut(), url);
                    }
                    Ok(res)
                }
                Err(e) => Ok(guard.error_response(&e)),
            }
        })
    }
}

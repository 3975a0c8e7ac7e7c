//! Hands every request its TCP peer address, as axum's `ConnectInfo<SocketAddr>` extension:
//! the sign-in log records the client IP from it (or, behind a trusted proxy, from
//! `X-Forwarded-For`). Requests driven in-process (tests, `$batch` inner requests) have no
//! peer; the identity platform then treats them as coming from the loopback address.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::task::{Context, Poll};

use axum::extract::ConnectInfo;

/// A per-connection service: `inner` with the connection's peer put on each request.
#[derive(Clone)]
pub(crate) struct WithPeer<S> {
    inner: S,
    peer: SocketAddr,
}

impl<S, B> tower::Service<http::Request<B>> for WithPeer<S>
where
    S: tower::Service<http::Request<B>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: http::Request<B>) -> Self::Future {
        req.extensions_mut().insert(ConnectInfo(self.peer));
        self.inner.call(req)
    }
}

/// The make-service the server binds: one [`WithPeer`] per accepted connection.
pub(crate) fn make_service<S: Clone>(
    inner: S,
) -> impl tower::Service<
    SocketAddr,
    Response = WithPeer<S>,
    Error = Infallible,
    Future = std::future::Ready<Result<WithPeer<S>, Infallible>>,
> + Clone {
    tower::service_fn(move |peer: SocketAddr| std::future::ready(Ok(WithPeer { inner: inner.clone(), peer })))
}

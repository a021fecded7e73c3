//! Slow, idle and excess clients against the real accept loop: header, body
//! and idle timeouts, the connection cap, and a shutdown bounded by its
//! grace. Raw sockets, because an HTTP client would not misbehave on cue.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::{Instant, timeout};

use crate::support::{TestClient, TestServer};

/// Reads until the server closes the connection. `Some(bytes it sent)`, or
/// `None` if it was still open at `deadline`.
async fn closed_by(stream: &mut (impl AsyncRead + Unpin), deadline: Instant) -> Option<String> {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut buf)).await {
            Err(_) => return None,
            Ok(Ok(0)) | Ok(Err(_)) => return Some(String::from_utf8_lossy(&got).into_owned()),
            Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
        }
    }
}

async fn connect(addr: SocketAddr) -> TcpStream {
    TcpStream::connect(addr).await.expect("connect")
}

/// A client-credentials token request with the secret in the body, split
/// into the head with the first half of the body, and the rest.
fn token_request(c: &TestClient) -> (String, String) {
    let body = format!(
        "grant_type=client_credentials&client_id={}&client_secret={}",
        c.id,
        c.secret.expose()
    );
    let (first, rest) = body.split_at(body.len() / 2);
    (
        format!(
            "POST /oauth/token HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{first}",
            body.len()
        ),
        rest.to_owned(),
    )
}

/// A token request whose body has only half arrived: a request in flight.
async fn half_sent_token_request(addr: SocketAddr, c: &TestClient) -> (TcpStream, String) {
    let (start, rest) = token_request(c);
    let mut stream = connect(addr).await;
    stream.write_all(start.as_bytes()).await.unwrap();
    (stream, rest)
}

async fn partial_head(addr: SocketAddr) -> TcpStream {
    let mut stream = connect(addr).await;
    stream
        .write_all(b"POST /oauth/token HTTP/1.1\r\nHost: x\r\nContent-Le")
        .await
        .unwrap();
    stream
}

/// A keep-alive connection that has had one answer and now sits idle.
async fn idle_after_a_request(addr: SocketAddr) -> TcpStream {
    let mut stream = connect(addr).await;
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut buf = [0u8; 1024];
    let n = timeout(Duration::from_secs(5), stream.read(&mut buf))
        .await
        .expect("a health answer")
        .unwrap();
    assert!(buf[..n].starts_with(b"HTTP/1.1 200"));
    stream
}

#[tokio::test]
async fn slow_and_idle_clients_are_closed_and_new_requests_still_answered() {
    let s = TestServer::start_with(|f| {
        f.header_read_timeout_secs = Some(1);
        f.body_read_timeout_secs = Some(2);
        f.idle_timeout_secs = Some(2);
    })
    .await;
    let c = s.client("read").await;
    let addr = s.running.addr;
    let mut silent = Vec::new();
    let mut heads = Vec::new();
    let mut bodies = Vec::new();
    for _ in 0..80 {
        silent.push(connect(addr).await);
        heads.push(partial_head(addr).await);
    }
    for _ in 0..40 {
        bodies.push(half_sent_token_request(addr, &c).await.0);
    }
    let mut kept_alive = idle_after_a_request(addr).await;

    // 201 slow connections open, and a real client is served at once.
    let token = timeout(Duration::from_secs(5), s.token(&c, None))
        .await
        .expect("a token while slow clients hold connections");
    assert!(!token.is_empty());

    let deadline = Instant::now() + Duration::from_secs(10);
    for (i, stream) in silent.iter_mut().enumerate() {
        assert!(
            closed_by(stream, deadline).await.is_some(),
            "silent connection {i} still open"
        );
    }
    for (i, stream) in heads.iter_mut().enumerate() {
        assert!(
            closed_by(stream, deadline).await.is_some(),
            "partial-head connection {i} still open"
        );
    }
    for (i, stream) in bodies.iter_mut().enumerate() {
        let answer = closed_by(stream, deadline)
            .await
            .unwrap_or_else(|| panic!("partial-body connection {i} still open"));
        assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
        assert!(!answer.contains("access_token"), "{answer}");
    }
    assert!(
        closed_by(&mut kept_alive, deadline).await.is_some(),
        "idle keep-alive connection still open"
    );
    s.token(&c, None).await;
}

/// The body deadline is one deadline for the whole body, not per read: a
/// byte every 300 ms must not keep a request alive forever.
#[tokio::test]
async fn a_trickled_body_is_cut_at_the_body_deadline() {
    let s = TestServer::start_with(|f| {
        f.body_read_timeout_secs = Some(2);
    })
    .await;
    let c = s.client("read").await;
    let (mut stream, rest) = half_sent_token_request(s.running.addr, &c).await;
    let (mut reader, mut writer) = stream.split();
    // Never the last byte: the body stays incomplete however long it runs.
    let trickle = async {
        for b in rest.bytes().take(rest.len() - 1) {
            tokio::time::sleep(Duration::from_millis(300)).await;
            if writer.write_all(&[b]).await.is_err() {
                break;
            }
        }
        std::future::pending::<()>().await
    };
    let answer = tokio::select! {
        a = closed_by(&mut reader, Instant::now() + Duration::from_secs(2 + 5)) => a,
        _ = trickle => unreachable!(),
    }
    .expect("closed after the body deadline");
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("invalid_request"), "{answer}");
}

#[tokio::test]
async fn connections_beyond_the_cap_wait_for_a_free_slot() {
    let s = TestServer::start_with(|f| {
        f.max_connections = Some(4);
        f.header_read_timeout_secs = Some(1);
        f.idle_timeout_secs = Some(1);
        f.body_read_timeout_secs = Some(60);
    })
    .await;
    let c = s.client("read").await;
    let addr = s.running.addr;
    // Four requests in flight take every slot.
    let mut holders = Vec::new();
    for _ in 0..4 {
        holders.push(half_sent_token_request(addr, &c).await);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let waiting: Vec<_> = (0..6)
        .map(|_| {
            let http = reqwest::Client::new();
            let url = s.url("/oauth/token");
            let (id, secret) = (c.id.to_string(), c.secret.expose().to_owned());
            tokio::spawn(async move {
                http.post(url)
                    .basic_auth(id, Some(secret))
                    .form(&[("grant_type", "client_credentials")])
                    .send()
                    .await
                    .map(|r| r.status().as_u16())
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(
        waiting.iter().all(|w| !w.is_finished()),
        "no slot is free, so nothing beyond the cap is served"
    );

    // Finishing one held request frees its slot once its connection idles out.
    let (mut first, rest) = holders.remove(0);
    first.write_all(rest.as_bytes()).await.unwrap();
    let answer = closed_by(&mut first, Instant::now() + Duration::from_secs(10))
        .await
        .expect("closed once idle");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    for w in waiting {
        let status = timeout(Duration::from_secs(30), w)
            .await
            .expect("served once a slot frees")
            .unwrap()
            .expect("an answer, not a reset");
        assert_eq!(status, 200);
    }
    for (mut stream, rest) in holders {
        stream.write_all(rest.as_bytes()).await.unwrap();
        let answer = closed_by(&mut stream, Instant::now() + Duration::from_secs(10))
            .await
            .expect("closed once idle");
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    }
}

#[tokio::test]
async fn shutdown_is_bounded_by_the_grace_while_clients_hold_partial_requests() {
    let s = TestServer::start_with(|f| {
        f.shutdown_grace_secs = Some(2);
        f.header_read_timeout_secs = Some(60);
        f.body_read_timeout_secs = Some(60);
        f.idle_timeout_secs = Some(60);
    })
    .await;
    let c = s.client("read").await;
    let addr = s.running.addr;
    let mut head = partial_head(addr).await;
    let (mut body, _) = half_sent_token_request(addr, &c).await;
    let mut silent = connect(addr).await;
    let mut idle = idle_after_a_request(addr).await;
    tokio::time::sleep(Duration::from_millis(300)).await;

    let started = Instant::now();
    timeout(Duration::from_secs(2 + 3), s.running.shutdown())
        .await
        .expect("shutdown within the grace and a margin")
        .unwrap();
    // The request in flight was given its grace, not cut at once.
    assert!(started.elapsed() >= Duration::from_millis(1500));
    let deadline = Instant::now() + Duration::from_secs(2);
    for (what, stream) in [
        ("partial head", &mut head),
        ("partial body", &mut body),
        ("silent", &mut silent),
        ("idle", &mut idle),
    ] {
        assert!(
            closed_by(stream, deadline).await.is_some(),
            "{what} connection still open after shutdown"
        );
    }
    assert!(TcpStream::connect(addr).await.is_err());
}

#[tokio::test]
async fn shutdown_closes_idle_connections_at_once() {
    let s = TestServer::start_with(|f| {
        f.shutdown_grace_secs = Some(30);
        f.idle_timeout_secs = Some(60);
        f.header_read_timeout_secs = Some(60);
    })
    .await;
    let addr = s.running.addr;
    let mut idle: Vec<_> = Vec::new();
    for _ in 0..5 {
        idle.push(idle_after_a_request(addr).await);
    }
    let mut silent = connect(addr).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    // Well inside the 30 s grace: nothing is in flight, so nothing to wait for.
    timeout(Duration::from_secs(5), s.running.shutdown())
        .await
        .expect("idle connections do not hold up shutdown")
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(1);
    for stream in idle.iter_mut().chain([&mut silent]) {
        assert!(closed_by(stream, deadline).await.is_some());
    }
}

#[tokio::test]
async fn shutdown_lets_a_trickled_request_finish_within_the_grace() {
    let s = TestServer::start_with(|f| {
        f.shutdown_grace_secs = Some(10);
    })
    .await;
    let c = s.client("read").await;
    let (mut stream, rest) = half_sent_token_request(s.running.addr, &c).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let stopping = tokio::spawn(s.running.shutdown());
    for chunk in rest.as_bytes().chunks(rest.len().div_ceil(4)) {
        tokio::time::sleep(Duration::from_millis(300)).await;
        stream.write_all(chunk).await.unwrap();
    }
    let answer = closed_by(&mut stream, Instant::now() + Duration::from_secs(10))
        .await
        .expect("answered and closed");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains("access_token"), "{answer}");
    timeout(Duration::from_secs(10 + 3), stopping)
        .await
        .expect("shutdown returns once the request is done")
        .unwrap()
        .unwrap();
}

/// HTTP/2 with prior knowledge was served before the accept loop was
/// replaced, and still is.
#[tokio::test]
async fn http2_prior_knowledge_is_still_served() {
    let s = TestServer::start().await;
    let mut stream = connect(s.running.addr).await;
    stream
        .write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00")
        .await
        .unwrap();
    let mut frame = [0u8; 9];
    timeout(Duration::from_secs(5), stream.read_exact(&mut frame))
        .await
        .expect("the server's SETTINGS")
        .unwrap();
    assert_eq!(frame[3], 0x4, "first frame is SETTINGS: {frame:?}");
}

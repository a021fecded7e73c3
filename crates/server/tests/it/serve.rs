//! `portcullis serve` as a user runs it: no config, a fresh directory.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::TestServer;

struct Served {
    child: Child,
    addr: String,
    log: std::sync::mpsc::Receiver<String>,
}

impl Drop for Served {
    /// A failing test must not leave a server running.
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Served {
    fn sigterm(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    fn wait_exit(&mut self) -> std::process::ExitStatus {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(Instant::now() < deadline, "server did not stop");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

fn serve(dir: &std::path::Path, extra_env: &[(&str, &str)]) -> Served {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_portcullis"));
    cmd.current_dir(dir)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env_remove("PORTCULLIS_DATABASE_URL")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in extra_env {
        cmd.env(k, v);
    }
    let mut served = Served {
        child: cmd.spawn().unwrap(),
        addr: String::new(),
        log: std::sync::mpsc::channel().1,
    };
    let (tx, rx) = std::sync::mpsc::channel();
    let stdout = served.child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let line = rx
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .expect("the server logs that it is serving");
        if let Some(rest) = line.split("addr=").nth(1) {
            served.addr = rest.split_whitespace().next().unwrap().to_owned();
            served.log = rx;
            return served;
        }
    }
}

#[tokio::test]
async fn serve_with_no_config_creates_its_data_dir_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = serve(dir.path(), &[]);
    assert!(dir.path().join("portcullis-data/portcullis.db").exists());
    let base = format!("http://{}", s.addr);
    let http = reqwest::Client::new();
    assert_eq!(
        http.get(format!("{base}/healthz"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(
        http.get(format!("{base}/readyz"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let meta: serde_json::Value = http
        .get(format!("{base}/.well-known/oauth-authorization-server"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let port = s.addr.rsplit(':').next().unwrap();
    assert_eq!(meta["issuer"], format!("http://localhost:{port}"));
    s.sigterm();
    assert!(s.wait_exit().success());
}

#[tokio::test]
async fn secrets_and_tokens_never_reach_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    crate::cli::portcullis(d, &["scope", "define", "read", "--description", "Read"]);
    let out = crate::cli::portcullis(
        d,
        &[
            "client",
            "create",
            "--name",
            "x",
            "--grant-type",
            "client_credentials",
            "--scope",
            "read",
            "--json",
        ],
    );
    let created: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let (id, secret) = (
        created["client_id"].as_str().unwrap().to_owned(),
        created["client_secret"].as_str().unwrap().to_owned(),
    );
    let mut s = serve(d, &[("PORTCULLIS_LOG_LEVEL", "trace")]);
    let base = format!("http://{}", s.addr);
    let http = reqwest::Client::new();
    let body: serde_json::Value = http
        .post(format!("{base}/oauth/token"))
        .basic_auth(&id, Some(&secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = body["access_token"].as_str().unwrap().to_owned();
    for (form_secret, tok) in [
        (secret.as_str(), token.as_str()),
        ("wrong-secret-value", "tok-in-query"),
    ] {
        http.post(format!("{base}/oauth/introspect?access_token={tok}"))
            .form(&[
                ("token", tok),
                ("client_id", &id),
                ("client_secret", form_secret),
            ])
            .send()
            .await
            .unwrap();
        http.post(format!("{base}/oauth/revoke"))
            .basic_auth(&id, Some(form_secret))
            .form(&[("token", tok)])
            .send()
            .await
            .unwrap();
    }
    s.sigterm();
    let mut stderr = String::new();
    s.child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert!(s.wait_exit().success());
    let log: Vec<String> = s.log.try_iter().collect();
    let log = log.join("\n") + &stderr;
    assert!(log.contains("/oauth/token"), "requests are logged: {log}");
    assert!(log.contains(&id), "the client id is logged");
    assert!(
        log.contains("client=127.0.0.1") || log.contains("\"client\":\"127.0.0.1\""),
        "the client address is logged: {log}"
    );
    for secret_value in [
        secret.as_str(),
        token.as_str(),
        "wrong-secret-value",
        "tok-in-query",
    ] {
        assert!(!log.contains(secret_value), "log leaked a secret or token");
    }
}

#[tokio::test]
async fn shutdown_lets_in_flight_requests_finish() {
    let s = TestServer::start().await;
    let c = s.client("read").await;
    let body = format!(
        "grant_type=client_credentials&client_id={}&client_secret={}",
        c.id,
        c.secret.expose()
    );
    let addr = s.running.addr;
    let (head, tail) = body.split_at(10);
    let (head, tail) = (head.to_owned(), tail.to_owned());
    // A request whose body is still arriving when shutdown begins.
    let mut stream = TcpStream::connect(addr).unwrap();
    write!(
        stream,
        "POST /oauth/token HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{head}",
        body.len()
    )
    .unwrap();
    stream.flush().unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let stopping = tokio::spawn(s.running.shutdown());
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(!stopping.is_finished(), "shutdown waits for the request");
    let response = tokio::task::spawn_blocking(move || {
        stream.write_all(tail.as_bytes()).unwrap();
        let mut buf = String::new();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let _ = stream.read_to_string(&mut buf);
        buf
    })
    .await
    .unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.contains("access_token"));
    stopping.await.unwrap().unwrap();
    // New connections are refused once it has stopped.
    assert!(TcpStream::connect(addr).is_err());
}

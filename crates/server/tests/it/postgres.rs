//! Several instances on one PostgreSQL, and PostgreSQL outages. Skipped
//! (with a message) when `PORTCULLIS_TEST_POSTGRES` is not set.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use portcullis_store::testing::{fresh_postgres_database, postgres_base_url};
use serde_json::Value;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

use crate::support::{TestClient, TestServer};

/// A fresh database on the configured server, or `None` to skip.
pub async fn fresh_database() -> Option<String> {
    let Some(base) = postgres_base_url() else {
        eprintln!("PORTCULLIS_TEST_POSTGRES is not set: PostgreSQL test skipped");
        return None;
    };
    Some(
        fresh_postgres_database(&base)
            .await
            .expect("create a test database"),
    )
}

pub async fn instance(url: &str) -> TestServer {
    let url = url.to_owned();
    TestServer::start_with(move |f| {
        f.database_url = Some(url);
        f.key_refresh_secs = Some(1);
        // Instances behind one load balancer share one issuer.
        f.issuer = Some("http://portcullis.test".into());
    })
    .await
}

async fn token_status(s: &TestServer, c: &TestClient) -> u16 {
    s.post_form("/oauth/token", c, &[("grant_type", "client_credentials")])
        .await
        .status()
        .as_u16()
}

/// Polls `check` until it holds, failing after `limit`.
async fn within<F, Fut>(limit: Duration, what: &str, mut check: F) -> Duration
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let start = Instant::now();
    loop {
        if check().await {
            return start.elapsed();
        }
        assert!(start.elapsed() < limit, "{what}: not within {limit:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn two_instances_share_clients_tokens_and_revocations() {
    let Some(url) = fresh_database().await else {
        return;
    };
    let a = instance(&url).await;
    let b = instance(&url).await;
    let rs = a.client("read").await;
    let c = a.client("read").await;

    let token = b.token(&c, None).await;
    assert_eq!(a.introspect(&rs, &token).await["active"], true);
    let res = b.post_form("/oauth/revoke", &c, &[("token", &token)]).await;
    assert_eq!(res.status(), 200);
    assert_eq!(a.introspect(&rs, &token).await["active"], false);

    // A rotated secret and a deleted client stop working on the other
    // instance within 5 seconds (the cache bound is 2 s by default).
    let new_secret = a
        .server()
        .operator()
        .rotate_client_secret(&c.id)
        .await
        .unwrap();
    let took = within(
        Duration::from_secs(5),
        "old secret refused at B",
        || async { token_status(&b, &c).await == 401 },
    )
    .await;
    eprintln!("old secret refused at B after {took:?}");
    let c2 = TestClient {
        id: c.id.clone(),
        secret: new_secret,
    };
    assert_eq!(token_status(&b, &c2).await, 200);
    a.server().operator().delete_client(&c.id).await.unwrap();
    within(
        Duration::from_secs(5),
        "deleted client refused at B",
        || async { token_status(&b, &c2).await == 401 },
    )
    .await;
}

#[tokio::test]
async fn a_key_rotated_through_one_instance_is_served_and_used_by_the_other() {
    let Some(url) = fresh_database().await else {
        return;
    };
    let a = instance(&url).await;
    let b = instance(&url).await;
    let c = a.client("read").await;
    let rs = a.client("read").await;
    let old_kid = kid_of(&b.token(&c, None).await);

    let next = a
        .server()
        .operator()
        .rotate_signing_key(None, 3)
        .await
        .unwrap();
    let new_kid = next.kid.to_string();
    // Published by B before it signs with it.
    within(
        Duration::from_secs(3),
        "B publishes the new key",
        || async {
            let jwks: Value = b
                .http
                .get(b.url("/jwks.json"))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            jwks["keys"]
                .as_array()
                .unwrap()
                .iter()
                .any(|k| k["kid"] == new_kid.as_str())
        },
    )
    .await;
    let early = b.token(&c, None).await;
    if b.server().now() < next.active_at {
        assert_eq!(
            kid_of(&early),
            old_kid,
            "not signing before the publish delay"
        );
    }
    within(
        Duration::from_secs(8),
        "B signs with the new key",
        || async { kid_of(&b.token(&c, None).await) == new_kid },
    )
    .await;
    // Both the old and the new key's tokens verify everywhere.
    assert_eq!(a.introspect(&rs, &early).await["active"], true);
    let fresh = b.token(&c, None).await;
    assert_eq!(a.introspect(&rs, &fresh).await["active"], true);
    let jwks: Value = a
        .http
        .get(a.url("/jwks.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let kids: Vec<&str> = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap())
        .collect();
    assert!(
        kids.contains(&old_kid.as_str()) && kids.contains(&new_kid.as_str()),
        "{kids:?}"
    );
}

fn kid_of(token: &str) -> String {
    use base64::Engine as _;
    let header = token.split('.').next().unwrap();
    let header: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(header)
            .unwrap(),
    )
    .unwrap();
    header["kid"].as_str().unwrap().to_owned()
}

/// A TCP relay to PostgreSQL that the test can cut and restore, to make the
/// database unreachable without touching the real server.
struct Relay {
    port: u16,
    target: String,
    tasks: Arc<Mutex<Vec<JoinHandle<()>>>>,
}

impl Relay {
    async fn start(target: String) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let relay = Self {
            port,
            target,
            tasks: Arc::default(),
        };
        relay.serve(listener);
        relay
    }

    fn serve(&self, listener: TcpListener) {
        let tasks = self.tasks.clone();
        let target = self.target.clone();
        let accept = tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                let target = target.clone();
                let conn = tokio::spawn(async move {
                    if let Ok(mut outbound) = TcpStream::connect(target).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
                tasks.lock().unwrap().push(conn);
            }
        });
        self.tasks.lock().unwrap().push(accept);
    }

    /// Closes the listener and every relayed connection.
    fn cut(&self) {
        for t in self.tasks.lock().unwrap().drain(..) {
            t.abort();
        }
    }

    async fn restore(&self) {
        let listener = loop {
            match TcpListener::bind(("127.0.0.1", self.port)).await {
                Ok(l) => break l,
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        };
        self.serve(listener);
    }
}

#[tokio::test]
async fn a_database_outage_answers_503_quickly_and_recovers_by_itself() {
    let Some(url) = fresh_database().await else {
        return;
    };
    let mut parsed = url::Url::parse(&url).unwrap();
    let target = format!(
        "{}:{}",
        parsed.host_str().unwrap(),
        parsed.port().unwrap_or(5432)
    );
    let relay = Relay::start(target).await;
    parsed.set_port(Some(relay.port)).unwrap();
    let relayed = parsed.to_string();
    let s = TestServer::start_with(move |f| {
        f.database_url = Some(relayed);
        f.db_acquire_timeout_ms = Some(1000);
        f.cache_ttl_ms = Some(0);
    })
    .await;
    let c = s.client("read").await;
    let token = s.token(&c, None).await;
    assert_eq!(s.introspect(&c, &token).await["active"], true);

    relay.cut();
    let started = Instant::now();
    let res = s
        .post_form("/oauth/introspect", &c, &[("token", &token)])
        .await;
    let took = started.elapsed();
    assert_eq!(res.status(), 503);
    assert!(res.headers().contains_key("retry-after"));
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"], "temporarily_unavailable");
    let text = body.to_string().to_lowercase();
    assert!(
        !text.contains("sqlx") && !text.contains("connection"),
        "no driver text: {text}"
    );
    // Bounded by db_acquire_timeout_ms (1 s here), with a margin for a
    // loaded machine: never a hang, never several timeouts in a row.
    let bound = Duration::from_millis(2000);
    assert!(took < bound, "introspection answered in {took:?}");
    let started = Instant::now();
    let res = s
        .post_form("/oauth/token", &c, &[("grant_type", "client_credentials")])
        .await;
    let took = started.elapsed();
    assert_eq!(res.status(), 503);
    assert!(took < bound, "client credentials answered in {took:?}");
    let started = Instant::now();
    let ready = s.http.get(s.url("/readyz")).send().await.unwrap().status();
    let took = started.elapsed();
    assert!(took < bound, "/readyz answered in {took:?}");
    assert_eq!(ready, 503);
    assert_eq!(
        s.http.get(s.url("/healthz")).send().await.unwrap().status(),
        200
    );

    relay.restore().await;
    within(
        Duration::from_secs(10),
        "recovery after the outage",
        || async { s.http.get(s.url("/readyz")).send().await.unwrap().status() == 200 },
    )
    .await;
    assert_eq!(s.introspect(&c, &token).await["active"], true);
    assert_eq!(token_status(&s, &c).await, 200);
}

/// Two instances on one database with a user and a code client, plus a
/// browser logged in at the first.
async fn two_instances_with_a_user() -> Option<(TestServer, TestServer, TestClient)> {
    let url = fresh_database().await?;
    let a = instance(&url).await;
    let b = instance(&url).await;
    a.server()
        .operator()
        .create_user("alice", crate::authcode::PASSWORD, false)
        .await
        .unwrap();
    let c = crate::authcode::code_client(&a, |_| {}).await;
    Some((a, b, c))
}

#[tokio::test]
async fn a_code_issued_by_one_instance_is_redeemed_once_across_both() {
    let Some((a, b, c)) = two_instances_with_a_user().await else {
        return;
    };
    let browser = crate::support::Browser::new(&a);
    let (verifier, challenge) = crate::support::pkce_pair();

    // Issued by A, redeemed at B.
    let code = crate::authcode::code_for(&a, &browser, &c, "read", &challenge).await;
    let res = crate::authcode::exchange(&b, &c, &code, &verifier).await;
    assert_eq!(res.status(), 200);

    // 50 concurrent redemptions of one code, spread over both: exactly one
    // gets past the single-use step. It is answered 200, or refused when a
    // replay revoked the grant while it was still issuing; either way the
    // replays end whatever it was issued.
    let code = crate::authcode::code_for(&a, &browser, &c, "read", &challenge).await;
    let servers = Arc::new([a, b]);
    let mut tasks = Vec::new();
    for i in 0..50 {
        let (servers, code, verifier) = (servers.clone(), code.clone(), verifier.clone());
        let c = TestClient {
            id: c.id.clone(),
            secret: c.secret.clone(),
        };
        tasks.push(tokio::spawn(async move {
            let res = crate::authcode::exchange(&servers[i % 2], &c, &code, &verifier).await;
            let status = res.status().as_u16();
            (status, res.json::<Value>().await.unwrap())
        }));
    }
    let mut answers = Vec::new();
    for t in tasks {
        answers.push(t.await.unwrap());
    }
    assert!(
        answers.iter().all(|(s, _)| *s == 200 || *s == 400),
        "{answers:?}"
    );
    assert_eq!(past_single_use(&answers), 1, "{answers:?}");
    for (_, won) in answers.iter().filter(|(s, _)| *s == 200) {
        assert_tokens_end(&servers, &c, won).await;
    }
}

/// How many answers got past the single-use step: those that won, and
/// those refused because a replay revoked the grant while they issued.
fn past_single_use(answers: &[(u16, Value)]) -> usize {
    answers
        .iter()
        .filter(|(s, body)| {
            *s == 200
                || body["error_description"]
                    == "this grant was revoked while the tokens were issued"
        })
        .count()
}

/// The winner's tokens are dead: its refresh token is refused and its
/// access token introspects inactive, on either instance.
async fn assert_tokens_end(servers: &[TestServer; 2], c: &TestClient, won: &Value) {
    if let Some(refresh) = won["refresh_token"].as_str() {
        let res = servers[0]
            .post_form(
                "/oauth/token",
                c,
                &[("grant_type", "refresh_token"), ("refresh_token", refresh)],
            )
            .await;
        assert_eq!(res.status(), 400);
    }
    let info = servers[1]
        .introspect(c, won["access_token"].as_str().unwrap())
        .await;
    assert_eq!(info["active"], false);
}

#[tokio::test]
async fn concurrent_uses_of_one_refresh_token_pass_once_and_revoke_the_family() {
    let Some((a, b, c)) = two_instances_with_a_user().await else {
        return;
    };
    let browser = crate::support::Browser::new(&a);
    let (verifier, challenge) = crate::support::pkce_pair();
    let code = crate::authcode::code_for(&a, &browser, &c, "read", &challenge).await;
    let t: Value = crate::authcode::exchange(&a, &c, &code, &verifier)
        .await
        .json()
        .await
        .unwrap();
    let refresh = t["refresh_token"].as_str().unwrap().to_owned();

    let servers = Arc::new([a, b]);
    let mut tasks = Vec::new();
    for i in 0..50 {
        let (servers, refresh) = (servers.clone(), refresh.clone());
        let c = TestClient {
            id: c.id.clone(),
            secret: c.secret.clone(),
        };
        tasks.push(tokio::spawn(async move {
            let res = servers[i % 2]
                .post_form(
                    "/oauth/token",
                    &c,
                    &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
                )
                .await;
            let status = res.status().as_u16();
            (status, res.json::<Value>().await.unwrap())
        }));
    }
    let mut answers = Vec::new();
    for t in tasks {
        let (status, body) = t.await.unwrap();
        assert!(status == 200 || status == 400, "{status} {body}");
        answers.push((status, body));
    }
    // Exactly one use gets past the rotation; the reuses revoke the family,
    // so the winner's tokens end dead too, and so does the access token
    // issued with the original refresh token.
    assert_eq!(past_single_use(&answers), 1, "{answers:?}");
    for (_, won) in answers.iter().filter(|(s, _)| *s == 200) {
        assert_tokens_end(&servers, &c, won).await;
    }
    let info = servers[0]
        .introspect(&c, t["access_token"].as_str().unwrap())
        .await;
    assert_eq!(info["active"], false);
}

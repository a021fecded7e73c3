//! The guard against a live (tiny) authorization server on 127.0.0.1.

mod common;

use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::body::Body;
use axum::routing::get;
use axum::{Extension, Json, Router};
use common::{AUD, RS_ID, RS_SECRET, Signer, TestAs, claims, now, rand_suffix};
use http::{HeaderName, Request, StatusCode, header};
use http_body_util::BodyExt;
use portcullis_guard::{
    ACCESS_TOKEN, ACCESS_TOKEN_PARAM, Guard, GuardConfig, GuardError, Policy, Principal,
    PrincipalKind, X_ACCESS_TOKEN, X_API_KEY,
};
use portcullis_protocol::{ClientId, Secret};
use serde_json::{Value, json};
use tower::ServiceExt as _;

fn config(server: &TestAs) -> GuardConfig {
    GuardConfig::new(&server.issuer, AUD)
        .with_client_credentials(ClientId::new(RS_ID), Secret::new(RS_SECRET))
}

fn guard(server: &TestAs, policy: Policy) -> Guard {
    Guard::new(config(server).with_policy(policy)).unwrap()
}

/// The head of a GET request with these headers.
fn parts(uri: &str, headers: &[(&str, &str)]) -> http::request::Parts {
    let mut req = Request::get(uri);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    req.body(()).unwrap().into_parts().0
}

async fn auth(guard: &Guard, headers: &[(&str, &str)]) -> Result<Principal, GuardError> {
    guard.authenticate(&parts("/", headers)).await
}

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

/// An app behind `guard`'s layer: `/whoami` answers the principal and echoes
/// the body it received; `/orders` needs `orders:read`; `/addon/{id}` needs
/// `ADDON_USER_APPROVED` on `id`.
fn app(guard: &Guard) -> Router {
    async fn whoami(Extension(p): Extension<Principal>, body: String) -> Json<Value> {
        Json(json!({ "principal": p, "body": body }))
    }
    async fn orders(p: Principal) -> Result<&'static str, GuardError> {
        p.require_scope("orders:read")?;
        Ok("orders")
    }
    async fn addon(
        p: Principal,
        axum::extract::Path(id): axum::extract::Path<String>,
    ) -> Result<&'static str, GuardError> {
        p.require_permission("ADDON_USER_APPROVED", &id)?;
        Ok("approved")
    }
    Router::new()
        .route("/whoami", get(whoami).post(whoami))
        .route("/orders", get(orders))
        .route("/addon/{id}", get(addon))
        .layer(guard.layer())
}

struct Answer {
    status: StatusCode,
    challenge: Option<String>,
    body: Value,
}

async fn call(router: &Router, req: Request<Body>) -> Answer {
    let res = router.clone().oneshot(req).await.unwrap();
    let status = res.status();
    let challenge = res
        .headers()
        .get(header::WWW_AUTHENTICATE)
        .map(|v| v.to_str().unwrap().to_owned());
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    let body = serde_json::from_slice(&bytes)
        .unwrap_or(Value::String(String::from_utf8_lossy(&bytes).into_owned()));
    Answer {
        status,
        challenge,
        body,
    }
}

fn get_req(uri: &str, headers: &[(&str, &str)]) -> Request<Body> {
    let mut req = Request::get(uri);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    req.body(Body::empty()).unwrap()
}

fn expect_invalid_token(r: Result<Principal, GuardError>, description: &str) {
    match r {
        Err(GuardError::InvalidToken(d)) => assert_eq!(d, description),
        other => panic!("expected invalid_token `{description}`, got {other:?}"),
    }
}

#[tokio::test]
async fn bearer_token_yields_the_principal() {
    let key = Signer::es256("k1");
    let server = TestAs::start(&[&key]).await;
    let g = guard(&server, Policy::bearer());

    let user = key.sign(&claims(&server.issuer, "user-42", "orders:read profile"));
    let p = auth(&g, &[("authorization", &bearer(&user))])
        .await
        .unwrap();
    assert_eq!(p.subject, "user-42");
    assert_eq!(p.kind, PrincipalKind::User);
    assert_eq!(p.client_id, Some(ClientId::new("web-app")));
    assert_eq!(p.scopes.to_string(), "orders:read profile");
    assert!(p.expires_at.unwrap() > now());
    assert_eq!(p.api_key_owner, None);

    // A client-credentials token: the client is its own subject.
    let mut c = claims(&server.issuer, "web-app", "");
    c.as_object_mut().unwrap().remove("scope");
    let p = auth(&g, &[("authorization", &bearer(&key.sign(&c)))])
        .await
        .unwrap();
    assert_eq!(p.kind, PrincipalKind::Client);
    assert!(p.scopes.is_empty());
}

#[tokio::test]
async fn missing_credential_is_a_bare_401() {
    let key = Signer::es256("k1");
    let server = TestAs::start(&[&key]).await;
    let g = guard(&server, Policy::bearer());
    let a = call(&app(&g), get_req("/whoami", &[])).await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        a.challenge.as_deref(),
        Some("Bearer realm=\"api://orders\"")
    );
    assert_eq!(a.body["error"], "invalid_token");
    assert_eq!(
        a.body["error_description"],
        "send an access token in the Authorization header (Bearer)"
    );
    // Nothing was fetched for a request without a credential.
    assert_eq!(server.state.jwks_fetches(), 0);
}

#[tokio::test]
async fn bad_access_tokens_are_401_invalid_token() {
    let key = Signer::es256("k1");
    let server = TestAs::start(&[&key]).await;
    let g = guard(&server, Policy::bearer());
    let iss = server.issuer.clone();
    let with = |f: &dyn Fn(&mut serde_json::Map<String, Value>)| {
        let mut c = claims(&iss, "u1", "a");
        f(c.as_object_mut().unwrap());
        c
    };
    let try_token = |t: String| {
        let g = g.clone();
        async move { auth(&g, &[("authorization", &bearer(&t))]).await }
    };

    expect_invalid_token(
        try_token("not.a.jwt".into()).await,
        "the access token is malformed",
    );
    expect_invalid_token(try_token("".into()).await, "the access token is malformed");
    expect_invalid_token(
        try_token(key.sign(&with(&|c| {
            c.insert("exp".into(), json!(now() - 120));
        })))
        .await,
        "the access token has expired",
    );
    // Within the 30 s leeway, an expired token still passes.
    assert!(
        try_token(key.sign(&with(&|c| {
            c.insert("exp".into(), json!(now() - 10));
        })))
        .await
        .is_ok()
    );
    expect_invalid_token(
        try_token(key.sign(&with(&|c| {
            c.insert("nbf".into(), json!(now() + 120));
        })))
        .await,
        "the access token is not valid yet",
    );
    expect_invalid_token(
        try_token(key.sign(&with(&|c| {
            c.insert("iss".into(), json!("https://evil.example"));
        })))
        .await,
        "the access token is from another issuer",
    );
    expect_invalid_token(
        try_token(key.sign(&with(&|c| {
            c.insert("aud".into(), json!("api://billing"));
        })))
        .await,
        "the access token is for another audience",
    );
    expect_invalid_token(
        try_token(key.sign(&with(&|c| {
            c.remove("aud");
        })))
        .await,
        "the access token's claims are malformed or incomplete",
    );
    // Same kid, different private key: a forgery.
    let forger = Signer::es256("k1");
    expect_invalid_token(
        try_token(forger.sign(&claims(&iss, "u1", "a"))).await,
        "the access token's signature is invalid",
    );
    // An ID token or any other JWT from the same keys is not an access token.
    let mut jwt = key.header();
    jwt.typ = Some("JWT".into());
    expect_invalid_token(
        try_token(key.sign_with(&jwt, &claims(&iss, "u1", "a"))).await,
        "the token is not an access token",
    );
    let mut no_kid = key.header();
    no_kid.kid = None;
    expect_invalid_token(
        try_token(key.sign_with(&no_kid, &claims(&iss, "u1", "a"))).await,
        "the access token names no key",
    );
    // `alg: none` is not even parsed as a header.
    let b64 = |v: Value| {
        use base64::Engine as _;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
    };
    let none = format!(
        "{}.{}.",
        b64(json!({"alg": "none", "typ": "at+jwt", "kid": "k1"})),
        b64(claims(&iss, "u1", "a"))
    );
    expect_invalid_token(try_token(none).await, "the access token is malformed");
    // A header claiming another algorithm than the key's.
    let good = key.sign(&claims(&iss, "u1", "a"));
    let rest = good.split_once('.').unwrap().1;
    let swapped = format!(
        "{}.{rest}",
        b64(json!({"alg": "EdDSA", "typ": "at+jwt", "kid": "k1"}))
    );
    expect_invalid_token(
        try_token(swapped).await,
        "the token's algorithm does not match its key",
    );

    // And over HTTP: 401 with the RFC 6750 challenge and a JSON body.
    let expired = key.sign(&with(&|c| {
        c.insert("exp".into(), json!(now() - 120));
    }));
    let a = call(
        &app(&g),
        get_req("/whoami", &[("authorization", &bearer(&expired))]),
    )
    .await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        a.challenge.as_deref(),
        Some("Bearer error=\"invalid_token\", error_description=\"the access token has expired\"")
    );
    assert_eq!(
        a.body,
        json!({"error": "invalid_token", "error_description": "the access token has expired"})
    );
}

#[tokio::test]
async fn only_advertised_algorithms_are_accepted() {
    let es = Signer::es256("es");
    let ed = Signer::ed25519("ed");
    let server = TestAs::start(&[&es, &ed]).await;
    *server.state.algs.lock().unwrap() = vec!["ES256".into()];
    let g = guard(&server, Policy::bearer());
    let ed_token = ed.sign(&claims(&server.issuer, "u1", "a"));
    expect_invalid_token(
        auth(&g, &[("authorization", &bearer(&ed_token))]).await,
        "the access token is signed by an unknown key",
    );
    let es_token = es.sign(&claims(&server.issuer, "u1", "a"));
    assert!(
        auth(&g, &[("authorization", &bearer(&es_token))])
            .await
            .is_ok()
    );

    // Once EdDSA is advertised, the same key verifies.
    let server = TestAs::start(&[&ed]).await;
    let g = guard(&server, Policy::bearer());
    let ed_token = ed.sign(&claims(&server.issuer, "u1", "a"));
    assert!(
        auth(&g, &[("authorization", &bearer(&ed_token))])
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn each_token_location_is_read_only_when_enabled() {
    let key = Signer::es256("k1");
    let server = TestAs::start(&[&key]).await;
    let token = key.sign(&claims(&server.issuer, "u1", "a"));
    let form = format!("access_token={token}&note=kept");
    let form_ct = "application/x-www-form-urlencoded";

    let bearer_only = app(&guard(&server, Policy::bearer()));
    let flexible = app(&guard(
        &server,
        Policy::bearer()
            .with_token_header(ACCESS_TOKEN)
            .with_query_param(ACCESS_TOKEN_PARAM)
            .with_form_param(ACCESS_TOKEN_PARAM),
    ));
    let x_header = app(&guard(&server, Policy::token_header(X_ACCESS_TOKEN)));

    let requests = || {
        vec![
            (
                "bearer",
                get_req("/whoami", &[("authorization", &bearer(&token))]),
            ),
            (
                "access_token header",
                get_req("/whoami", &[("access_token", &token)]),
            ),
            (
                "query",
                get_req(&format!("/whoami?access_token={token}"), &[]),
            ),
            (
                "form",
                Request::post("/whoami")
                    .header(header::CONTENT_TYPE, form_ct)
                    .body(Body::from(form.clone()))
                    .unwrap(),
            ),
            (
                "x-access-token",
                get_req("/whoami", &[("x-access-token", &token)]),
            ),
        ]
    };
    let expect = |app: &str, place: &str| match (app, place) {
        ("bearer_only", "bearer") => StatusCode::OK,
        ("flexible", "bearer" | "access_token header" | "query" | "form") => StatusCode::OK,
        ("x_header", "x-access-token") => StatusCode::OK,
        _ => StatusCode::UNAUTHORIZED,
    };
    for (name, router) in [
        ("bearer_only", &bearer_only),
        ("flexible", &flexible),
        ("x_header", &x_header),
    ] {
        for (place, req) in requests() {
            let a = call(router, req).await;
            assert_eq!(
                a.status,
                expect(name, place),
                "{name} with the token in {place}"
            );
            if a.status == StatusCode::OK {
                assert_eq!(a.body["principal"]["subject"], "u1");
            } else {
                // A token in a place not enabled is as good as no token.
                assert_eq!(
                    a.challenge.as_deref(),
                    Some("Bearer realm=\"api://orders\"")
                );
            }
        }
    }

    // The handler still gets the whole form body.
    let a = call(
        &flexible,
        Request::post("/whoami")
            .header(header::CONTENT_TYPE, form_ct)
            .body(Body::from(form.clone()))
            .unwrap(),
    )
    .await;
    assert_eq!(a.body["body"], form);

    // A JSON body with an `access_token` field is not a form.
    let a = call(
        &flexible,
        Request::post("/whoami")
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(json!({"access_token": token}).to_string()))
            .unwrap(),
    )
    .await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);

    // Forms are buffered up to a limit only.
    let small = app(&guard(
        &server,
        Policy::bearer()
            .with_form_param(ACCESS_TOKEN_PARAM)
            .with_max_form_bytes(100),
    ));
    let a = call(
        &small,
        Request::post("/whoami")
            .header(header::CONTENT_TYPE, form_ct)
            .body(Body::from(form.clone()))
            .unwrap(),
    )
    .await;
    assert_eq!(a.status, StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn a_token_sent_twice_differently_is_400() {
    let key = Signer::es256("k1");
    let server = TestAs::start(&[&key]).await;
    let t1 = key.sign(&claims(&server.issuer, "u1", "a"));
    let t2 = key.sign(&claims(&server.issuer, "u2", "a"));
    let flexible = app(&guard(
        &server,
        Policy::bearer()
            .with_query_param(ACCESS_TOKEN_PARAM)
            .with_form_param(ACCESS_TOKEN_PARAM),
    ));

    let a = call(
        &flexible,
        get_req(
            &format!("/whoami?access_token={t2}"),
            &[("authorization", &bearer(&t1))],
        ),
    )
    .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert_eq!(a.body["error"], "invalid_request");
    assert!(
        a.challenge
            .unwrap()
            .starts_with("Bearer error=\"invalid_request\"")
    );

    let a = call(
        &flexible,
        Request::post(format!("/whoami?access_token={t1}"))
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(format!("access_token={t2}")))
            .unwrap(),
    )
    .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);

    // The same token in two places is only redundant.
    let a = call(
        &flexible,
        get_req(
            &format!("/whoami?access_token={t1}"),
            &[("authorization", &bearer(&t1))],
        ),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK);
}

#[tokio::test]
async fn a_rotated_in_key_is_learned_with_exactly_one_refetch() {
    let old = Signer::es256("old");
    let server = TestAs::start(&[&old]).await;
    let g = guard(&server, Policy::bearer());
    g.warm_up().await.unwrap();
    assert_eq!(server.state.jwks_fetches(), 1);
    let t = old.sign(&claims(&server.issuer, "u1", "a"));
    for _ in 0..10 {
        auth(&g, &[("authorization", &bearer(&t))]).await.unwrap();
    }
    assert_eq!(
        server.state.jwks_fetches(),
        1,
        "known keys are not refetched"
    );

    let new = Signer::es256("new");
    server.state.publish(&new);
    let t = new.sign(&claims(&server.issuer, "u1", "a"));
    for _ in 0..10 {
        auth(&g, &[("authorization", &bearer(&t))]).await.unwrap();
    }
    assert_eq!(server.state.jwks_fetches(), 2);
    assert_eq!(server.state.metadata_fetches.load(Ordering::SeqCst), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_kid_storm_refetches_at_most_once_per_interval() {
    let key = Signer::es256("real");
    let server = TestAs::start(&[&key]).await;
    let mut c = config(&server);
    c.jwks_refetch_interval = Duration::from_millis(1000);
    let g = Guard::new(c).unwrap();
    // Signed up front, so that signing time does not eat into the interval.
    let mut batches: Vec<Vec<String>> = (0..3)
        .map(|_| {
            (0..200)
                .map(|_| {
                    let mut h = key.header();
                    h.kid = Some(rand_suffix());
                    key.sign_with(&h, &claims(&server.issuer, "u1", "a"))
                })
                .collect()
        })
        .collect();
    g.warm_up().await.unwrap();
    assert_eq!(server.state.jwks_fetches(), 1);

    let storm = |g: Guard, tokens: Vec<String>| async move {
        let tasks: Vec<_> = tokens
            .into_iter()
            .map(|t| {
                let g = g.clone();
                tokio::spawn(async move { g.verify_access_token(&t).await })
            })
            .collect();
        for task in tasks {
            expect_invalid_token(
                task.await.unwrap(),
                "the access token is signed by an unknown key",
            );
        }
    };

    // The first storm: one refetch (the warm-up load does not count, so a
    // key rotated in right after startup is still learned at once).
    storm(g.clone(), batches.pop().unwrap()).await;
    assert_eq!(server.state.jwks_fetches(), 2);
    // Each later interval: exactly one more, however many garbage kids.
    for expected in [3, 4] {
        tokio::time::sleep(Duration::from_millis(1100)).await;
        storm(g.clone(), batches.pop().unwrap()).await;
        assert_eq!(server.state.jwks_fetches(), expected);
    }
    // Real tokens were never disturbed.
    let t = key.sign(&claims(&server.issuer, "u1", "a"));
    assert!(g.verify_access_token(&t).await.is_ok());
}

#[tokio::test]
async fn a_stale_key_set_is_refreshed_and_withdrawn_keys_stop_verifying() {
    let key = Signer::es256("k1");
    let server = TestAs::start(&[&key]).await;
    let mut c = config(&server);
    c.jwks_max_age = Duration::from_millis(200);
    c.jwks_refetch_interval = Duration::from_millis(100);
    let g = Guard::new(c).unwrap();
    let t = key.sign(&claims(&server.issuer, "u1", "a"));
    assert!(g.verify_access_token(&t).await.is_ok());
    server.state.withdraw("k1");
    tokio::time::sleep(Duration::from_millis(300)).await;
    expect_invalid_token(
        g.verify_access_token(&t).await,
        "the access token is signed by an unknown key",
    );
}

#[tokio::test]
async fn remembered_tokens_still_expire() {
    let key = Signer::es256("k1");
    let server = TestAs::start(&[&key]).await;
    let mut c = config(&server);
    c.leeway = Duration::ZERO;
    let g = Guard::new(c).unwrap();
    let mut short = claims(&server.issuer, "u1", "a");
    short["exp"] = json!(now() + 1);
    let t = key.sign(&short);
    // Verified, then served from memory...
    assert!(g.verify_access_token(&t).await.is_ok());
    assert!(g.verify_access_token(&t).await.is_ok());
    // ...but not past its expiry.
    tokio::time::sleep(Duration::from_millis(2100)).await;
    expect_invalid_token(
        g.verify_access_token(&t).await,
        "the access token has expired",
    );
}

#[tokio::test]
async fn known_keys_keep_working_through_a_jwks_outage() {
    let key = Signer::es256("k1");
    let server = TestAs::start(&[&key]).await;
    let mut c = config(&server);
    c.jwks_max_age = Duration::from_millis(100);
    c.jwks_refetch_interval = Duration::from_millis(50);
    let g = Guard::new(c).unwrap();
    g.warm_up().await.unwrap();
    server.state.jwks_failure.store(500, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(150)).await;
    let t = key.sign(&claims(&server.issuer, "u1", "a"));
    assert!(g.verify_access_token(&t).await.is_ok());
    // A key we never saw might be genuine: 503, not a 401 that makes the
    // client throw its token away.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let fresh = Signer::es256("k2");
    let t2 = fresh.sign(&claims(&server.issuer, "u1", "a"));
    assert_eq!(
        g.verify_access_token(&t2).await,
        Err(GuardError::Unavailable)
    );
}

#[tokio::test]
async fn an_unreachable_server_is_503_not_a_panic() {
    // A port that was just free: nothing listens there.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let issuer = format!("http://127.0.0.1:{port}");
    let g = Guard::new(
        GuardConfig::new(&issuer, AUD)
            .with_client_credentials(ClientId::new(RS_ID), Secret::new(RS_SECRET))
            .with_policy(Policy::bearer().with_api_key(X_API_KEY)),
    )
    .unwrap();
    let key = Signer::es256("k1");
    let t = key.sign(&claims(&issuer, "u1", "a"));
    let a = call(
        &app(&g),
        get_req("/whoami", &[("authorization", &bearer(&t))]),
    )
    .await;
    assert_eq!(a.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(a.body["error"], "temporarily_unavailable");
    assert_eq!(
        auth(&g, &[("x-api-key", "pcs_whatever")]).await,
        Err(GuardError::Unavailable)
    );
    assert!(g.warm_up().await.is_err());
}

#[tokio::test]
async fn metadata_for_another_issuer_is_not_trusted() {
    let key = Signer::es256("k1");
    let server = TestAs::start(&[&key]).await;
    *server.state.claimed_issuer.lock().unwrap() = Some("https://elsewhere.example".into());
    let g = guard(&server, Policy::bearer());
    let t = key.sign(&claims(&server.issuer, "u1", "a"));
    assert_eq!(
        g.verify_access_token(&t).await,
        Err(GuardError::Unavailable)
    );
    assert_eq!(server.state.jwks_fetches(), 0);
}

#[tokio::test]
async fn api_keys_are_introspected_and_cached_both_ways() {
    let server = TestAs::start(&[]).await;
    server
        .state
        .add_api_key("pcs_good", "billing-service", "orders:read");
    let mut c = config(&server).with_policy(Policy::api_key(X_API_KEY));
    c.api_key_ttl = Duration::from_millis(300);
    c.api_key_negative_ttl = Duration::from_millis(200);
    let g = Guard::new(c).unwrap();

    let p = auth(&g, &[("x-api-key", "pcs_good")]).await.unwrap();
    assert_eq!(p.kind, PrincipalKind::ApiKey);
    assert_eq!(p.subject, "billing-service");
    assert_eq!(p.client_id, None);
    assert!(p.has_scope("orders:read"));
    auth(&g, &[("x-api-key", "pcs_good")]).await.unwrap();
    assert_eq!(
        server.state.introspections(),
        1,
        "positive answers are cached"
    );

    // Revocation is felt once the positive entry lapses.
    server.state.revoke_api_key("pcs_good");
    assert!(auth(&g, &[("x-api-key", "pcs_good")]).await.is_ok());
    tokio::time::sleep(Duration::from_millis(350)).await;
    expect_invalid_token(
        auth(&g, &[("x-api-key", "pcs_good")]).await,
        "the API key is unknown, expired or revoked",
    );
    assert_eq!(server.state.introspections(), 2);

    // Negative answers are cached too, for their own (shorter) time.
    for _ in 0..5 {
        assert!(auth(&g, &[("x-api-key", "pcs_bad")]).await.is_err());
    }
    assert_eq!(server.state.introspections(), 3);
    tokio::time::sleep(Duration::from_millis(250)).await;
    assert!(auth(&g, &[("x-api-key", "pcs_bad")]).await.is_err());
    assert_eq!(server.state.introspections(), 4);

    // Only API keys: an access token pasted into the key header is refused.
    server.state.api_keys.lock().unwrap().insert(
        "eyJ.access.token".into(),
        json!({"active": true, "token_type": "Bearer", "sub": "u1", "client_id": "web-app"}),
    );
    expect_invalid_token(
        auth(&g, &[("x-api-key", "eyJ.access.token")]).await,
        "the credential is not an API key",
    );
    // An Authorization header is not read by a key-only policy.
    assert!(matches!(
        auth(&g, &[("authorization", "Bearer pcs_good")]).await,
        Err(GuardError::MissingCredential { .. })
    ));
}

#[tokio::test]
async fn introspection_trouble_is_503_and_not_cached() {
    let server = TestAs::start(&[]).await;
    server.state.add_api_key("pcs_good", "svc", "");
    let g = guard(&server, Policy::api_key(X_API_KEY));
    server
        .state
        .introspection_failure
        .store(500, Ordering::SeqCst);
    assert_eq!(
        auth(&g, &[("x-api-key", "pcs_good")]).await,
        Err(GuardError::Unavailable)
    );
    server
        .state
        .introspection_failure
        .store(0, Ordering::SeqCst);
    assert!(auth(&g, &[("x-api-key", "pcs_good")]).await.is_ok());

    // Our own client credentials being wrong is not the caller's 401.
    let wrong = Guard::new(
        GuardConfig::new(&server.issuer, AUD)
            .with_client_credentials(ClientId::new(RS_ID), Secret::new("nope"))
            .with_policy(Policy::api_key(X_API_KEY)),
    )
    .unwrap();
    assert_eq!(
        auth(&wrong, &[("x-api-key", "pcs_good")]).await,
        Err(GuardError::Unavailable)
    );
    // And no client at all is a configuration error: 500.
    let none =
        Guard::new(GuardConfig::new(&server.issuer, AUD).with_policy(Policy::api_key(X_API_KEY)))
            .unwrap();
    assert_eq!(
        auth(&none, &[("x-api-key", "pcs_good")]).await,
        Err(GuardError::Misconfigured)
    );
}

#[tokio::test]
async fn the_api_key_header_name_is_configurable() {
    let server = TestAs::start(&[]).await;
    server.state.add_api_key("pcs_good", "svc", "");
    let g = guard(
        &server,
        Policy::api_key(HeaderName::from_static("x-api-token")),
    );
    assert!(auth(&g, &[("x-api-token", "pcs_good")]).await.is_ok());
    assert!(matches!(
        auth(&g, &[("x-api-key", "pcs_good")]).await,
        Err(GuardError::MissingCredential { .. })
    ));
}

#[tokio::test]
async fn the_paired_policy_needs_a_valid_token_and_a_valid_key() {
    let key = Signer::es256("k1");
    let server = TestAs::start(&[&key]).await;
    server.state.add_api_key("pcs_partner", "partner-app", "");
    let g = guard(
        &server,
        Policy::token_and_api_key(X_ACCESS_TOKEN, X_API_KEY),
    );
    let t = key.sign(&claims(&server.issuer, "u1", "orders:read"));

    let p = auth(&g, &[("x-access-token", &t), ("x-api-key", "pcs_partner")])
        .await
        .unwrap();
    assert_eq!(p.subject, "u1");
    assert_eq!(p.kind, PrincipalKind::User);
    assert_eq!(p.api_key_owner.as_deref(), Some("partner-app"));

    let hint = "send an access token in the `x-access-token` header and an API key in the `x-api-key` header";
    expect_invalid_token(auth(&g, &[("x-access-token", &t)]).await, hint);
    expect_invalid_token(auth(&g, &[("x-api-key", "pcs_partner")]).await, hint);
    // Bearer is not one of this policy's places.
    expect_invalid_token(
        auth(
            &g,
            &[("authorization", &bearer(&t)), ("x-api-key", "pcs_partner")],
        )
        .await,
        hint,
    );
    expect_invalid_token(
        auth(&g, &[("x-access-token", &t), ("x-api-key", "pcs_nope")]).await,
        "the API key is unknown, expired or revoked",
    );
    // A bad token is refused before the key costs a round trip.
    let before = server.state.introspections();
    assert!(
        auth(
            &g,
            &[("x-access-token", "garbage"), ("x-api-key", "pcs_other")]
        )
        .await
        .is_err()
    );
    assert_eq!(server.state.introspections(), before);
}

#[tokio::test]
async fn insufficient_scope_is_403_naming_the_scope() {
    let key = Signer::es256("k1");
    let server = TestAs::start(&[&key]).await;
    let router = app(&guard(&server, Policy::bearer()));
    let weak = key.sign(&claims(&server.issuer, "u1", "profile"));
    let a = call(
        &router,
        get_req("/orders", &[("authorization", &bearer(&weak))]),
    )
    .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    assert_eq!(
        a.challenge.as_deref(),
        Some(
            "Bearer error=\"insufficient_scope\", error_description=\"this request requires the scope `orders:read`\", scope=\"orders:read\""
        )
    );
    assert_eq!(a.body["error"], "insufficient_scope");

    let strong = key.sign(&claims(&server.issuer, "u1", "orders:read"));
    let a = call(
        &router,
        get_req("/orders", &[("authorization", &bearer(&strong))]),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK);
}

#[tokio::test]
async fn resource_permissions_are_checked_per_resource() {
    let key = Signer::es256("k1");
    let server = TestAs::start(&[&key]).await;
    let router = app(&guard(&server, Policy::bearer()));
    let t = key.sign(&claims(
        &server.issuer,
        "u1",
        "ADDON_USER_APPROVED__AZTH74V2",
    ));
    let auth_header = bearer(&t);
    let a = call(
        &router,
        get_req("/addon/AZTH74V2", &[("authorization", &auth_header)]),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK);
    let a = call(
        &router,
        get_req("/addon/OTHER1", &[("authorization", &auth_header)]),
    )
    .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    assert!(
        a.challenge
            .unwrap()
            .ends_with("scope=\"ADDON_USER_APPROVED__OTHER1\"")
    );
}

#[tokio::test]
async fn the_extractor_works_with_a_guard_extension_and_without_the_layer() {
    let key = Signer::es256("k1");
    let server = TestAs::start(&[&key]).await;
    async fn me(p: Principal) -> String {
        p.subject
    }
    let with_guard = Router::new()
        .route("/me", get(me))
        .layer(Extension(guard(&server, Policy::bearer())));
    let t = key.sign(&claims(&server.issuer, "u7", "a"));
    let a = call(
        &with_guard,
        get_req("/me", &[("authorization", &bearer(&t))]),
    )
    .await;
    assert_eq!((a.status, a.body), (StatusCode::OK, json!("u7")));
    let a = call(&with_guard, get_req("/me", &[])).await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);

    // Forgetting both is a server bug, not the client's: 500.
    let bare = Router::new().route("/me", get(me));
    let a = call(&bare, get_req("/me", &[("authorization", &bearer(&t))])).await;
    assert_eq!(a.status, StatusCode::INTERNAL_SERVER_ERROR);
}

#[tokio::test]
async fn secrets_never_show_in_debug() {
    let server = TestAs::start(&[]).await;
    let c = config(&server);
    assert!(!format!("{c:?}").contains(RS_SECRET));
    let g = Guard::new(c).unwrap();
    assert!(!format!("{g:?}").contains(RS_SECRET));
    let e = auth(&g, &[("authorization", "Bearer sensitive-token-value")])
        .await
        .unwrap_err();
    assert!(!format!("{e:?} {e}").contains("sensitive-token-value"));
}

//! The OpenID Foundation conformance suite's Basic OP and Config OP test
//! plans (`oidcc-basic-certification-test-plan`,
//! `oidcc-config-certification-test-plan`), module by module, plus the
//! RP-Initiated and Back-Channel Logout modules. Each test is named after
//! the suite's module and asserts what that module asserts; the suite's
//! client is a confidential client authenticating with
//! `client_secret_basic`, as here. `docs/openid-conformance.md` lists them.
//!
//! ID tokens are verified with `jsonwebtoken` against the published JWKS,
//! not with the code that signs them.

use std::collections::HashMap;
use std::time::Duration;

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{DecodingKey, Validation};
use portcullis_core::client_oidc::OidcSettings;
use portcullis_core::profile::{Address, UserProfile};
use portcullis_protocol::{GrantType, RedirectUri};
use serde_json::{Value, json};
use tokio::sync::mpsc;

use crate::support::{Browser, TestClient, TestServer, hidden, location, params_of};

pub const CB: &str = "https://rp.example/callback";
pub const LOGGED_OUT: &str = "https://rp.example/logged-out";
const PASSWORD: &str = "correct horse battery";

/// An OP with alice, her full profile and the suite's client.
pub struct Op {
    pub s: TestServer,
    pub c: TestClient,
}

pub async fn op() -> Op {
    op_with(|_| {}, |_| {}).await
}

pub async fn op_with(
    tune_server: impl FnOnce(&mut portcullis::FileConfig),
    tune_client: impl FnOnce(&mut OidcSettings),
) -> Op {
    let s = TestServer::start_with(tune_server).await;
    let alice = s
        .server()
        .operator()
        .create_user("alice", PASSWORD, false)
        .await
        .unwrap();
    s.server()
        .operator()
        .set_user_profile(&alice.id, alice_profile())
        .await
        .unwrap();
    let c = rp_client(&s, tune_client).await;
    Op { s, c }
}

pub async fn rp_client(s: &TestServer, tune: impl FnOnce(&mut OidcSettings)) -> TestClient {
    let mut settings = OidcSettings {
        post_logout_redirect_uris: vec![LOGGED_OUT.into()],
        ..Default::default()
    };
    tune(&mut settings);
    let oidc = settings.parse().expect("valid OIDC settings");
    // The OIDC scopes are built in: the client needs none of its own.
    s.client_with("read", |spec| {
        spec.name = "Conformance RP".into();
        spec.grant_types = vec![GrantType::AuthorizationCode, GrantType::RefreshToken];
        spec.redirect_uris = vec![RedirectUri::parse(CB).unwrap()];
        // The suite's Basic OP client is confidential and sends no PKCE.
        spec.require_pkce = false;
        spec.oidc = oidc;
    })
    .await
}

fn alice_profile() -> UserProfile {
    UserProfile {
        name: Some("Alice Liddell".into()),
        given_name: Some("Alice".into()),
        family_name: Some("Liddell".into()),
        nickname: Some("al".into()),
        email: Some("alice@example.org".into()),
        email_verified: true,
        locale: Some("en-GB".into()),
        zoneinfo: Some("Europe/London".into()),
        phone_number: Some("+441632960000".into()),
        phone_number_verified: false,
        address: Some(Address {
            street_address: Some("1 Rabbit Hole".into()),
            locality: Some("Oxford".into()),
            postal_code: Some("OX1 1AA".into()),
            country: Some("GB".into()),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

pub fn authorize_path(c: &TestClient, scope: &str, extra: &str) -> String {
    format!(
        "/oauth/authorize?response_type=code&client_id={}&redirect_uri={}&scope={}&state=xyz{extra}",
        c.id,
        enc(CB),
        enc(scope),
    )
}

/// What the browser saw on the way back to the client.
pub struct Walk {
    pub login_page: bool,
    pub consent_page: Option<String>,
    pub back: HashMap<String, String>,
}

/// Sends `b` to the authorization endpoint; logs in as alice and
/// approves whenever asked.
pub async fn walk(s: &TestServer, b: &Browser, path: &str) -> Walk {
    let mut res = b.go(path).await;
    let mut login_page = false;
    let mut consent_page = None;
    if res.url().path() == "/login" {
        login_page = true;
        res = b.login(res, "alice", PASSWORD).await;
    }
    let back = if res.status().is_redirection() {
        location(&res)
    } else {
        assert_eq!(res.url().path(), "/consent", "status {}", res.status());
        let html = res.text().await.unwrap();
        let request = hidden(&html, "request");
        let r = b
            .submit(
                &html,
                "/consent",
                &[("request", &request), ("decision", "approve")],
            )
            .await;
        assert_eq!(r.status(), 303);
        consent_page = Some(html);
        location(&r)
    };
    assert!(back.starts_with(CB), "back to the client: {back}");
    let back = params_of(&back);
    if back.contains_key("code") || back.contains_key("error") {
        assert_eq!(back["iss"], s.issuer(), "RFC 9207 iss");
    }
    Walk {
        login_page,
        consent_page,
        back,
    }
}

pub async fn exchange(op: &Op, code: &str) -> (u16, Value) {
    let res =
        op.s.post_form(
            "/oauth/token",
            &op.c,
            &[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", CB),
            ],
        )
        .await;
    let status = res.status().as_u16();
    (status, res.json().await.unwrap())
}

/// A whole sign-in: the token response, checked as `oidcc-server` checks it.
pub async fn sign_in(op: &Op, b: &Browser, scope: &str, extra: &str) -> Value {
    let w = walk(&op.s, b, &authorize_path(&op.c, scope, extra)).await;
    assert_eq!(w.back["state"], "xyz");
    let (status, tokens) = exchange(op, &w.back["code"]).await;
    assert_eq!(status, 200, "{tokens}");
    assert_eq!(tokens["token_type"], "Bearer");
    assert!(tokens["id_token"].is_string(), "{tokens}");
    tokens
}

pub async fn jwks(s: &TestServer) -> JwkSet {
    serde_json::from_value(s.get_json("/jwks.json").await).unwrap()
}

/// Verifies a JWT of type `typ` signed by the OP for `aud`: signature
/// with the published key its `kid` names, `alg` the key's own, issuer,
/// audience and (unless `expired_ok`) expiry. Returns header and claims.
pub async fn verify_jwt(
    s: &TestServer,
    token: &str,
    typ: Option<&str>,
    aud: &str,
) -> (jsonwebtoken::Header, Value) {
    let header = jsonwebtoken::decode_header(token).unwrap();
    assert_eq!(header.typ.as_deref(), typ, "typ");
    let set = jwks(s).await;
    let jwk = set
        .find(header.kid.as_deref().expect("a kid"))
        .expect("the kid is published");
    let mut v = Validation::new(header.alg);
    v.set_issuer(&[s.issuer()]);
    v.set_audience(&[aud]);
    v.set_required_spec_claims(&["iss", "aud", "exp", "sub"]);
    v.leeway = 0;
    let data = jsonwebtoken::decode::<Value>(token, &DecodingKey::from_jwk(jwk).unwrap(), &v)
        .expect("signature, iss, aud and exp verify");
    (data.header, data.claims)
}

/// An ID token checked as OIDC Core §3.1.3.7 asks; returns its claims.
pub async fn id_token_claims(op: &Op, tokens: &Value, nonce: Option<&str>) -> Value {
    let id_token = tokens["id_token"].as_str().expect("an ID token");
    let (header, claims) = verify_jwt(&op.s, id_token, Some("JWT"), op.c.id.as_str()).await;
    assert!(claims["iat"].as_i64().unwrap() <= now() + 1);
    assert!(claims["exp"].as_i64().unwrap() > now());
    assert!(
        claims["sub"]
            .as_str()
            .is_some_and(|s| !s.is_empty() && s.len() <= 255)
    );
    assert_eq!(claims["azp"], op.c.id.as_str());
    assert!(claims["auth_time"].as_i64().unwrap() <= now() + 1);
    match nonce {
        Some(n) => assert_eq!(claims["nonce"], n),
        None => assert!(claims.get("nonce").is_none()),
    }
    if let Some(at) = tokens["access_token"].as_str() {
        assert_eq!(
            claims["at_hash"],
            at_hash(header.alg, at),
            "at_hash is the left half of the access token's hash"
        );
    }
    claims
}

fn at_hash(alg: jsonwebtoken::Algorithm, token: &str) -> String {
    use base64::Engine as _;
    use sha2::Digest as _;
    let digest: Vec<u8> = match alg {
        jsonwebtoken::Algorithm::RS256 | jsonwebtoken::Algorithm::ES256 => {
            sha2::Sha256::digest(token.as_bytes()).to_vec()
        }
        jsonwebtoken::Algorithm::EdDSA => sha2::Sha512::digest(token.as_bytes()).to_vec(),
        other => panic!("unexpected ID token alg {other:?}"),
    };
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&digest[..digest.len() / 2])
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

pub async fn userinfo_get(s: &TestServer, token: &str) -> reqwest::Response {
    s.http
        .get(s.url("/oauth/userinfo"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
}

async fn userinfo_ok(s: &TestServer, token: &str) -> Value {
    let res = userinfo_get(s, token).await;
    assert_eq!(res.status(), 200);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    res.json().await.unwrap()
}

fn keys_of(v: &Value) -> Vec<&str> {
    let mut k: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    k.sort_unstable();
    k
}

// Config OP plan.

#[tokio::test]
async fn oidcc_discovery_endpoint_verification() {
    let op = op().await;
    let s = &op.s;
    let res = s
        .http
        .get(s.url("/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    let d: Value = res.json().await.unwrap();
    // CheckDiscEndpointIssuer, CheckDiscEndpoint*: the required fields.
    assert_eq!(d["issuer"], s.issuer());
    for field in [
        "authorization_endpoint",
        "token_endpoint",
        "userinfo_endpoint",
        "jwks_uri",
        "end_session_endpoint",
    ] {
        let url = d[field].as_str().unwrap_or_else(|| panic!("{field}"));
        assert!(url.starts_with(s.issuer()), "{field}: {url}");
    }
    let has = |field: &str, value: &str| {
        d[field]
            .as_array()
            .unwrap_or_else(|| panic!("{field} is an array"))
            .iter()
            .any(|v| v == value)
    };
    assert!(has("response_types_supported", "code"));
    assert!(has("subject_types_supported", "public"));
    assert!(has("subject_types_supported", "pairwise"));
    assert!(has("id_token_signing_alg_values_supported", "RS256"));
    assert!(!has("id_token_signing_alg_values_supported", "none"));
    assert!(has("scopes_supported", "openid"));
    assert!(has("claims_supported", "sub"));
    assert!(has("claims_supported", "email"));
    assert!(has("grant_types_supported", "authorization_code"));
    assert!(has(
        "token_endpoint_auth_methods_supported",
        "client_secret_basic"
    ));
    assert_eq!(d["claims_parameter_supported"], false);
    assert_eq!(d["request_parameter_supported"], false);
    assert_eq!(d["request_uri_parameter_supported"], false);
    assert_eq!(d["backchannel_logout_supported"], true);
    assert_eq!(d["backchannel_logout_session_supported"], true);
    // One source: the RFC 8414 document says the same.
    let oauth: Value = s.get_json("/.well-known/oauth-authorization-server").await;
    assert_eq!(oauth, d);
    // CheckJwksUri: the keys are usable signing keys, RS256 among them.
    let set = jwks(s).await;
    assert!(!set.keys.is_empty());
    assert!(set.keys.iter().all(|k| k.common.key_id.is_some()));
    assert!(
        set.keys
            .iter()
            .any(|k| matches!(k.algorithm, jsonwebtoken::jwk::AlgorithmParameters::RSA(_)))
    );
    let jwks_json: Value = s.get_json(d["jwks_uri"].as_str().unwrap()).await;
    for k in jwks_json["keys"].as_array().unwrap() {
        assert!(
            k.get("d").is_none() && k.get("p").is_none(),
            "no private parts"
        );
    }
}

#[tokio::test]
async fn oidcc_idtoken_rs256() {
    let op = op_with(
        |_| {},
        |o| o.id_token_signed_response_alg = Some("RS256".into()),
    )
    .await;
    let b = Browser::new(&op.s);
    let tokens = sign_in(&op, &b, "openid", "").await;
    let header = jsonwebtoken::decode_header(tokens["id_token"].as_str().unwrap()).unwrap();
    assert_eq!(header.alg, jsonwebtoken::Algorithm::RS256);
    id_token_claims(&op, &tokens, None).await;
}

#[tokio::test]
async fn oidcc_idtoken_es256_when_the_client_asks_for_it() {
    let op = op_with(
        |_| {},
        |o| o.id_token_signed_response_alg = Some("ES256".into()),
    )
    .await;
    let b = Browser::new(&op.s);
    let tokens = sign_in(&op, &b, "openid", "").await;
    let header = jsonwebtoken::decode_header(tokens["id_token"].as_str().unwrap()).unwrap();
    assert_eq!(header.alg, jsonwebtoken::Algorithm::ES256);
    id_token_claims(&op, &tokens, None).await;
}

// Basic OP plan.

#[tokio::test]
async fn oidcc_server() {
    let op = op().await;
    let b = Browser::new(&op.s);
    let tokens = sign_in(&op, &b, "openid", "&nonce=n-0S6_WzA2Mj").await;
    let claims = id_token_claims(&op, &tokens, Some("n-0S6_WzA2Mj")).await;
    assert_eq!(claims["amr"], json!(["pwd"]));
    assert!(claims["sid"].as_str().is_some_and(|s| !s.is_empty()));
    assert!(claims.get("email").is_none(), "claims come by scope");
    // The userinfo sub is the ID token's (OIDC Core §5.3.2).
    let info = userinfo_ok(&op.s, tokens["access_token"].as_str().unwrap()).await;
    assert_eq!(info["sub"], claims["sub"]);
    assert_eq!(keys_of(&info), ["sub"], "only sub for scope openid");
}

#[tokio::test]
async fn oidcc_server_client_secret_post() {
    let op = op().await;
    let b = Browser::new(&op.s);
    let w = walk(&op.s, &b, &authorize_path(&op.c, "openid", "&nonce=abc")).await;
    let res =
        op.s.http
            .post(op.s.url("/oauth/token"))
            .form(&[
                ("grant_type", "authorization_code"),
                ("code", w.back["code"].as_str()),
                ("redirect_uri", CB),
                ("client_id", op.c.id.as_str()),
                ("client_secret", op.c.secret.expose()),
            ])
            .send()
            .await
            .unwrap();
    assert_eq!(res.status(), 200);
    let tokens: Value = res.json().await.unwrap();
    id_token_claims(&op, &tokens, Some("abc")).await;
}

#[tokio::test]
async fn oidcc_response_type_missing() {
    let op = op().await;
    let b = Browser::new(&op.s);
    let path = format!(
        "/oauth/authorize?client_id={}&redirect_uri={}&scope=openid&state=xyz",
        op.c.id,
        enc(CB)
    );
    let res = b.get(&path).await;
    // The suite accepts an error page or an error redirect to the client.
    if res.status().is_redirection() {
        let p = params_of(&location(&res));
        assert!(location(&res).starts_with(CB));
        assert!(
            p["error"] == "invalid_request" || p["error"] == "unsupported_response_type",
            "{p:?}"
        );
        assert_eq!(p["state"], "xyz");
    } else {
        assert_eq!(res.status(), 400);
    }
}

#[tokio::test]
async fn oidcc_userinfo_get() {
    let op = op().await;
    let b = Browser::new(&op.s);
    let tokens = sign_in(&op, &b, "openid email", "").await;
    let info = userinfo_ok(&op.s, tokens["access_token"].as_str().unwrap()).await;
    assert_eq!(info["email"], "alice@example.org");
    let claims = id_token_claims(&op, &tokens, None).await;
    assert_eq!(info["sub"], claims["sub"]);
}

#[tokio::test]
async fn oidcc_userinfo_post_header() {
    let op = op().await;
    let b = Browser::new(&op.s);
    let tokens = sign_in(&op, &b, "openid email", "").await;
    let res =
        op.s.http
            .post(op.s.url("/oauth/userinfo"))
            .bearer_auth(tokens["access_token"].as_str().unwrap())
            .send()
            .await
            .unwrap();
    assert_eq!(res.status(), 200);
    let info: Value = res.json().await.unwrap();
    assert_eq!(info["email"], "alice@example.org");
}

#[tokio::test]
async fn oidcc_userinfo_post_body() {
    let op = op().await;
    let b = Browser::new(&op.s);
    let tokens = sign_in(&op, &b, "openid email", "").await;
    let res =
        op.s.http
            .post(op.s.url("/oauth/userinfo"))
            .form(&[("access_token", tokens["access_token"].as_str().unwrap())])
            .send()
            .await
            .unwrap();
    assert_eq!(res.status(), 200);
    let info: Value = res.json().await.unwrap();
    assert_eq!(info["email"], "alice@example.org");
}

#[tokio::test]
async fn oidcc_userinfo_refuses_a_bad_token_with_www_authenticate() {
    let op = op().await;
    let res = userinfo_get(&op.s, "not-a-token").await;
    assert_eq!(res.status(), 401);
    let challenge = res.headers()["www-authenticate"].to_str().unwrap();
    assert!(challenge.starts_with("Bearer"), "{challenge}");
    assert!(challenge.contains("error=\"invalid_token\""), "{challenge}");
    // A client-credentials token names no user: no userinfo for it.
    let cc = op.s.client("read").await;
    let token = op.s.token(&cc, None).await;
    assert_eq!(userinfo_get(&op.s, &token).await.status(), 401);
}

#[tokio::test]
async fn oidcc_ensure_request_without_nonce_succeeds_for_code_flow() {
    let op = op().await;
    let b = Browser::new(&op.s);
    let tokens = sign_in(&op, &b, "openid", "").await;
    id_token_claims(&op, &tokens, None).await;
}

async fn scope_test(scope: &str, expected: &[&str]) -> Value {
    let op = op().await;
    let b = Browser::new(&op.s);
    let tokens = sign_in(&op, &b, scope, "").await;
    let w_consent = tokens.clone();
    let info = userinfo_ok(&op.s, w_consent["access_token"].as_str().unwrap()).await;
    for claim in expected {
        assert!(
            info.get(*claim).is_some(),
            "{claim} released for {scope}: {info}"
        );
    }
    assert_eq!(
        tokens["scope"].as_str().unwrap().split(' ').count(),
        scope.split(' ').count()
    );
    info
}

#[tokio::test]
async fn oidcc_scope_profile() {
    let info = scope_test(
        "openid profile",
        &[
            "sub",
            "name",
            "given_name",
            "family_name",
            "nickname",
            "preferred_username",
            "locale",
            "zoneinfo",
            "updated_at",
        ],
    )
    .await;
    assert_eq!(info["name"], "Alice Liddell");
    assert_eq!(info["preferred_username"], "alice");
    assert!(info.get("email").is_none() && info.get("address").is_none());
}

#[tokio::test]
async fn oidcc_scope_email() {
    let info = scope_test("openid email", &["email", "email_verified"]).await;
    assert_eq!(info["email_verified"], true);
    assert_eq!(keys_of(&info), ["email", "email_verified", "sub"]);
}

#[tokio::test]
async fn oidcc_scope_address() {
    let info = scope_test("openid address", &["address"]).await;
    assert_eq!(info["address"]["locality"], "Oxford");
    assert_eq!(keys_of(&info), ["address", "sub"]);
}

#[tokio::test]
async fn oidcc_scope_phone() {
    let info = scope_test("openid phone", &["phone_number", "phone_number_verified"]).await;
    assert_eq!(info["phone_number"], "+441632960000");
    assert_eq!(info["phone_number_verified"], false);
}

#[tokio::test]
async fn oidcc_scope_all() {
    scope_test(
        "openid profile email address phone",
        &["name", "email", "address", "phone_number"],
    )
    .await;
}

#[tokio::test]
async fn oidcc_ensure_other_scope_order_succeeds() {
    let op = op().await;
    let b = Browser::new(&op.s);
    let tokens = sign_in(&op, &b, "email openid", "").await;
    id_token_claims(&op, &tokens, None).await;
    let info = userinfo_ok(&op.s, tokens["access_token"].as_str().unwrap()).await;
    assert_eq!(info["email"], "alice@example.org");
}

#[tokio::test]
async fn oidcc_display_page_and_popup() {
    let op = op().await;
    for display in ["page", "popup"] {
        let b = Browser::new(&op.s);
        let tokens = sign_in(&op, &b, "openid", &format!("&display={display}")).await;
        id_token_claims(&op, &tokens, None).await;
    }
}

#[tokio::test]
async fn oidcc_consent_page_shows_the_released_claims() {
    let op = op().await;
    let b = Browser::new(&op.s);
    let w = walk(
        &op.s,
        &b,
        &authorize_path(&op.c, "openid email profile", ""),
    )
    .await;
    let html = w.consent_page.expect("a consent page");
    assert!(html.contains("Conformance RP"));
    for claim in ["email address", "name"] {
        assert!(html.to_lowercase().contains(claim), "{claim} named: {html}");
    }
}

#[tokio::test]
async fn oidcc_prompt_login() {
    let op = op().await;
    let b = Browser::new(&op.s);
    let first = sign_in(&op, &b, "openid", "").await;
    let first = id_token_claims(&op, &first, None).await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let w = walk(&op.s, &b, &authorize_path(&op.c, "openid", "&prompt=login")).await;
    assert!(w.login_page, "prompt=login asks for the password again");
    let (_, tokens) = exchange(&op, &w.back["code"]).await;
    let second = id_token_claims(&op, &tokens, None).await;
    assert_eq!(second["sub"], first["sub"]);
    assert!(second["auth_time"].as_i64() > first["auth_time"].as_i64());
}

#[tokio::test]
async fn oidcc_prompt_select_account_is_a_login() {
    let op = op().await;
    let b = Browser::new(&op.s);
    sign_in(&op, &b, "openid", "").await;
    let w = walk(
        &op.s,
        &b,
        &authorize_path(&op.c, "openid", "&prompt=select_account"),
    )
    .await;
    assert!(w.login_page);
    assert!(w.back.contains_key("code"));
}

#[tokio::test]
async fn oidcc_prompt_none_not_logged_in() {
    let op = op().await;
    let b = Browser::new(&op.s);
    let res = b.go(&authorize_path(&op.c, "openid", "&prompt=none")).await;
    assert_eq!(res.status(), 303);
    let back = location(&res);
    assert!(back.starts_with(CB), "{back}");
    let p = params_of(&back);
    assert_eq!(p["error"], "login_required");
    assert_eq!(p["state"], "xyz");
    assert_eq!(p["iss"], op.s.issuer());
}

#[tokio::test]
async fn oidcc_prompt_none_logged_in() {
    let op = op().await;
    let b = Browser::new(&op.s);
    let first = sign_in(&op, &b, "openid", "").await;
    let first = id_token_claims(&op, &first, None).await;
    let res = b.go(&authorize_path(&op.c, "openid", "&prompt=none")).await;
    assert_eq!(res.status(), 303, "no page at all");
    let p = params_of(&location(&res));
    let (status, tokens) = exchange(&op, &p["code"]).await;
    assert_eq!(status, 200);
    let second = id_token_claims(&op, &tokens, None).await;
    assert_eq!(second["sub"], first["sub"]);
    assert_eq!(second["auth_time"], first["auth_time"]);
}

#[tokio::test]
async fn oidcc_prompt_none_without_consent_is_consent_required() {
    let op = op().await;
    let b = Browser::new(&op.s);
    sign_in(&op, &b, "openid", "").await;
    let res = b
        .go(&authorize_path(&op.c, "openid email", "&prompt=none"))
        .await;
    assert_eq!(res.status(), 303);
    let p = params_of(&location(&res));
    assert_eq!(p["error"], "consent_required");
    assert_eq!(p["state"], "xyz");
}

#[tokio::test]
async fn oidcc_max_age_1() {
    let op = op().await;
    let b = Browser::new(&op.s);
    let first = sign_in(&op, &b, "openid", "").await;
    let first = id_token_claims(&op, &first, None).await;
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let w = walk(&op.s, &b, &authorize_path(&op.c, "openid", "&max_age=1")).await;
    assert!(w.login_page, "a login older than max_age is done again");
    let (_, tokens) = exchange(&op, &w.back["code"]).await;
    let second = id_token_claims(&op, &tokens, None).await;
    assert!(second["auth_time"].as_i64() > first["auth_time"].as_i64());
    assert!(now() - second["auth_time"].as_i64().unwrap() <= 2);
}

#[tokio::test]
async fn oidcc_max_age_10000() {
    let op = op().await;
    let b = Browser::new(&op.s);
    let first = sign_in(&op, &b, "openid", "").await;
    let first = id_token_claims(&op, &first, None).await;
    let w = walk(
        &op.s,
        &b,
        &authorize_path(&op.c, "openid", "&max_age=10000"),
    )
    .await;
    assert!(!w.login_page, "a recent login stands");
    let (_, tokens) = exchange(&op, &w.back["code"]).await;
    let second = id_token_claims(&op, &tokens, None).await;
    assert_eq!(
        second["auth_time"], first["auth_time"],
        "auth_time is in the ID token"
    );
}

#[tokio::test]
async fn oidcc_ensure_request_with_unknown_parameter_succeeds() {
    let op = op().await;
    let b = Browser::new(&op.s);
    let tokens = sign_in(&op, &b, "openid", "&extra=foobar&frobnicate=1").await;
    id_token_claims(&op, &tokens, None).await;
}

#[tokio::test]
async fn oidcc_id_token_hint() {
    let op = op().await;
    let b = Browser::new(&op.s);
    let first = sign_in(&op, &b, "openid", "").await;
    let hint = first["id_token"].as_str().unwrap();
    let first = id_token_claims(&op, &first, None).await;
    let res = b
        .go(&authorize_path(
            &op.c,
            "openid",
            &format!("&prompt=none&id_token_hint={hint}"),
        ))
        .await;
    assert_eq!(res.status(), 303);
    let p = params_of(&location(&res));
    let (status, tokens) = exchange(&op, &p["code"]).await;
    assert_eq!(status, 200);
    let second = id_token_claims(&op, &tokens, None).await;
    assert_eq!(second["sub"], first["sub"]);
}

#[tokio::test]
async fn oidcc_login_hint() {
    let op = op().await;
    let b = Browser::new(&op.s);
    let page = b
        .go(&authorize_path(&op.c, "openid", "&login_hint=alice"))
        .await;
    assert_eq!(page.url().path(), "/login");
    let html = page.text().await.unwrap();
    assert!(
        html.contains("value=\"alice\""),
        "the username is prefilled"
    );
}

#[tokio::test]
async fn oidcc_ui_locales_claims_locales_and_acr_values_are_accepted() {
    let op = op().await;
    for extra in [
        "&ui_locales=se",
        "&claims_locales=se",
        "&acr_values=1%202",
        "&claims=%7B%22id_token%22%3A%7B%22email%22%3A%7B%22essential%22%3Atrue%7D%7D%7D",
    ] {
        let b = Browser::new(&op.s);
        let tokens = sign_in(&op, &b, "openid", extra).await;
        id_token_claims(&op, &tokens, None).await;
    }
}

async fn code_reuse(wait: Duration) {
    let op = op().await;
    let b = Browser::new(&op.s);
    let w = walk(&op.s, &b, &authorize_path(&op.c, "openid", "")).await;
    let code = &w.back["code"];
    let (status, tokens) = exchange(&op, code).await;
    assert_eq!(status, 200);
    let access = tokens["access_token"].as_str().unwrap();
    assert_eq!(userinfo_get(&op.s, access).await.status(), 200);
    tokio::time::sleep(wait).await;
    let (status, again) = exchange(&op, code).await;
    assert_eq!(status, 400);
    assert_eq!(again["error"], "invalid_grant");
    // RFC 6749 §4.1.2: the tokens issued for the code are revoked.
    assert_eq!(userinfo_get(&op.s, access).await.status(), 401);
}

#[tokio::test]
async fn oidcc_codereuse() {
    code_reuse(Duration::ZERO).await;
}

#[tokio::test]
async fn oidcc_codereuse_30seconds() {
    code_reuse(Duration::from_secs(30)).await;
}

#[tokio::test]
async fn oidcc_ensure_registered_redirect_uri() {
    let op = op().await;
    let b = Browser::new(&op.s);
    let path = format!(
        "/oauth/authorize?response_type=code&client_id={}&redirect_uri={}&scope=openid&state=xyz",
        op.c.id,
        enc("https://attacker.example/callback")
    );
    let res = b.get(&path).await;
    assert_eq!(res.status(), 400, "an error page, never a redirect");
    assert!(res.headers().get("location").is_none());
}

#[tokio::test]
async fn oidcc_ensure_post_request_succeeds() {
    // The authorization request as a form POST (OIDC Core §3.1.2.1).
    let op = op().await;
    let b = Browser::new(&op.s);
    // Signed in and consented once, so the POST answers at once.
    sign_in(&op, &b, "openid", "&nonce=first").await;
    let res = b
        .http
        .post(op.s.url("/oauth/authorize"))
        .form(&[
            ("response_type", "code"),
            ("client_id", op.c.id.as_str()),
            ("redirect_uri", CB),
            ("scope", "openid"),
            ("state", "posted"),
            ("nonce", "n-post"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    let back = params_of(&location(&res));
    assert_eq!(back["state"], "posted");
    let (status, tokens) = exchange(&op, &back["code"]).await;
    assert_eq!(status, 200, "{tokens}");
    id_token_claims(&op, &tokens, Some("n-post")).await;
}

#[tokio::test]
async fn oidcc_ensure_request_with_valid_pkce_succeeds() {
    let op = op().await;
    let (verifier, challenge) = crate::support::pkce_pair();
    let extra = format!("&nonce=pk&code_challenge={challenge}&code_challenge_method=S256");
    let b = Browser::new(&op.s);
    let w = walk(&op.s, &b, &authorize_path(&op.c, "openid", &extra)).await;
    let redeem = |code: String, v: String| {
        let op = &op;
        async move {
            op.s.post_form(
                "/oauth/token",
                &op.c,
                &[
                    ("grant_type", "authorization_code"),
                    ("code", &code),
                    ("redirect_uri", CB),
                    ("code_verifier", &v),
                ],
            )
            .await
        }
    };
    let res = redeem(w.back["code"].clone(), verifier).await;
    assert_eq!(res.status(), 200);
    let tokens: Value = res.json().await.unwrap();
    id_token_claims(&op, &tokens, Some("pk")).await;
    // A wrong verifier is invalid_grant (RFC 7636 §4.6).
    let w = walk(&op.s, &b, &authorize_path(&op.c, "openid", &extra)).await;
    let res = redeem(
        w.back["code"].clone(),
        "wrong-verifier-wrong-verifier-wrong-verifier-wrong".into(),
    )
    .await;
    assert_eq!(res.status(), 400);
    assert_eq!(res.json::<Value>().await.unwrap()["error"], "invalid_grant");
}

#[tokio::test]
async fn oidcc_claims_essential() {
    // The claims parameter is not supported (claims_parameter_supported is
    // false): the request still succeeds and claims come by scope, which
    // the module accepts with a warning.
    let op = op().await;
    let meta: Value = op.s.get_json("/.well-known/openid-configuration").await;
    assert_ne!(meta["claims_parameter_supported"], true);
    let claims = enc(r#"{"userinfo":{"name":{"essential":true}}}"#);
    let b = Browser::new(&op.s);
    let tokens = sign_in(&op, &b, "openid", &format!("&nonce=ce&claims={claims}")).await;
    let info = userinfo_ok(&op.s, tokens["access_token"].as_str().unwrap()).await;
    assert!(info["sub"].is_string());
}

#[tokio::test]
async fn oidcc_idtoken_unsigned() {
    // Skipped by the suite unless `none` is advertised; it never is, and no
    // client can choose it.
    let op = op().await;
    let meta: Value = op.s.get_json("/.well-known/openid-configuration").await;
    let algs = meta["id_token_signing_alg_values_supported"]
        .as_array()
        .unwrap();
    assert!(algs.iter().all(|a| a != "none"), "{algs:?}");
    let none = OidcSettings {
        id_token_signed_response_alg: Some("none".into()),
        ..Default::default()
    };
    assert!(none.parse().is_err());
}

#[tokio::test]
async fn oidcc_unsigned_request_object_supported_correctly_or_rejected_as_unsupported() {
    use base64::Engine as _;
    let op = op().await;
    let b64 = |v: &Value| {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(serde_json::to_vec(v).unwrap())
    };
    let object = format!(
        "{}.{}.",
        b64(&json!({"alg": "none"})),
        b64(&json!({
            "iss": op.c.id.as_str(), "aud": op.s.issuer(), "response_type": "code",
            "client_id": op.c.id.as_str(), "redirect_uri": CB, "scope": "openid", "state": "xyz",
        }))
    );
    let b = Browser::new(&op.s);
    let res = b
        .go(&authorize_path(
            &op.c,
            "openid",
            &format!("&request={object}"),
        ))
        .await;
    assert_eq!(res.status(), 303);
    let p = params_of(&location(&res));
    assert_eq!(p["error"], "request_not_supported");
    assert_eq!(p["state"], "xyz");
    let res = b
        .go(&authorize_path(
            &op.c,
            "openid",
            "&request_uri=https%3A%2F%2Frp.example%2Frequest.jwt",
        ))
        .await;
    assert_eq!(
        params_of(&location(&res))["error"],
        "request_uri_not_supported"
    );
}

#[tokio::test]
async fn oidcc_refresh_token() {
    let op = op().await;
    let b = Browser::new(&op.s);
    let tokens = sign_in(&op, &b, "openid email offline_access", "&prompt=consent").await;
    let first = id_token_claims(&op, &tokens, None).await;
    let refresh = tokens["refresh_token"]
        .as_str()
        .expect("offline_access gives a refresh token");
    let res =
        op.s.post_form(
            "/oauth/token",
            &op.c,
            &[("grant_type", "refresh_token"), ("refresh_token", refresh)],
        )
        .await;
    assert_eq!(res.status(), 200);
    let renewed: Value = res.json().await.unwrap();
    let second = id_token_claims(&op, &renewed, None).await;
    // OIDC Core §12.2: same iss, sub, aud; auth_time of the original login.
    assert_eq!(second["sub"], first["sub"]);
    assert_eq!(second["auth_time"], first["auth_time"]);
    assert!(
        renewed["refresh_token"]
            .as_str()
            .is_some_and(|r| r != refresh),
        "rotated"
    );
    // Another client cannot use it.
    let other = rp_client(&op.s, |_| {}).await;
    let res =
        op.s.post_form(
            "/oauth/token",
            &other,
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", renewed["refresh_token"].as_str().unwrap()),
            ],
        )
        .await;
    assert_eq!(res.status(), 400);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"], "invalid_grant");
}

// Pairwise subjects (OIDC Core §8.1).

#[tokio::test]
async fn pairwise_subjects_differ_per_sector_and_agree_with_userinfo() {
    let op = op_with(|_| {}, |o| o.subject_type = Some("pairwise".into())).await;
    let b = Browser::new(&op.s);
    let tokens = sign_in(&op, &b, "openid", "").await;
    let claims = id_token_claims(&op, &tokens, None).await;
    let alice = op.s.user_id("alice").await;
    assert_ne!(claims["sub"], alice.as_str(), "not the public subject");
    let info = userinfo_ok(&op.s, tokens["access_token"].as_str().unwrap()).await;
    assert_eq!(info["sub"], claims["sub"]);
    // Signing in again gives the same pairwise subject.
    let again = sign_in(&op, &b, "openid", "&prompt=login").await;
    assert_eq!(
        id_token_claims(&op, &again, None).await["sub"],
        claims["sub"]
    );
    // Another sector sees another subject.
    let other_sector = rp_client(&op.s, |o| {
        o.subject_type = Some("pairwise".into());
        o.sector_identifier = Some("other.example".into());
    })
    .await;
    let op2 = Op {
        s: op.s,
        c: other_sector,
    };
    let tokens2 = sign_in(&op2, &b, "openid", "").await;
    let claims2 = id_token_claims(&op2, &tokens2, None).await;
    assert_ne!(claims2["sub"], claims["sub"]);
}

// Bad input: each the OIDC error, nothing changed.

#[tokio::test]
async fn bad_prompt_max_age_and_hints_are_invalid_request_redirects() {
    let op = op().await;
    let b = Browser::new(&op.s);
    let foreign_hint = {
        use base64::Engine as _;
        let b64 = |v: &Value| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(serde_json::to_vec(v).unwrap())
        };
        let key = jsonwebtoken::EncodingKey::from_secret(b"someone else");
        let mut h = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
        h.kid = Some(b64(&json!("k")));
        jsonwebtoken::encode(
            &h,
            &json!({"iss": op.s.issuer(), "sub": "alice", "aud": op.c.id.as_str(), "exp": now() + 60}),
            &key,
        )
        .unwrap()
    };
    for (extra, fragment) in [
        ("&prompt=sometimes", "prompt value `sometimes` is unknown"),
        ("&prompt=none%20login", "prompt=none cannot be combined"),
        ("&max_age=soon", "max_age must be a whole number"),
        ("&max_age=-1", "max_age must be a whole number"),
        (
            &format!("&id_token_hint={foreign_hint}") as &str,
            "id_token_hint",
        ),
        ("&display=hologram", "display must be"),
    ] {
        let res = b.get(&authorize_path(&op.c, "openid", extra)).await;
        assert_eq!(res.status(), 303, "{extra}");
        let p = params_of(&location(&res));
        assert!(location(&res).starts_with(CB));
        assert_eq!(p["error"], "invalid_request", "{extra}");
        assert!(p["error_description"].contains(fragment), "{extra}: {p:?}");
        assert_eq!(p["state"], "xyz");
    }
}

// RP-Initiated Logout 1.0 (the suite's rp-initiated-logout modules).

async fn signed_in(op: &Op, b: &Browser) -> Value {
    sign_in(op, b, "openid", "").await
}

async fn is_signed_in(b: &Browser) -> bool {
    b.get("/account").await.status() == 200
}

#[tokio::test]
async fn oidcc_rp_initiated_logout() {
    let op = op().await;
    let b = Browser::new(&op.s);
    let tokens = signed_in(&op, &b).await;
    assert!(is_signed_in(&b).await);
    let res = b
        .get(&format!(
            "/oauth/logout?id_token_hint={}&post_logout_redirect_uri={}&state=bye",
            tokens["id_token"].as_str().unwrap(),
            enc(LOGGED_OUT)
        ))
        .await;
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), format!("{LOGGED_OUT}?state=bye"));
    assert!(!is_signed_in(&b).await, "the session is over");
    // The ID token still names the user for prompt=none: login_required now.
    let res = b
        .get(&authorize_path(&op.c, "openid", "&prompt=none"))
        .await;
    assert_eq!(params_of(&location(&res))["error"], "login_required");
}

#[tokio::test]
async fn oidcc_rp_initiated_logout_by_form_post_with_client_id() {
    let op = op().await;
    let b = Browser::new(&op.s);
    let tokens = signed_in(&op, &b).await;
    let res = b
        .http
        .post(op.s.url("/oauth/logout"))
        .form(&[
            ("id_token_hint", tokens["id_token"].as_str().unwrap()),
            ("client_id", op.c.id.as_str()),
            ("post_logout_redirect_uri", LOGGED_OUT),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), LOGGED_OUT);
    assert!(!is_signed_in(&b).await);
}

#[tokio::test]
async fn oidcc_rp_initiated_logout_no_id_token_hint_asks_the_user() {
    let op = op().await;
    let b = Browser::new(&op.s);
    signed_in(&op, &b).await;
    let res = b
        .get(&format!(
            "/oauth/logout?client_id={}&post_logout_redirect_uri={}&state=s1",
            op.c.id,
            enc(LOGGED_OUT)
        ))
        .await;
    assert_eq!(res.status(), 200, "a confirmation page");
    let html = res.text().await.unwrap();
    assert!(html.contains("Conformance RP"), "names the application");
    assert!(is_signed_in(&b).await, "a link alone signs nobody out");
    // A confirmation without the CSRF token is refused.
    let forged = b
        .http
        .post(op.s.url("/oauth/logout/confirm"))
        .form(&[("client_id", op.c.id.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 403);
    assert!(is_signed_in(&b).await);
    let res = b
        .submit(
            &html,
            "/oauth/logout/confirm",
            &[
                ("client_id", op.c.id.as_str()),
                ("post_logout_redirect_uri", LOGGED_OUT),
                ("state", "s1"),
            ],
        )
        .await;
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), format!("{LOGGED_OUT}?state=s1"));
    assert!(!is_signed_in(&b).await);
}

#[tokio::test]
async fn oidcc_rp_initiated_logout_no_post_logout_redirect_uri() {
    let op = op().await;
    let b = Browser::new(&op.s);
    let tokens = signed_in(&op, &b).await;
    let res = b
        .get(&format!(
            "/oauth/logout?id_token_hint={}",
            tokens["id_token"].as_str().unwrap()
        ))
        .await;
    assert_eq!(res.status(), 200);
    assert!(res.text().await.unwrap().contains("signed out"));
    assert!(!is_signed_in(&b).await);
}

#[tokio::test]
async fn oidcc_rp_initiated_logout_bad_post_logout_redirect_uri() {
    let op = op().await;
    let b = Browser::new(&op.s);
    let tokens = signed_in(&op, &b).await;
    for (uri, hint) in [
        ("https://attacker.example/", true),
        ("https://rp.example/logged-out/extra", true),
        (LOGGED_OUT, false),
    ] {
        let mut path = format!("/oauth/logout?post_logout_redirect_uri={}", enc(uri));
        if hint {
            path.push_str(&format!(
                "&id_token_hint={}",
                tokens["id_token"].as_str().unwrap()
            ));
        }
        let res = b.get(&path).await;
        assert_eq!(res.status(), 400, "{uri}: an error page, not a redirect");
        assert!(res.headers().get("location").is_none());
        assert!(is_signed_in(&b).await, "nothing changed");
    }
}

#[tokio::test]
async fn oidcc_rp_initiated_logout_bad_id_token_hint() {
    let op = op().await;
    let b = Browser::new(&op.s);
    let tokens = signed_in(&op, &b).await;
    let mut forged = tokens["id_token"].as_str().unwrap().to_owned();
    forged.pop();
    forged.push('A');
    for hint in [forged.as_str(), "garbage"] {
        let res = b
            .get(&format!(
                "/oauth/logout?id_token_hint={hint}&post_logout_redirect_uri={}",
                enc(LOGGED_OUT)
            ))
            .await;
        assert_eq!(res.status(), 400);
        assert!(is_signed_in(&b).await);
    }
    // A hint for another client than client_id names.
    let res = b
        .get(&format!(
            "/oauth/logout?id_token_hint={}&client_id=someone-else",
            tokens["id_token"].as_str().unwrap()
        ))
        .await;
    assert_eq!(res.status(), 400);
    assert!(is_signed_in(&b).await);
}

// Back-Channel Logout 1.0.

/// A relying party's back-channel logout endpoint on loopback: each
/// logout token it receives, in order.
pub async fn logout_receiver() -> (String, mpsc::UnboundedReceiver<String>) {
    use axum::routing::post;
    let (tx, rx) = mpsc::unbounded_channel();
    let app = axum::Router::new().route(
        "/backchannel",
        post(move |body: axum::body::Bytes| {
            let tx = tx.clone();
            async move {
                let token = url::form_urlencoded::parse(&body)
                    .find(|(k, _)| k == "logout_token")
                    .map(|(_, v)| v.into_owned())
                    .unwrap_or_default();
                tx.send(token).unwrap();
                axum::http::StatusCode::OK
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}/backchannel"), rx)
}

pub async fn backchannel_logout(tune_server: impl FnOnce(&mut portcullis::FileConfig)) {
    let (uri, mut received) = logout_receiver().await;
    let op = op_with(
        |f| {
            f.backchannel_logout_allow_loopback = Some(true);
            tune_server(f);
        },
        |o| {
            o.backchannel_logout_uri = Some(uri.clone());
            o.backchannel_logout_session_required = true;
        },
    )
    .await;
    let b = Browser::new(&op.s);
    let tokens = signed_in(&op, &b).await;
    let id = id_token_claims(&op, &tokens, None).await;
    let res = b
        .get(&format!(
            "/oauth/logout?id_token_hint={}",
            tokens["id_token"].as_str().unwrap()
        ))
        .await;
    assert_eq!(res.status(), 200);
    let token = tokio::time::timeout(Duration::from_secs(10), received.recv())
        .await
        .expect("a logout token within 10 s")
        .unwrap();
    let (header, claims) = verify_jwt(&op.s, &token, Some("logout+jwt"), op.c.id.as_str()).await;
    assert_eq!(
        header.alg,
        jsonwebtoken::Algorithm::RS256,
        "as its ID tokens"
    );
    assert_eq!(claims["sub"], id["sub"]);
    assert_eq!(claims["sid"], id["sid"], "the session that ended");
    assert!(claims["jti"].as_str().is_some_and(|j| !j.is_empty()));
    assert!(claims["iat"].as_i64().is_some());
    assert!(claims.get("nonce").is_none(), "Back-Channel Logout §2.4");
    assert_eq!(
        claims["events"],
        json!({"http://schemas.openid.net/event/backchannel-logout": {}})
    );
    // One session, one token: nothing more arrives.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(received.try_recv().is_err());
}

#[tokio::test]
async fn oidcc_backchannel_rp_initiated_logout() {
    backchannel_logout(|_| {}).await;
}

#[tokio::test]
async fn backchannel_logout_to_loopback_needs_the_development_setting() {
    let (uri, mut received) = logout_receiver().await;
    let op = op_with(|_| {}, |o| o.backchannel_logout_uri = Some(uri.clone())).await;
    let b = Browser::new(&op.s);
    let tokens = signed_in(&op, &b).await;
    let res = b
        .get(&format!(
            "/oauth/logout?id_token_hint={}",
            tokens["id_token"].as_str().unwrap()
        ))
        .await;
    assert_eq!(res.status(), 200, "the browser is signed out all the same");
    assert!(!is_signed_in(&b).await);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(received.try_recv().is_err(), "no connection to loopback");
}

#[tokio::test]
async fn the_account_sign_out_also_sends_backchannel_logout() {
    let (uri, mut received) = logout_receiver().await;
    let op = op_with(
        |f| f.backchannel_logout_allow_loopback = Some(true),
        |o| o.backchannel_logout_uri = Some(uri.clone()),
    )
    .await;
    let b = Browser::new(&op.s);
    signed_in(&op, &b).await;
    let page = b.get("/account").await.text().await.unwrap();
    let res = b.submit(&page, "/logout", &[]).await;
    assert_eq!(res.status(), 200);
    let token = tokio::time::timeout(Duration::from_secs(10), received.recv())
        .await
        .expect("a logout token")
        .unwrap();
    verify_jwt(&op.s, &token, Some("logout+jwt"), op.c.id.as_str()).await;
}

// The same on PostgreSQL (skipped without `PORTCULLIS_TEST_POSTGRES`).

#[tokio::test]
async fn postgres_sign_in_userinfo_refresh_and_code_reuse() {
    let Some(url) = crate::postgres::fresh_database().await else {
        return;
    };
    let op = op_with(move |f| f.database_url = Some(url), |_| {}).await;
    let b = Browser::new(&op.s);
    let tokens = sign_in(&op, &b, "openid email offline_access", "&nonce=pg").await;
    let first = id_token_claims(&op, &tokens, Some("pg")).await;
    let info = userinfo_ok(&op.s, tokens["access_token"].as_str().unwrap()).await;
    assert_eq!(info["email"], "alice@example.org");
    assert_eq!(info["sub"], first["sub"]);
    let res =
        op.s.post_form(
            "/oauth/token",
            &op.c,
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", tokens["refresh_token"].as_str().unwrap()),
            ],
        )
        .await;
    assert_eq!(res.status(), 200);
    let renewed: Value = res.json().await.unwrap();
    let second = id_token_claims(&op, &renewed, None).await;
    assert_eq!(second["auth_time"], first["auth_time"]);
    // prompt=none with a remembered consent, then the code twice.
    let res = b
        .go(&authorize_path(
            &op.c,
            "openid email offline_access",
            "&prompt=none",
        ))
        .await;
    let code = params_of(&location(&res))["code"].clone();
    assert_eq!(exchange(&op, &code).await.0, 200);
    let (status, again) = exchange(&op, &code).await;
    assert_eq!(
        (status, again["error"].as_str()),
        (400, Some("invalid_grant"))
    );
}

#[tokio::test]
async fn postgres_backchannel_logout() {
    let Some(url) = crate::postgres::fresh_database().await else {
        return;
    };
    backchannel_logout(move |f| f.database_url = Some(url)).await;
}

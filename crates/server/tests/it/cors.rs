//! CORS for browser apps: `*` on the metadata and JWKS; the token and
//! revocation endpoints for the origins of registered redirect URIs and the
//! configured list; nothing on the pages, the console or the admin API.

use portcullis_protocol::{GrantType, RedirectUri};
use reqwest::Method;

use crate::support::{TestServer, assert_oauth_error};

const SPA: &str = "https://spa.example";

async fn server() -> TestServer {
    let s = TestServer::start_with(|f| {
        f.cors_allowed_origins = Some(vec!["https://configured.example".into()]);
    })
    .await;
    s.client_with("read", |spec| {
        spec.public = true;
        spec.grant_types = vec![GrantType::AuthorizationCode];
        spec.redirect_uris = vec![
            RedirectUri::parse(&format!("{SPA}/callback")).unwrap(),
            RedirectUri::parse("http://127.0.0.1/cb").unwrap(),
        ];
    })
    .await;
    s
}

async fn preflight(s: &TestServer, path: &str, origin: &str) -> reqwest::Response {
    s.http
        .request(Method::OPTIONS, s.url(path))
        .header("origin", origin)
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "authorization, content-type, dpop",
        )
        .send()
        .await
        .unwrap()
}

fn header<'a>(res: &'a reqwest::Response, name: &str) -> Option<&'a str> {
    res.headers().get(name).map(|v| v.to_str().unwrap())
}

#[tokio::test]
async fn metadata_and_jwks_are_readable_from_any_origin() {
    let s = server().await;
    for path in ["/.well-known/oauth-authorization-server", "/jwks.json"] {
        let res = s
            .http
            .get(s.url(path))
            .header("origin", "https://anyone.example")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        assert_eq!(header(&res, "access-control-allow-origin"), Some("*"));
        assert_eq!(header(&res, "access-control-allow-credentials"), None);
    }
}

#[tokio::test]
async fn token_and_revocation_preflights_allow_registered_and_configured_origins() {
    let s = server().await;
    for path in ["/oauth/token", "/oauth/revoke"] {
        for origin in [
            SPA,
            "https://configured.example",
            "http://127.0.0.1:5173",
            "http://127.0.0.1",
        ] {
            let res = preflight(&s, path, origin).await;
            assert_eq!(res.status(), 204, "{path} {origin}");
            assert_eq!(header(&res, "access-control-allow-origin"), Some(origin));
            // GET for the UserInfo endpoint, which shares the policy.
            assert_eq!(
                header(&res, "access-control-allow-methods"),
                Some("GET,POST")
            );
            let allowed = header(&res, "access-control-allow-headers").unwrap();
            for h in ["authorization", "content-type", "dpop"] {
                assert!(allowed.contains(h), "{allowed}");
            }
            assert_eq!(header(&res, "access-control-max-age"), Some("600"));
            assert_eq!(header(&res, "access-control-allow-credentials"), None);
            assert!(header(&res, "vary").unwrap().contains("origin"));
        }
        for stranger in [
            "https://evil.example",
            "https://spa.example:8443",
            "http://spa.example",
            "http://[::1]:5173",
            "null",
        ] {
            let res = preflight(&s, path, stranger).await;
            assert!(!res.status().is_server_error());
            assert_eq!(
                header(&res, "access-control-allow-origin"),
                None,
                "{path} {stranger}"
            );
        }
    }
}

#[tokio::test]
async fn token_responses_and_errors_carry_the_allowed_origin() {
    let s = server().await;
    let c = s.client("read").await;
    let res = s
        .http
        .post(s.url("/oauth/token"))
        .header("origin", SPA)
        .basic_auth(c.id.as_str(), Some(c.secret.expose()))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(header(&res, "access-control-allow-origin"), Some(SPA));
    assert_eq!(header(&res, "access-control-allow-credentials"), None);

    let res = s
        .http
        .post(s.url("/oauth/token"))
        .header("origin", SPA)
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(header(&res, "access-control-allow-origin"), Some(SPA));
    assert_oauth_error(res, 401, "invalid_client").await;

    let res = s
        .http
        .post(s.url("/oauth/revoke"))
        .header("origin", "https://evil.example")
        .basic_auth(c.id.as_str(), Some(c.secret.expose()))
        .form(&[("token", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(header(&res, "access-control-allow-origin"), None);
}

#[tokio::test]
async fn a_newly_registered_redirect_uri_is_an_allowed_origin_at_once() {
    let s = server().await;
    let origin = "https://new.example";
    assert_eq!(
        header(
            &preflight(&s, "/oauth/token", origin).await,
            "access-control-allow-origin"
        ),
        None
    );
    let c = s
        .client_with("read", |spec| {
            spec.grant_types = vec![GrantType::AuthorizationCode];
            spec.redirect_uris = vec![RedirectUri::parse("https://new.example/cb").unwrap()];
        })
        .await;
    let res = preflight(&s, "/oauth/token", origin).await;
    assert_eq!(header(&res, "access-control-allow-origin"), Some(origin));
    s.server().operator().delete_client(&c.id).await.unwrap();
    let res = preflight(&s, "/oauth/token", origin).await;
    assert_eq!(header(&res, "access-control-allow-origin"), None);
}

#[tokio::test]
async fn introspection_pages_console_and_admin_api_send_no_cors_headers() {
    let s = server().await;
    for path in [
        "/oauth/introspect",
        "/oauth/authorize",
        "/oauth/authorize/continue?request=x",
        "/login",
        "/logout",
        "/consent",
        "/account",
        "/account/revoke",
        "/console",
        "/admin/api/v1/clients",
        "/admin/api/v1/openapi.json",
    ] {
        for origin in [SPA, "https://configured.example"] {
            for method in [Method::GET, Method::POST] {
                let res = s
                    .http
                    .request(method.clone(), s.url(path))
                    .header("origin", origin)
                    .send()
                    .await
                    .unwrap();
                for h in res.headers().keys() {
                    assert!(
                        !h.as_str().starts_with("access-control-"),
                        "{method} {path}: {h}"
                    );
                }
            }
            let res = preflight(&s, path, origin).await;
            assert_ne!(res.status(), 204, "OPTIONS {path}");
            for h in res.headers().keys() {
                assert!(
                    !h.as_str().starts_with("access-control-"),
                    "OPTIONS {path}: {h}"
                );
            }
        }
    }
}

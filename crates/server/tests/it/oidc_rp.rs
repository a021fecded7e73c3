//! A real relying party: the `openidconnect` crate, as a Rust integrator
//! would use it, against the OpenID Provider over a socket. Discovery,
//! the code flow with PKCE and nonce, the ID token verified by the crate
//! (signature against the discovered JWKS, iss, aud, nonce, at_hash),
//! UserInfo, an ID token again on refresh, and RP-initiated logout.

use openidconnect::core::{CoreAuthenticationFlow, CoreClient, CoreUserInfoClaims};
use openidconnect::{
    AccessTokenHash, AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl,
    LogoutRequest, Nonce, OAuth2TokenResponse, PkceCodeChallenge, PostLogoutRedirectUrl,
    ProviderMetadataWithLogout, RedirectUrl, Scope, TokenResponse,
};
use portcullis_core::client_oidc::OidcSettings;

use crate::oidc_conformance::{CB, LOGGED_OUT, Op, op, rp_client, walk};
use crate::support::{Browser, TestClient, location, params_of};

fn http() -> openidconnect::reqwest::Client {
    // OIDC Core: the client must not follow redirects from the OP's
    // back-channel endpoints.
    openidconnect::reqwest::Client::builder()
        .redirect(openidconnect::reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

async fn discover(op: &Op) -> ProviderMetadataWithLogout {
    ProviderMetadataWithLogout::discover_async(
        IssuerUrl::new(op.s.issuer().into()).unwrap(),
        &http(),
    )
    .await
    .expect("OpenID Connect Discovery")
}

fn client_for(
    meta: ProviderMetadataWithLogout,
    c: &TestClient,
) -> openidconnect::core::CoreClient<
    openidconnect::EndpointSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointMaybeSet,
    openidconnect::EndpointMaybeSet,
> {
    CoreClient::from_provider_metadata(
        meta,
        ClientId::new(c.id.to_string()),
        Some(ClientSecret::new(c.secret.expose().to_owned())),
    )
    .set_redirect_uri(RedirectUrl::new(CB.into()).unwrap())
}

#[tokio::test]
async fn openidconnect_crate_code_flow_userinfo_refresh_and_logout() {
    let op = op().await;
    let meta = discover(&op).await;
    let end_session = meta
        .additional_metadata()
        .end_session_endpoint
        .clone()
        .expect("end_session_endpoint");
    assert_eq!(
        end_session.as_str(),
        format!("{}/oauth/logout", op.s.issuer())
    );
    let client = client_for(meta, &op.c);
    let http = http();

    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, state, nonce) = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("profile".into()))
        .add_scope(Scope::new("email".into()))
        .set_pkce_challenge(challenge)
        .url();
    let b = Browser::new(&op.s);
    let w = walk(&op.s, &b, url.as_str()).await;
    assert!(w.login_page && w.consent_page.is_some());
    assert_eq!(&w.back["state"], state.secret());

    let tokens = client
        .exchange_code(AuthorizationCode::new(w.back["code"].clone()))
        .unwrap()
        .set_pkce_verifier(verifier)
        .request_async(&http)
        .await
        .expect("the code exchange");
    let id_token = tokens.id_token().expect("an ID token").clone();
    let verifier = client.id_token_verifier();
    let claims = id_token
        .claims(&verifier, &nonce)
        .expect("the crate accepts the ID token");
    let alice = op.s.user_id("alice").await;
    assert_eq!(claims.subject().as_str(), alice.as_str());
    assert_eq!(claims.issuer().as_str(), op.s.issuer());
    assert!(claims.auth_time().is_some());
    // at_hash binds the access token to the ID token (OIDC Core §3.1.3.8).
    let expected = AccessTokenHash::from_token(
        tokens.access_token(),
        id_token.signing_alg().unwrap(),
        id_token.signing_key(&verifier).unwrap(),
    )
    .unwrap();
    assert_eq!(claims.access_token_hash(), Some(&expected));

    let info: CoreUserInfoClaims = client
        .user_info(
            tokens.access_token().clone(),
            Some(claims.subject().clone()),
        )
        .unwrap()
        .request_async(&http)
        .await
        .expect("UserInfo");
    assert_eq!(
        info.name().and_then(|n| n.get(None)).map(|n| n.as_str()),
        Some("Alice Liddell")
    );
    assert_eq!(info.email().map(|e| e.as_str()), Some("alice@example.org"));
    assert_eq!(info.email_verified(), Some(true));
    assert!(info.phone_number().is_none(), "phone was not asked for");

    // A refresh brings a new ID token for the same user and sign-in; the
    // crate checks it (no nonce on refresh, OIDC Core §12.2).
    let refreshed = client
        .exchange_refresh_token(tokens.refresh_token().expect("a refresh token"))
        .unwrap()
        .request_async(&http)
        .await
        .expect("refresh");
    let again = refreshed.id_token().expect("an ID token on refresh");
    let again = again
        .claims(&verifier, |_: Option<&Nonce>| Ok::<(), String>(()))
        .expect("the refreshed ID token verifies");
    assert_eq!(again.subject(), claims.subject());
    assert_eq!(again.auth_time(), claims.auth_time());

    // RP-initiated logout: back to the registered URI with the state, and
    // the session is over.
    let logout_state = CsrfToken::new_random();
    let logout = LogoutRequest::from(end_session)
        .set_id_token_hint(&id_token)
        .set_post_logout_redirect_uri(PostLogoutRedirectUrl::new(LOGGED_OUT.into()).unwrap())
        .set_state(logout_state.clone())
        .http_get_url();
    let res = b.get(logout.as_str()).await;
    assert_eq!(res.status(), 303);
    let back = location(&res);
    assert!(back.starts_with(LOGGED_OUT), "{back}");
    assert_eq!(&params_of(&back)["state"], logout_state.secret());
    let (url, _, _) = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_prompt(openidconnect::core::CoreAuthPrompt::None)
        .url();
    let res = b.get(url.as_str()).await;
    assert_eq!(params_of(&location(&res))["error"], "login_required");
}

#[tokio::test]
async fn openidconnect_crate_verifies_an_es256_id_token_and_refuses_a_wrong_nonce() {
    let op = op().await;
    let es = rp_client(&op.s, |o: &mut OidcSettings| {
        o.id_token_signed_response_alg = Some("ES256".into());
    })
    .await;
    let client = client_for(discover(&op).await, &es);
    let http = http();
    let (url, _, nonce) = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .url();
    let b = Browser::new(&op.s);
    let w = walk(&op.s, &b, url.as_str()).await;
    let tokens = client
        .exchange_code(AuthorizationCode::new(w.back["code"].clone()))
        .unwrap()
        .request_async(&http)
        .await
        .expect("the code exchange");
    let id_token = tokens.id_token().unwrap();
    assert_eq!(
        id_token.signing_alg().unwrap(),
        &openidconnect::core::CoreJwsSigningAlgorithm::EcdsaP256Sha256
    );
    let verifier = client.id_token_verifier();
    id_token
        .claims(&verifier, &nonce)
        .expect("the ES256 ID token verifies");
    assert!(
        id_token
            .claims(&verifier, &Nonce::new("another".into()))
            .is_err(),
        "a nonce other than the one sent is refused"
    );
    // Another client's verifier refuses it: aud names this client only.
    let other = client_for(discover(&op).await, &op.c);
    assert!(id_token.claims(&other.id_token_verifier(), &nonce).is_err());
}

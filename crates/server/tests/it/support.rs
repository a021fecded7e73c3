//! A Portcullis started in-process on 127.0.0.1:0 over a fresh SQLite
//! database in a temporary directory.

use std::sync::Arc;

use portcullis::{Config, FileConfig, Running};
use portcullis_core::AuthServer;
use portcullis_core::model::{GrantPolicy, Owner};
use portcullis_core::registry::{ClientSpec, ScopeSpec};
use portcullis_protocol::{ClientId, GrantType, RedirectUri, ScopeSet, Secret, UserId};
use serde_json::Value;
use tempfile::TempDir;

pub struct TestServer {
    pub running: Running,
    pub base: String,
    pub http: reqwest::Client,
    _dir: TempDir,
}

#[derive(Clone)]
pub struct TestClient {
    pub id: ClientId,
    pub secret: Secret,
}

/// One key-encryption key for every PostgreSQL-backed server of this test
/// process: instances sharing a database share their KEK, as in production.
pub fn shared_kek() -> &'static std::path::Path {
    static KEK: std::sync::OnceLock<(TempDir, std::path::PathBuf)> = std::sync::OnceLock::new();
    &KEK.get_or_init(|| {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("kek");
        portcullis::private_files::create_kek(&path).expect("a test KEK");
        (dir, path)
    })
    .1
}

/// A self-service scope definition.
pub fn scope_spec(name: &str, description: &str, requires_resource: bool) -> ScopeSpec {
    ScopeSpec {
        grant_policy: GrantPolicy::SelfService,
        requires_resource,
        ..ScopeSpec::new(name, description)
    }
}

impl TestServer {
    pub async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    pub async fn start_with(tune: impl FnOnce(&mut FileConfig)) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        // Portcullis refuses a data directory others can read.
        std::fs::set_permissions(
            dir.path(),
            std::os::unix::fs::PermissionsExt::from_mode(0o700),
        )
        .unwrap();
        let mut file = FileConfig {
            listen: Some("127.0.0.1:0".into()),
            data_dir: Some(dir.path().to_path_buf()),
            log_level: Some("warn".into()),
            ..Default::default()
        };
        tune(&mut file);
        let postgres = file
            .database_url
            .as_deref()
            .is_some_and(|u| u.starts_with("postgres"));
        if postgres && file.kek_file.is_none() {
            file.kek_file = Some(shared_kek().to_path_buf());
        }
        let config = Config::from_file(file).expect("valid test config");
        let running = portcullis::start(&config).await.expect("server starts");
        let base = format!("http://{}", running.addr);
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        Self {
            running,
            base,
            http,
            _dir: dir,
        }
    }

    pub fn server(&self) -> &Arc<AuthServer> {
        &self.running.server
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub fn issuer(&self) -> &str {
        &self.running.issuer
    }

    /// Defines a self-service scope, as the developer flows under test
    /// expect; tests of the grant policy define restricted ones themselves.
    pub async fn define_scope(&self, name: &str, requires_resource: bool) {
        self.server()
            .operator()
            .define_scope(scope_spec(
                name,
                &format!("{name} access"),
                requires_resource,
            ))
            .await
            .unwrap();
    }

    pub async fn user_id(&self, username: &str) -> UserId {
        self.server()
            .operator()
            .user_by_name(username)
            .await
            .unwrap()
            .id
    }

    /// A key owner named as the tests name it: a client id if one exists,
    /// else a username.
    pub async fn owner(&self, name: &str) -> Owner {
        let id = ClientId::new(name);
        if self
            .server()
            .store()
            .find_client(&id)
            .await
            .unwrap()
            .is_some()
        {
            Owner::Client(id)
        } else {
            Owner::User(self.user_id(name).await)
        }
    }

    /// A confidential client with the client_credentials grant.
    pub async fn client(&self, scope: &str) -> TestClient {
        self.client_with(scope, |_| {}).await
    }

    pub async fn client_with(&self, scope: &str, tune: impl FnOnce(&mut ClientSpec)) -> TestClient {
        for s in ScopeSet::parse(scope).unwrap().iter() {
            let (name, _) = s.split_resource();
            if !portcullis_core::scope_policy::is_builtin(name)
                && self
                    .server()
                    .store()
                    .list_scopes()
                    .await
                    .unwrap()
                    .iter()
                    .all(|d| d.name != name)
            {
                self.define_scope(name, s.split_resource().1.is_some())
                    .await;
            }
        }
        let mut spec = ClientSpec {
            name: "test client".into(),
            grant_types: vec![GrantType::ClientCredentials],
            scopes: ScopeSet::parse(scope).unwrap(),
            default_scopes: None,
            redirect_uris: Vec::<RedirectUri>::new(),
            public: false,
            token_lifetime: None,
            require_pkce: true,
            owner: None,
            resources: Vec::new(),
            oidc: Default::default(),
        };
        tune(&mut spec);
        let created = self
            .server()
            .operator()
            .register_client(spec)
            .await
            .unwrap();
        TestClient {
            id: created.client.id,
            secret: created.secret.unwrap_or_else(|| Secret::new("")),
        }
    }

    /// POSTs a form with HTTP Basic client authentication.
    /// GETs `path_or_url` and returns its JSON body, asserting a 200.
    pub async fn get_json(&self, path_or_url: &str) -> Value {
        let url = if path_or_url.starts_with('/') {
            self.url(path_or_url)
        } else {
            path_or_url.to_owned()
        };
        let res = self.http.get(&url).send().await.unwrap();
        assert_eq!(res.status(), 200, "GET {url}");
        res.json().await.unwrap()
    }

    pub async fn post_form(
        &self,
        path: &str,
        c: &TestClient,
        form: &[(&str, &str)],
    ) -> reqwest::Response {
        self.http
            .post(self.url(path))
            .basic_auth(c.id.as_str(), Some(c.secret.expose()))
            .form(form)
            .send()
            .await
            .unwrap()
    }

    /// A client-credentials access token for `c`.
    pub async fn token(&self, c: &TestClient, scope: Option<&str>) -> String {
        let mut form = vec![("grant_type", "client_credentials")];
        if let Some(s) = scope {
            form.push(("scope", s));
        }
        let res = self.post_form("/oauth/token", c, &form).await;
        assert_eq!(res.status(), 200, "token for {}", c.id);
        let body: Value = res.json().await.unwrap();
        body["access_token"].as_str().unwrap().to_owned()
    }

    pub async fn introspect(&self, caller: &TestClient, token: &str) -> Value {
        let res = self
            .post_form("/oauth/introspect", caller, &[("token", token)])
            .await;
        assert_eq!(res.status(), 200);
        res.json().await.unwrap()
    }
}

/// Asserts an RFC 6749 §5.2 error response and returns its description.
pub async fn assert_oauth_error(res: reqwest::Response, status: u16, code: &str) -> String {
    assert_eq!(res.status().as_u16(), status, "status for {code}");
    assert_eq!(
        res.headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("application/json")
    );
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"], code, "{body}");
    body["error_description"]
        .as_str()
        .expect("a description")
        .to_owned()
}

/// A cookie-keeping HTTP client that walks the login and consent pages the
/// way a browser does, without following redirects on its own.
pub struct Browser {
    pub http: reqwest::Client,
    base: String,
}

/// Where a response sends the browser.
pub fn location(res: &reqwest::Response) -> String {
    res.headers()
        .get("location")
        .unwrap_or_else(|| panic!("a redirect, got {}", res.status()))
        .to_str()
        .unwrap()
        .to_owned()
}

/// The value of hidden field `name` in a page.
pub fn hidden(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no {name} in {html}"))
        + marker.len();
    html[start..].split('"').next().unwrap().to_owned()
}

/// The query (or fragment) parameters of a redirect back to the client.
pub fn params_of(url: &str) -> std::collections::HashMap<String, String> {
    let part = url.split_once(['?', '#']).map(|(_, q)| q).unwrap_or("");
    url::form_urlencoded::parse(part.as_bytes())
        .into_owned()
        .collect()
}

impl Browser {
    pub fn new(s: &TestServer) -> Self {
        Self {
            http: reqwest::Client::builder()
                .cookie_store(true)
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            base: s.base.clone(),
        }
    }

    fn abs(&self, path_or_url: &str) -> String {
        if path_or_url.starts_with('/') {
            format!("{}{}", self.base, path_or_url)
        } else {
            path_or_url.to_owned()
        }
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.http.get(self.abs(path)).send().await.unwrap()
    }

    /// GETs `path` and follows redirects that stay on the server, returning
    /// the first response that is a page or leaves the server.
    pub async fn go(&self, path: &str) -> reqwest::Response {
        let mut res = self.get(path).await;
        while res.status().is_redirection() {
            let next = location(&res);
            if !next.starts_with('/') {
                break;
            }
            res = self.get(&next).await;
        }
        res
    }

    /// Submits a form on page `page_path` (whose CSRF token it reads).
    pub async fn submit(
        &self,
        page_html: &str,
        action: &str,
        fields: &[(&str, &str)],
    ) -> reqwest::Response {
        let csrf = hidden(page_html, "csrf");
        let mut form: Vec<(&str, &str)> = vec![("csrf", &csrf)];
        form.extend_from_slice(fields);
        self.http
            .post(self.abs(action))
            .form(&form)
            .send()
            .await
            .unwrap()
    }

    /// From the login page a request led to, logs in; returns the response
    /// after following on-server redirects.
    pub async fn login(
        &self,
        login_page: reqwest::Response,
        user: &str,
        password: &str,
    ) -> reqwest::Response {
        let url = login_page.url().to_string();
        let html = login_page.text().await.unwrap();
        let request = params_of(&url).get("request").cloned();
        let mut fields = vec![("username", user), ("password", password)];
        if let Some(r) = &request {
            fields.push(("request", r));
        }
        let res = self.submit(&html, "/login", &fields).await;
        if res.status().is_redirection() && location(&res).starts_with('/') {
            return self.go(&location(&res)).await;
        }
        res
    }

    /// On a consent page, approves or denies; returns the redirect back to
    /// the client.
    pub async fn decide(&self, consent_page: reqwest::Response, approve: bool) -> String {
        let html = consent_page.text().await.unwrap();
        let request = hidden(&html, "request");
        let decision = if approve { "approve" } else { "deny" };
        let res = self
            .submit(
                &html,
                "/consent",
                &[("request", &request), ("decision", decision)],
            )
            .await;
        assert_eq!(res.status(), 303);
        location(&res)
    }
}

/// A PKCE verifier and its S256 challenge.
pub fn pkce_pair() -> (String, String) {
    use base64::Engine as _;
    use sha2::Digest as _;
    let verifier = portcullis_protocol::Secret::generate().expose().to_owned();
    let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(sha2::Sha256::digest(verifier.as_bytes()));
    (verifier, challenge)
}

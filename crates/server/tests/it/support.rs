//! A Portcullis started in-process on 127.0.0.1:0 over a fresh SQLite
//! database in a temporary directory.

use std::sync::Arc;

use portcullis::{Config, FileConfig, Running};
use portcullis_core::AuthServer;
use portcullis_core::registry::ClientSpec;
use portcullis_protocol::{ClientId, GrantType, RedirectUri, ScopeSet, Secret};
use serde_json::Value;
use tempfile::TempDir;

pub struct TestServer {
    pub running: Running,
    pub base: String,
    pub http: reqwest::Client,
    _dir: TempDir,
}

pub struct TestClient {
    pub id: ClientId,
    pub secret: Secret,
}

impl TestServer {
    pub async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    pub async fn start_with(tune: impl FnOnce(&mut FileConfig)) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut file = FileConfig {
            listen: Some("127.0.0.1:0".into()),
            data_dir: Some(dir.path().to_path_buf()),
            log_level: Some("warn".into()),
            ..Default::default()
        };
        tune(&mut file);
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

    pub async fn define_scope(&self, name: &str, requires_resource: bool) {
        self.server()
            .define_scope(name, &format!("{name} access"), requires_resource)
            .await
            .unwrap();
    }

    /// A confidential client with the client_credentials grant.
    pub async fn client(&self, scope: &str) -> TestClient {
        self.client_with(scope, |_| {}).await
    }

    pub async fn client_with(&self, scope: &str, tune: impl FnOnce(&mut ClientSpec)) -> TestClient {
        for s in ScopeSet::parse(scope).unwrap().iter() {
            let (name, _) = s.split_resource();
            if self
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
            redirect_uris: Vec::<RedirectUri>::new(),
            public: false,
            token_lifetime: None,
            require_pkce: true,
            owner: None,
        };
        tune(&mut spec);
        let created = self.server().register_client(spec).await.unwrap();
        TestClient {
            id: created.client.id,
            secret: created.secret.unwrap_or_else(|| Secret::new("")),
        }
    }

    /// POSTs a form with HTTP Basic client authentication.
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

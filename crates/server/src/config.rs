//! Two-level configuration: a strict TOML file (unknown keys are errors)
//! with `PORTCULLIS_*` environment overrides, validated into [`Config`].

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use portcullis_core::Settings;
use portcullis_core::model::SigningAlg;
use serde::Deserialize;

use crate::transport::Limits;

/// The file format. Every key may also come from `PORTCULLIS_<KEY>`
/// (upper case), which wins over the file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    pub listen: Option<String>,
    pub issuer: Option<String>,
    pub audience: Option<String>,
    pub data_dir: Option<PathBuf>,
    pub database_url: Option<String>,
    pub signing_alg: Option<String>,
    pub token_lifetime: Option<i64>,
    pub cache_ttl_ms: Option<u64>,
    pub key_refresh_secs: Option<u64>,
    pub key_publish_delay_secs: Option<i64>,
    pub db_max_connections: Option<u32>,
    pub db_acquire_timeout_ms: Option<u64>,
    pub log_level: Option<String>,
    pub log_format: Option<String>,
    pub insecure_http_issuer: Option<bool>,
    /// Asked before a `NAME__RESOURCEID` permission is granted.
    pub resource_hook_url: Option<String>,
    /// Browser origins allowed at the token and revocation endpoints beside
    /// those of registered redirect URIs. In the environment: separated by
    /// commas or spaces.
    pub cors_allowed_origins: Option<Vec<String>>,
    /// Most scopes in one request, on one client or on one API key.
    pub max_scopes: Option<usize>,
    /// Reverse proxies (CIDRs or addresses) whose forwarding headers name
    /// the client. In the environment: separated by commas or spaces.
    pub trusted_proxies: Option<Vec<String>>,
    /// The key-encryption key sealing private signing keys in the store.
    pub kek_file: Option<PathBuf>,
    /// Seconds a client has to send a request head.
    pub header_read_timeout_secs: Option<u64>,
    /// Seconds a client has to send a request body, from the end of its head.
    pub body_read_timeout_secs: Option<u64>,
    /// Seconds a connection may sit with no request in flight.
    pub idle_timeout_secs: Option<u64>,
    /// Most client connections open at once; beyond it new ones queue in
    /// the listen backlog.
    pub max_connections: Option<usize>,
    /// Seconds in-flight requests get to finish once shutdown begins.
    pub shutdown_grace_secs: Option<u64>,
    /// Accept `client_id`s that are URLs of client ID metadata documents.
    pub client_id_metadata_documents: Option<bool>,
    /// Development only: fetch such documents from loopback (over http too).
    pub client_id_metadata_allow_loopback: Option<bool>,
    /// Hosts whose documents are never fetched (`host` or `*.domain`).
    pub client_id_metadata_deny_hosts: Option<Vec<String>>,
    /// When set, only these hosts' documents are fetched.
    pub client_id_metadata_allow_hosts: Option<Vec<String>>,
    /// PEM certificates trusted beside the system roots for those fetches.
    pub client_id_metadata_ca_file: Option<PathBuf>,
    /// Dynamic client registration: `token` (an initial access token is
    /// needed), `open` (anyone, rate-limited per address) or `off`.
    pub registration: Option<String>,
    /// Days after which a dynamically registered client nobody used is
    /// deleted.
    pub registration_unused_days: Option<u64>,
    /// Development only: send back-channel logout tokens to loopback
    /// (over http too).
    pub backchannel_logout_allow_loopback: Option<bool>,
}

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(pub String);

fn err<T>(msg: impl Into<String>) -> Result<T, ConfigError> {
    Err(ConfigError(msg.into()))
}

/// Host patterns: `host.example` or `*.example`, lower case.
fn hosts(list: Option<Vec<String>>, key: &str) -> Result<Vec<String>, ConfigError> {
    list.unwrap_or_default()
        .into_iter()
        .map(|h| {
            let bare = h.strip_prefix("*.").unwrap_or(&h);
            if bare.is_empty()
                || bare.contains(['/', ':', '*', ' '])
                || url::Host::parse(bare).is_err()
            {
                err(format!(
                    "{key}: `{h}` is not a host name like app.example or *.example"
                ))
            } else {
                Ok(h.to_ascii_lowercase())
            }
        })
        .collect()
}

macro_rules! env_overlay {
    ($cfg:ident, $lookup:ident; $($field:ident),* $(,)?) => {
        $(
            let key = concat!("PORTCULLIS_", stringify!($field)).to_ascii_uppercase();
            if let Some(raw) = $lookup(&key).filter(|v| !v.is_empty()) {
                $cfg.$field = Some(raw.parse().map_err(|e| {
                    ConfigError(format!("environment variable {key}: cannot parse `{raw}`: {e}"))
                })?);
            }
        )*
    };
}

impl FileConfig {
    pub fn from_toml(text: &str, origin: &Path) -> Result<Self, ConfigError> {
        toml::from_str(text).map_err(|e| {
            ConfigError(format!(
                "config {}: {}",
                origin.display(),
                e.message().trim()
            ))
        })
    }

    pub fn load(path: Option<&Path>) -> Result<Self, ConfigError> {
        match path {
            None => Ok(Self::default()),
            Some(p) => {
                let text = std::fs::read_to_string(p)
                    .map_err(|e| ConfigError(format!("config {}: {e}", p.display())))?;
                Self::from_toml(&text, p)
            }
        }
    }

    /// Applies `PORTCULLIS_*` variables through `lookup` (the process
    /// environment in production, a map in tests).
    pub fn overlay_env(
        mut self,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        let cfg = &mut self;
        env_overlay!(cfg, lookup;
            listen, issuer, audience, data_dir, database_url, signing_alg, token_lifetime,
            cache_ttl_ms, key_refresh_secs, key_publish_delay_secs, db_max_connections, db_acquire_timeout_ms,
            log_level, log_format, insecure_http_issuer, resource_hook_url, max_scopes, kek_file,
            header_read_timeout_secs, body_read_timeout_secs, idle_timeout_secs, max_connections,
            shutdown_grace_secs, client_id_metadata_documents, client_id_metadata_allow_loopback,
            client_id_metadata_ca_file,
            registration, registration_unused_days, backchannel_logout_allow_loopback);
        for (key, field) in [
            (
                "PORTCULLIS_CLIENT_ID_METADATA_DENY_HOSTS",
                &mut cfg.client_id_metadata_deny_hosts,
            ),
            (
                "PORTCULLIS_CLIENT_ID_METADATA_ALLOW_HOSTS",
                &mut cfg.client_id_metadata_allow_hosts,
            ),
        ] {
            if let Some(raw) = lookup(key).filter(|v| !v.is_empty()) {
                *field = Some(
                    raw.split([',', ' '])
                        .filter(|o| !o.is_empty())
                        .map(str::to_owned)
                        .collect(),
                );
            }
        }
        if let Some(raw) = lookup("PORTCULLIS_TRUSTED_PROXIES").filter(|v| !v.is_empty()) {
            cfg.trusted_proxies = Some(
                raw.split([',', ' '])
                    .filter(|o| !o.is_empty())
                    .map(str::to_owned)
                    .collect(),
            );
        }
        if let Some(raw) = lookup("PORTCULLIS_CORS_ALLOWED_ORIGINS").filter(|v| !v.is_empty()) {
            cfg.cors_allowed_origins = Some(
                raw.split([',', ' '])
                    .filter(|o| !o.is_empty())
                    .map(str::to_owned)
                    .collect(),
            );
        }
        Ok(self)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

/// Validated settings, passed explicitly; never global.
#[derive(Debug, Clone)]
pub struct Config {
    pub listen: SocketAddr,
    /// `None`: derived from the bound address (`http://localhost:PORT`).
    pub issuer: Option<String>,
    pub audience: Option<String>,
    pub data_dir: PathBuf,
    pub database_url: String,
    pub signing_alg: SigningAlg,
    pub token_lifetime: i64,
    pub cache_ttl: Duration,
    pub key_refresh: Duration,
    /// Seconds a rotated key is published before it signs.
    pub key_publish_delay: i64,
    pub db_max_connections: u32,
    pub db_acquire_timeout: Duration,
    pub log_level: String,
    pub log_format: LogFormat,
    pub insecure_http_issuer: bool,
    pub resource_hook_url: Option<String>,
    /// Exact origins (`scheme://host[:port]`) allowed by CORS at the token
    /// and revocation endpoints.
    pub cors_allowed_origins: Vec<String>,
    pub max_scopes: usize,
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// `None`: `<data_dir>/kek` for SQLite; PostgreSQL needs one set.
    pub kek_file: Option<PathBuf>,
    pub transport: Limits,
    /// Set by `serve` only: administrative commands never create or retire
    /// signing keys behind a running server's back.
    pub manage_signing_keys: bool,
    pub client_documents: portcullis_core::client_document::DocumentSettings,
    pub registration: portcullis_core::registration::RegistrationSettings,
    pub backchannel_logout_allow_loopback: bool,
}

impl Config {
    pub fn from_file(f: FileConfig) -> Result<Self, ConfigError> {
        let listen: SocketAddr = match f.listen.as_deref() {
            None => "127.0.0.1:8080".parse().expect("a valid default"),
            Some(s) => s.parse().map_err(|_| {
                ConfigError(format!(
                    "listen: `{s}` is not an address like 127.0.0.1:8080"
                ))
            })?,
        };
        let issuer = f.issuer.map(|i| validate_issuer(&i)).transpose()?;
        let data_dir = f
            .data_dir
            .unwrap_or_else(|| PathBuf::from("portcullis-data"));
        let database_url = f
            .database_url
            .unwrap_or_else(|| format!("sqlite://{}", data_dir.join("portcullis.db").display()));
        if !(database_url.starts_with("sqlite:")
            || database_url.starts_with("postgres:")
            || database_url.starts_with("postgresql:"))
        {
            return err("database_url must start with sqlite: or postgres:");
        }
        let signing_alg = match f.signing_alg.as_deref() {
            None => SigningAlg::ES256,
            Some(s) => SigningAlg::parse(s).ok_or_else(|| {
                ConfigError(format!(
                    "signing_alg: `{s}` is not one of ES256, EdDSA, RS256"
                ))
            })?,
        };
        let token_lifetime = f.token_lifetime.unwrap_or(3600);
        if !(60..=portcullis_core::keyring::MAX_TOKEN_LIFETIME).contains(&token_lifetime) {
            return err(format!(
                "token_lifetime: {token_lifetime} is outside 60..=86400 seconds"
            ));
        }
        let max_scopes = f
            .max_scopes
            .unwrap_or(portcullis_core::scope_policy::DEFAULT_MAX_SCOPES);
        if !(1..=500).contains(&max_scopes) {
            return err(format!("max_scopes: {max_scopes} is outside 1..=500"));
        }
        let log_format = match f.log_format.as_deref() {
            None | Some("text") => LogFormat::Text,
            Some("json") => LogFormat::Json,
            Some(other) => return err(format!("log_format: `{other}` is not text or json")),
        };
        let secs = |key: &str, v: Option<u64>, default: u64, min: u64| {
            let v = v.unwrap_or(default);
            if !(min..=3600).contains(&v) {
                return err(format!("{key}: {v} is outside {min}..=3600 seconds"));
            }
            Ok(Duration::from_secs(v))
        };
        let max_connections = f.max_connections.unwrap_or(768);
        if !(1..=1_000_000).contains(&max_connections) {
            return err(format!(
                "max_connections: {max_connections} is outside 1..=1000000"
            ));
        }
        let transport = Limits {
            header_read_timeout: secs(
                "header_read_timeout_secs",
                f.header_read_timeout_secs,
                10,
                1,
            )?,
            body_read_timeout: secs("body_read_timeout_secs", f.body_read_timeout_secs, 30, 1)?,
            idle_timeout: secs("idle_timeout_secs", f.idle_timeout_secs, 60, 1)?,
            max_connections,
            shutdown_grace: secs("shutdown_grace_secs", f.shutdown_grace_secs, 10, 0)?,
        };
        let config = Self {
            listen,
            issuer,
            audience: f.audience,
            data_dir,
            database_url,
            signing_alg,
            token_lifetime,
            cache_ttl: Duration::from_millis(f.cache_ttl_ms.unwrap_or(2000)),
            key_refresh: Duration::from_secs(f.key_refresh_secs.unwrap_or(5).max(1)),
            key_publish_delay: f.key_publish_delay_secs.unwrap_or(600).max(0),
            db_max_connections: f.db_max_connections.unwrap_or(10).max(1),
            db_acquire_timeout: Duration::from_millis(f.db_acquire_timeout_ms.unwrap_or(3000)),
            log_level: f.log_level.unwrap_or_else(|| "info".into()),
            log_format,
            insecure_http_issuer: f.insecure_http_issuer.unwrap_or(false),
            max_scopes,
            kek_file: f.kek_file,
            trusted_proxies: portcullis_core::proxy::parse_trusted(
                &f.trusted_proxies.unwrap_or_default(),
            )
            .map_err(|e| ConfigError(format!("trusted_proxies: {e}")))?,
            transport,
            manage_signing_keys: true,
            resource_hook_url: f
                .resource_hook_url
                .map(|u| {
                    url::Url::parse(&u)
                        .ok()
                        .filter(|p| matches!(p.scheme(), "http" | "https"))
                        .map(|_| u.clone())
                        .ok_or_else(|| {
                            ConfigError(format!("resource_hook_url: `{u}` is not an http(s) URL"))
                        })
                })
                .transpose()?,
            cors_allowed_origins: f
                .cors_allowed_origins
                .unwrap_or_default()
                .iter()
                .map(|o| validate_origin(o))
                .collect::<Result<_, _>>()?,
            backchannel_logout_allow_loopback: f.backchannel_logout_allow_loopback.unwrap_or(false),
            client_documents: portcullis_core::client_document::DocumentSettings {
                enabled: f.client_id_metadata_documents.unwrap_or(true),
                allow_loopback: f.client_id_metadata_allow_loopback.unwrap_or(false),
                deny_hosts: hosts(
                    f.client_id_metadata_deny_hosts,
                    "client_id_metadata_deny_hosts",
                )?,
                allow_hosts: hosts(
                    f.client_id_metadata_allow_hosts,
                    "client_id_metadata_allow_hosts",
                )?,
                extra_roots_pem: match &f.client_id_metadata_ca_file {
                    None => Vec::new(),
                    Some(path) => {
                        let pem = std::fs::read(path).map_err(|e| {
                            ConfigError(format!(
                                "client_id_metadata_ca_file {}: {e}",
                                path.display()
                            ))
                        })?;
                        portcullis_core::outbound::parse_roots(&pem).map_err(|e| {
                            ConfigError(format!(
                                "client_id_metadata_ca_file {}: {e}",
                                path.display()
                            ))
                        })?;
                        pem
                    }
                },
            },
            registration: portcullis_core::registration::RegistrationSettings {
                mode: match f.registration.as_deref() {
                    None | Some("token") => portcullis_core::registration::RegistrationMode::Token,
                    Some("open") => portcullis_core::registration::RegistrationMode::Open,
                    Some("off") => portcullis_core::registration::RegistrationMode::Off,
                    Some(other) => {
                        return err(format!(
                            "registration: `{other}` is not one of token, open, off"
                        ));
                    }
                },
                unused_expiry: match f.registration_unused_days.unwrap_or(90) {
                    0 => return err("registration_unused_days must be at least 1"),
                    d => Duration::from_secs(d.saturating_mul(86_400)),
                },
            },
        };
        config.check_transport()?;
        Ok(config)
    }

    /// An `http://` issuer is only safe when nothing but this machine can
    /// reach the server.
    fn check_transport(&self) -> Result<(), ConfigError> {
        let http_issuer = self
            .issuer
            .as_deref()
            .is_none_or(|i| i.starts_with("http://"));
        if !self.listen.ip().is_loopback() && http_issuer && !self.insecure_http_issuer {
            return err(format!(
                "refusing to listen on {} with an http:// issuer: tokens and client secrets would cross the network unencrypted. \
                 Set an https:// issuer (TLS terminated in front of Portcullis), or set insecure_http_issuer = true if you accept that",
                self.listen
            ));
        }
        Ok(())
    }

    /// The domain's settings, once the issuer is known.
    pub fn settings(&self, issuer: &str) -> Settings {
        let mut s = Settings::new(issuer);
        if let Some(aud) = &self.audience {
            s.audience = aud.clone();
        }
        s.default_token_lifetime = self.token_lifetime;
        s.signing_alg = self.signing_alg;
        s.cache_ttl = self.cache_ttl;
        s.manage_signing_keys = self.manage_signing_keys;
        s.cors_allowed_origins = self.cors_allowed_origins.clone();
        s.max_scopes = self.max_scopes;
        s.trusted_proxies = self.trusted_proxies.clone();
        s.insecure_http_resources = self.insecure_http_issuer;
        s.client_documents = self.client_documents.clone();
        s.registration = self.registration.clone();
        s.backchannel_logout_allow_loopback = self.backchannel_logout_allow_loopback;
        s
    }

    pub fn uses_default_sqlite(&self) -> bool {
        self.database_url.starts_with("sqlite:")
    }
}

fn validate_issuer(raw: &str) -> Result<String, ConfigError> {
    let url = url::Url::parse(raw).map_err(|e| ConfigError(format!("issuer `{raw}`: {e}")))?;
    if !matches!(url.scheme(), "http" | "https")
        || url.query().is_some()
        || url.fragment().is_some()
    {
        return err(format!(
            "issuer `{raw}` must be an http(s) URL without query or fragment (RFC 8414 §2)"
        ));
    }
    Ok(raw.trim_end_matches('/').to_owned())
}

/// An origin as a browser sends it in `Origin`: `scheme://host[:port]`,
/// lowercase, no path, no default port.
fn validate_origin(raw: &str) -> Result<String, ConfigError> {
    let bad = || {
        ConfigError(format!(
            "cors_allowed_origins: `{raw}` is not an origin like https://app.example.com (scheme, host and port only)"
        ))
    };
    let url = url::Url::parse(raw).map_err(|_| bad())?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(bad());
    }
    let origin = url.origin().ascii_serialization();
    if origin != raw.trim_end_matches('/') {
        return Err(bad());
    }
    Ok(origin)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn defaults_are_the_embedded_install() {
        let c = Config::from_file(FileConfig::default()).unwrap();
        assert_eq!(c.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(c.database_url, "sqlite://portcullis-data/portcullis.db");
        assert_eq!(c.signing_alg, SigningAlg::ES256);
        assert_eq!(c.token_lifetime, 3600);
        assert_eq!(
            c.transport,
            Limits {
                header_read_timeout: Duration::from_secs(10),
                body_read_timeout: Duration::from_secs(30),
                idle_timeout: Duration::from_secs(60),
                max_connections: 768,
                shutdown_grace: Duration::from_secs(10),
            }
        );
    }

    #[test]
    fn transport_limits_from_file_and_environment() {
        let f = FileConfig::from_toml(
            "header_read_timeout_secs = 5\nmax_connections = 100\nshutdown_grace_secs = 0",
            Path::new("x"),
        )
        .unwrap()
        .overlay_env(env(&[
            ("PORTCULLIS_IDLE_TIMEOUT_SECS", "15"),
            ("PORTCULLIS_MAX_CONNECTIONS", "200"),
        ]))
        .unwrap();
        let t = Config::from_file(f).unwrap().transport;
        assert_eq!(t.header_read_timeout, Duration::from_secs(5));
        assert_eq!(t.body_read_timeout, Duration::from_secs(30));
        assert_eq!(t.idle_timeout, Duration::from_secs(15));
        assert_eq!(t.max_connections, 200);
        assert_eq!(t.shutdown_grace, Duration::ZERO);
        let bad = |f: FileConfig| Config::from_file(f).unwrap_err().0;
        assert!(
            bad(FileConfig {
                header_read_timeout_secs: Some(0),
                ..Default::default()
            })
            .contains("header_read_timeout_secs")
        );
        assert!(
            bad(FileConfig {
                max_connections: Some(0),
                ..Default::default()
            })
            .contains("max_connections")
        );
        assert!(
            bad(FileConfig {
                idle_timeout_secs: Some(86_400),
                ..Default::default()
            })
            .contains("idle_timeout_secs")
        );
    }

    #[test]
    fn unknown_keys_are_named() {
        let e = FileConfig::from_toml(
            "listen = \"127.0.0.1:1\"\nlisten_port = 3\n",
            Path::new("p.toml"),
        )
        .unwrap_err();
        assert!(e.0.contains("listen_port"), "{e}");
    }

    #[test]
    fn env_overrides_file() {
        let f = FileConfig::from_toml(
            "token_lifetime = 600\nsigning_alg = \"RS256\"",
            Path::new("x"),
        )
        .unwrap();
        let f = f
            .overlay_env(env(&[
                ("PORTCULLIS_SIGNING_ALG", "EdDSA"),
                ("PORTCULLIS_CACHE_TTL_MS", "0"),
            ]))
            .unwrap();
        let c = Config::from_file(f).unwrap();
        assert_eq!(c.signing_alg, SigningAlg::EdDSA);
        assert_eq!(c.token_lifetime, 600);
        assert_eq!(c.cache_ttl, Duration::ZERO);
        let e = FileConfig::default()
            .overlay_env(env(&[("PORTCULLIS_TOKEN_LIFETIME", "soon")]))
            .unwrap_err();
        assert!(e.0.contains("PORTCULLIS_TOKEN_LIFETIME"));
    }

    #[test]
    fn public_listen_with_http_issuer_needs_the_insecure_switch() {
        let f = || FileConfig {
            listen: Some("0.0.0.0:8080".into()),
            ..Default::default()
        };
        let e = Config::from_file(f()).unwrap_err();
        assert!(e.0.contains("insecure_http_issuer"), "{e}");
        assert!(
            Config::from_file(FileConfig {
                insecure_http_issuer: Some(true),
                ..f()
            })
            .is_ok()
        );
        assert!(
            Config::from_file(FileConfig {
                issuer: Some("https://auth.example.com/".into()),
                ..f()
            })
            .is_ok()
        );
    }

    #[test]
    fn cors_origins_from_file_and_environment() {
        let f = FileConfig::from_toml(
            "cors_allowed_origins = [\"https://spa.example\", \"http://localhost:5173/\"]",
            Path::new("x"),
        )
        .unwrap();
        let c = Config::from_file(f).unwrap();
        assert_eq!(
            c.cors_allowed_origins,
            ["https://spa.example", "http://localhost:5173"]
        );
        let f = FileConfig::default()
            .overlay_env(env(&[(
                "PORTCULLIS_CORS_ALLOWED_ORIGINS",
                "https://a.example, https://b.example:8443",
            )]))
            .unwrap();
        let c = Config::from_file(f).unwrap();
        assert_eq!(
            c.cors_allowed_origins,
            ["https://a.example", "https://b.example:8443"]
        );
        for bad in [
            "https://a.example/app",
            "*",
            "ftp://a.example",
            "https://A.example",
        ] {
            let e = Config::from_file(FileConfig {
                cors_allowed_origins: Some(vec![bad.into()]),
                ..Default::default()
            })
            .unwrap_err();
            assert!(e.0.contains("cors_allowed_origins"), "{bad}: {e}");
        }
    }

    #[test]
    fn bad_values_are_named() {
        let bad = |f: FileConfig| Config::from_file(f).unwrap_err().0;
        assert!(
            bad(FileConfig {
                signing_alg: Some("HS256".into()),
                ..Default::default()
            })
            .contains("signing_alg")
        );
        assert!(
            bad(FileConfig {
                token_lifetime: Some(5),
                ..Default::default()
            })
            .contains("token_lifetime")
        );
        assert!(
            bad(FileConfig {
                issuer: Some("ftp://x".into()),
                ..Default::default()
            })
            .contains("issuer")
        );
        assert!(
            bad(FileConfig {
                listen: Some("nope".into()),
                ..Default::default()
            })
            .contains("listen")
        );
    }

    #[test]
    fn client_documents_and_registration_settings_are_checked() {
        let bad = |f: FileConfig| Config::from_file(f).unwrap_err().0;
        let dir = tempfile::tempdir().unwrap();
        let not_pem = dir.path().join("ca.pem");
        std::fs::write(&not_pem, "not a certificate").unwrap();
        assert!(
            bad(FileConfig {
                client_id_metadata_ca_file: Some(not_pem),
                ..Default::default()
            })
            .contains("client_id_metadata_ca_file")
        );
        assert!(
            bad(FileConfig {
                client_id_metadata_deny_hosts: Some(vec!["https://x.example/".into()]),
                ..Default::default()
            })
            .contains("client_id_metadata_deny_hosts")
        );
        assert!(
            bad(FileConfig {
                registration: Some("sometimes".into()),
                ..Default::default()
            })
            .contains("registration")
        );
        let c = Config::from_file(FileConfig {
            client_id_metadata_allow_hosts: Some(vec!["*.Agents.example".into()]),
            registration: Some("open".into()),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(c.client_documents.allow_hosts, ["*.agents.example"]);
        assert!(c.client_documents.enabled && !c.client_documents.allow_loopback);
        assert_eq!(
            c.registration.mode,
            portcullis_core::registration::RegistrationMode::Open
        );
    }
}

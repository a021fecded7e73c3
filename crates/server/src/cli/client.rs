use clap::Subcommand;
use portcullis_core::AuthServer;
use portcullis_core::client_oidc::OidcSettings;
use portcullis_core::model::Client;
use portcullis_core::registry::{ClientSpec, ClientUpdate};
use portcullis_protocol::{ClientId, GrantType, RedirectUri, ResourceUri, ScopeSet, Secret};
use serde_json::json;

use super::oidc_args::OidcArgs;
use super::{CliError, CliResult, print_json};

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Register a client. A confidential client's secret is printed once.
    Create {
        #[arg(long)]
        name: String,
        /// authorization_code, client_credentials, refresh_token or implicit; repeatable.
        #[arg(long = "grant-type", required = true)]
        grant_types: Vec<String>,
        /// Allowed scopes, space-separated.
        #[arg(long, default_value = "")]
        scope: String,
        /// What a request without `scope` gets; repeatable, each
        /// space-separated; `--default-scope ""` for none (requests must
        /// name their scopes). Default: every allowed scope that is not a
        /// resource permission.
        #[arg(long = "default-scope")]
        default_scopes: Vec<String>,
        /// Exact redirect URI; repeatable.
        #[arg(long = "redirect-uri")]
        redirect_uris: Vec<String>,
        /// A public client (no secret; PKCE required).
        #[arg(long)]
        public: bool,
        /// Access-token lifetime in seconds (default: the server's).
        #[arg(long)]
        token_lifetime: Option<i64>,
        /// Let this confidential client redeem codes without PKCE.
        #[arg(long)]
        no_pkce: bool,
        /// The username of the developer who answers for the client (it
        /// then appears in their console).
        #[arg(long)]
        owner: Option<String>,
        /// A restricted resource (RFC 8707) it may ask tokens for; repeatable.
        #[arg(long = "resource")]
        resources: Vec<String>,
        #[command(flatten)]
        oidc: OidcArgs,
        #[arg(long)]
        json: bool,
    },
    /// List clients.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Show one client.
    Show {
        client_id: String,
        #[arg(long)]
        json: bool,
    },
    /// Change a client; options not given stay as they are.
    Update {
        client_id: String,
        #[arg(long)]
        name: Option<String>,
        #[arg(long = "grant-type")]
        grant_types: Vec<String>,
        #[arg(long)]
        scope: Option<String>,
        /// Replaces the default scopes; repeatable.
        #[arg(long = "default-scope", conflicts_with = "all_default_scopes")]
        default_scopes: Vec<String>,
        /// Back to the default default: every allowed scope that is not a
        /// resource permission.
        #[arg(long)]
        all_default_scopes: bool,
        #[arg(long = "redirect-uri")]
        redirect_uris: Vec<String>,
        #[arg(long)]
        token_lifetime: Option<i64>,
        /// Replaces the restricted resources it may ask tokens for; repeatable.
        #[arg(long = "resource", conflicts_with = "no_resources")]
        resources: Vec<String>,
        /// Allows it no restricted resource.
        #[arg(long)]
        no_resources: bool,
        #[command(flatten)]
        oidc: OidcArgs,
        #[arg(long)]
        json: bool,
    },
    /// Delete a client; its tokens stop introspecting active.
    Delete { client_id: String },
    /// Issue a new secret (printed once); the old one stops working.
    RotateSecret {
        client_id: String,
        #[arg(long)]
        json: bool,
    },
}

fn grant_types(raw: &[String]) -> Result<Vec<GrantType>, CliError> {
    let mut out = Vec::new();
    for g in raw
        .iter()
        .flat_map(|g| g.split([',', ' ']))
        .filter(|g| !g.is_empty())
    {
        let g: GrantType = g.parse()?;
        if !out.contains(&g) {
            out.push(g);
        }
    }
    Ok(out)
}

fn redirect_uris(raw: &[String]) -> Result<Vec<RedirectUri>, CliError> {
    let mut out: Vec<RedirectUri> = Vec::new();
    for u in raw {
        let u = RedirectUri::parse(u)?;
        if !out.contains(&u) {
            out.push(u);
        }
    }
    Ok(out)
}

fn resources(raw: &[String]) -> Result<Vec<ResourceUri>, CliError> {
    let mut out: Vec<ResourceUri> = Vec::new();
    for r in raw {
        let r: ResourceUri = r.parse().map_err(|e| CliError(format!("{e}")))?;
        if !out.contains(&r) {
            out.push(r);
        }
    }
    Ok(out)
}

fn scopes(raw: &str) -> Result<ScopeSet, CliError> {
    Ok(ScopeSet::parse(&raw.replace('+', " "))?)
}

/// Repeated `--default-scope`: `None` when not given at all.
fn default_scopes(raw: &[String]) -> Result<Option<ScopeSet>, CliError> {
    if raw.is_empty() {
        return Ok(None);
    }
    scopes(&raw.join(" ")).map(Some)
}

pub fn to_json(c: &Client, secret: Option<&Secret>) -> serde_json::Value {
    let mut v = json!({
        "client_id": c.id,
        "name": c.name,
        "public": c.is_public(),
        "grant_types": c.grant_types,
        "scope": c.scopes.to_string(),
        "default_scope": c.default_scopes.as_ref().map(ToString::to_string),
        "redirect_uris": c.redirect_uris,
        "token_lifetime": c.token_lifetime,
        "require_pkce": c.require_pkce,
        "owner": c.owner,
        "resources": c.resources,
        "oidc": OidcSettings::from(&c.oidc),
        "created_at": c.created_at,
        "updated_at": c.updated_at,
    });
    if let Some(s) = secret {
        v["client_secret"] = json!(s.expose());
    }
    v
}

fn print_client(c: &Client, secret: Option<&Secret>, json: bool) {
    if json {
        print_json(&to_json(c, secret));
        return;
    }
    println!("client_id:     {}", c.id);
    if let Some(s) = secret {
        println!("client_secret: {}   (shown once: store it now)", s.expose());
    }
    println!("name:          {}", c.name);
    println!(
        "type:          {}",
        if c.is_public() {
            "public"
        } else {
            "confidential"
        }
    );
    let grants: Vec<_> = c.grant_types.iter().map(|g| g.as_str()).collect();
    println!("grant types:   {}", grants.join(" "));
    println!("scope:         {}", c.scopes);
    match &c.default_scopes {
        None => println!("default scope: (every plain scope above)"),
        Some(d) if d.is_empty() => println!("default scope: (none: requests must name scopes)"),
        Some(d) => println!("default scope: {d}"),
    }
    for u in &c.redirect_uris {
        println!("redirect uri:  {u}");
    }
    if let Some(l) = c.token_lifetime {
        println!("token life:    {l} s");
    }
    for u in &c.oidc.post_logout_redirect_uris {
        println!("after logout:  {u}");
    }
    if let Some(u) = &c.oidc.backchannel_logout_uri {
        let sid = if c.oidc.backchannel_logout_session_required {
            " (with sid)"
        } else {
            ""
        };
        println!("logout tokens: {u}{sid}");
    }
    match c.oidc.sector() {
        Some(sector) => println!("subject type:  pairwise, sector {sector}"),
        None => println!("subject type:  public"),
    }
    if let Some(alg) = c.oidc.id_token_signed_response_alg {
        println!("ID token alg:  {}", alg.as_str());
    }
}

pub async fn run(server: &AuthServer, cmd: Command) -> CliResult {
    match cmd {
        Command::Create {
            name,
            grant_types: g,
            scope,
            default_scopes: d,
            redirect_uris: r,
            public,
            token_lifetime,
            no_pkce,
            owner,
            resources: res,
            oidc,
            json,
        } => {
            let operator = server.operator();
            let owner = match owner {
                Some(name) => Some(operator.user_by_name(&name).await?.id),
                None => None,
            };
            let created = operator
                .register_client(ClientSpec {
                    name,
                    grant_types: grant_types(&g)?,
                    scopes: scopes(&scope)?,
                    default_scopes: default_scopes(&d)?,
                    redirect_uris: redirect_uris(&r)?,
                    public,
                    token_lifetime,
                    require_pkce: !no_pkce,
                    owner,
                    resources: resources(&res)?,
                    oidc: oidc.applied_to(&Default::default())?,
                })
                .await?;
            print_client(&created.client, created.secret.as_ref(), json);
        }
        Command::List { json } => {
            let clients = server.operator().list_clients().await?;
            if json {
                print_json(&serde_json::Value::Array(
                    clients.iter().map(|c| to_json(c, None)).collect(),
                ));
            } else if clients.is_empty() {
                println!("no clients; register one with `portcullis client create`");
            } else {
                for c in clients {
                    println!("{}\t{}\t{}", c.id, c.name, c.scopes);
                }
            }
        }
        Command::Show { client_id, json } => {
            let c = server
                .operator()
                .client(&ClientId::new(&client_id))
                .await
                .map_err(|_| CliError(format!("client `{client_id}` not found")))?;
            print_client(&c, None, json);
        }
        Command::Update {
            client_id,
            name,
            grant_types: g,
            scope,
            default_scopes: d,
            all_default_scopes,
            redirect_uris: r,
            token_lifetime,
            resources: res,
            no_resources,
            oidc,
            json,
        } => {
            let id = ClientId::new(client_id);
            let oidc = if oidc.is_empty() {
                None
            } else {
                let current = server.operator().client(&id).await?;
                Some(oidc.applied_to(&current.oidc)?)
            };
            let update = ClientUpdate {
                name,
                grant_types: (!g.is_empty()).then(|| grant_types(&g)).transpose()?,
                scopes: scope.as_deref().map(scopes).transpose()?,
                default_scopes: if all_default_scopes {
                    Some(None)
                } else {
                    default_scopes(&d)?.map(Some)
                },
                redirect_uris: (!r.is_empty()).then(|| redirect_uris(&r)).transpose()?,
                token_lifetime: token_lifetime.map(Some),
                require_pkce: None,
                resources: if no_resources {
                    Some(Vec::new())
                } else {
                    (!res.is_empty()).then(|| resources(&res)).transpose()?
                },
                oidc,
            };
            let c = server.operator().update_client(&id, update).await?;
            print_client(&c, None, json);
        }
        Command::Delete { client_id } => {
            server
                .operator()
                .delete_client(&ClientId::new(&client_id))
                .await?;
            println!("deleted client {client_id}");
        }
        Command::RotateSecret { client_id, json } => {
            let id = ClientId::new(&client_id);
            let secret = server.operator().rotate_client_secret(&id).await?;
            if json {
                print_json(&json!({"client_id": id, "client_secret": secret.expose()}));
            } else {
                println!(
                    "client_secret: {}   (shown once: store it now)",
                    secret.expose()
                );
            }
        }
    }
    Ok(())
}

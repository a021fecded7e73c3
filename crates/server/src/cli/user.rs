use std::io::Read;

use clap::Subcommand;
use portcullis_core::AuthServer;
use portcullis_core::model::User;
use portcullis_core::profile::{Address, UserProfile};
use serde_json::json;

use super::{CliError, CliResult, print_json};

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create a user; the password is read from standard input.
    Create {
        #[arg(long)]
        username: String,
        /// Read the password from standard input (the only way: never on
        /// the command line, where other users could see it).
        #[arg(long, required = true)]
        password_stdin: bool,
        /// An administrator of Portcullis.
        #[arg(long)]
        admin: bool,
        #[arg(long)]
        json: bool,
    },
    /// List users.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Disable a user: no login, and their tokens stop working.
    Disable { username: String },
    /// Enable a disabled user again.
    Enable { username: String },
    /// Set a user's password, read from standard input.
    SetPassword {
        username: String,
        #[arg(long, required = true)]
        password_stdin: bool,
    },
    /// Show a user's OpenID Connect profile (the claims the profile,
    /// email, phone and address scopes release), or change it: each option
    /// given replaces that attribute, an empty value removes it.
    Profile {
        username: String,
        #[command(flatten)]
        changes: Box<ProfileArgs>,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, clap::Args)]
pub struct ProfileArgs {
    #[arg(long)]
    name: Option<String>,
    #[arg(long)]
    given_name: Option<String>,
    #[arg(long)]
    family_name: Option<String>,
    #[arg(long)]
    middle_name: Option<String>,
    #[arg(long)]
    nickname: Option<String>,
    /// URL of the user's profile page (the `profile` claim).
    #[arg(long = "profile-url")]
    profile: Option<String>,
    /// URL of a picture of the user.
    #[arg(long)]
    picture: Option<String>,
    #[arg(long)]
    website: Option<String>,
    /// Changing the address un-verifies it unless --email-verified is given.
    #[arg(long)]
    email: Option<String>,
    /// You vouch for the email address (`true` when given without a value).
    #[arg(long, num_args = 0..=1, default_missing_value = "true")]
    email_verified: Option<bool>,
    #[arg(long)]
    gender: Option<String>,
    /// YYYY-MM-DD, YYYY or 0000-MM-DD.
    #[arg(long)]
    birthdate: Option<String>,
    /// An IANA time zone, e.g. Europe/Paris.
    #[arg(long)]
    zoneinfo: Option<String>,
    /// A BCP 47 language tag, e.g. fr-CA.
    #[arg(long)]
    locale: Option<String>,
    /// E.164, e.g. +33612345678. Changing it un-verifies it unless
    /// --phone-number-verified is given.
    #[arg(long)]
    phone_number: Option<String>,
    #[arg(long, num_args = 0..=1, default_missing_value = "true")]
    phone_number_verified: Option<bool>,
    /// The whole postal address as one text (the address claim's `formatted`).
    #[arg(long)]
    address_formatted: Option<String>,
    #[arg(long)]
    street_address: Option<String>,
    #[arg(long)]
    locality: Option<String>,
    #[arg(long)]
    region: Option<String>,
    #[arg(long)]
    postal_code: Option<String>,
    #[arg(long)]
    country: Option<String>,
}

impl ProfileArgs {
    /// `p` with the options given applied; `None` when none was.
    fn applied_to(self, mut p: UserProfile) -> Option<UserProfile> {
        let mut changed = false;
        let mut set = |field: &mut Option<String>, v: Option<String>| {
            if let Some(v) = v {
                *field = Some(v).filter(|v| !v.is_empty());
                changed = true;
            }
        };
        set(&mut p.name, self.name);
        set(&mut p.given_name, self.given_name);
        set(&mut p.family_name, self.family_name);
        set(&mut p.middle_name, self.middle_name);
        set(&mut p.nickname, self.nickname);
        set(&mut p.profile, self.profile);
        set(&mut p.picture, self.picture);
        set(&mut p.website, self.website);
        let email_before = p.email.clone();
        set(&mut p.email, self.email);
        set(&mut p.gender, self.gender);
        set(&mut p.birthdate, self.birthdate);
        set(&mut p.zoneinfo, self.zoneinfo);
        set(&mut p.locale, self.locale);
        let phone_before = p.phone_number.clone();
        set(&mut p.phone_number, self.phone_number);
        let mut address = p.address.take().unwrap_or_default();
        set(&mut address.formatted, self.address_formatted);
        set(&mut address.street_address, self.street_address);
        set(&mut address.locality, self.locality);
        set(&mut address.region, self.region);
        set(&mut address.postal_code, self.postal_code);
        set(&mut address.country, self.country);
        p.address = (address != Address::default()).then_some(address);
        // A new address or number is not verified because the old one was.
        if p.email != email_before {
            p.email_verified = false;
        }
        if p.phone_number != phone_before {
            p.phone_number_verified = false;
        }
        if let Some(v) = self.email_verified {
            p.email_verified = v;
            changed = true;
        }
        if let Some(v) = self.phone_number_verified {
            p.phone_number_verified = v;
            changed = true;
        }
        changed.then_some(p)
    }
}

fn read_password() -> Result<String, CliError> {
    let mut s = String::new();
    std::io::stdin()
        .read_to_string(&mut s)
        .map_err(|e| CliError(format!("cannot read the password from standard input: {e}")))?;
    Ok(s.trim_end_matches(['\r', '\n']).to_owned())
}

fn to_json(u: &User) -> serde_json::Value {
    json!({
        "id": u.id,
        "username": u.username,
        "disabled": u.disabled,
        "admin": u.admin,
        "profile": u.profile,
        "created_at": u.created_at,
    })
}

pub async fn run(server: &AuthServer, cmd: Command) -> CliResult {
    match cmd {
        Command::Create {
            username,
            admin,
            json,
            ..
        } => {
            let user = server
                .operator()
                .create_user(&username, &read_password()?, admin)
                .await?;
            if json {
                print_json(&to_json(&user));
            } else {
                println!("created user {} ({})", user.username, user.id);
            }
        }
        Command::List { json } => {
            let users = server.operator().list_users().await?;
            if json {
                print_json(&serde_json::Value::Array(
                    users.iter().map(to_json).collect(),
                ));
            } else {
                for u in users {
                    let flags = match (u.disabled, u.admin) {
                        (true, _) => " (disabled)",
                        (false, true) => " (admin)",
                        _ => "",
                    };
                    println!("{}\t{}{flags}", u.id, u.username);
                }
            }
        }
        Command::Disable { username } => {
            let operator = server.operator();
            let id = operator.user_by_name(&username).await?.id;
            operator.set_user_disabled(&id, true).await?;
            println!("disabled user {username}");
        }
        Command::Enable { username } => {
            let operator = server.operator();
            let id = operator.user_by_name(&username).await?.id;
            operator.set_user_disabled(&id, false).await?;
            println!("enabled user {username}");
        }
        Command::SetPassword { username, .. } => {
            let operator = server.operator();
            let id = operator.user_by_name(&username).await?.id;
            operator.set_password(&id, &read_password()?).await?;
            println!("password of {username} changed");
        }
        Command::Profile {
            username,
            changes,
            json,
        } => {
            let operator = server.operator();
            let user = operator.user_by_name(&username).await?;
            let user = match (*changes).applied_to(user.profile.clone()) {
                Some(profile) => operator.set_user_profile(&user.id, profile).await?,
                None => user,
            };
            if json {
                print_json(&serde_json::to_value(&user.profile)?);
            } else {
                let claims = serde_json::to_value(&user.profile)?;
                match claims.as_object() {
                    Some(m) if !m.is_empty() => {
                        for (k, v) in m {
                            println!("{k}: {v}");
                        }
                    }
                    _ => println!("{username} has no profile attributes"),
                }
            }
        }
    }
    Ok(())
}

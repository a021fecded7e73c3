//! The OpenID Connect options of `client create` and `client update`.

use portcullis_core::client_oidc::{ClientOidc, OidcSettings};

use super::CliError;

#[derive(Debug, Default, clap::Args)]
pub struct OidcArgs {
    /// Where RP-initiated logout may send the browser back to (exact
    /// match); repeatable. On update it replaces the list; one empty
    /// value (`--post-logout-redirect-uri ""`) removes them all.
    #[arg(long = "post-logout-redirect-uri")]
    post_logout_redirect_uris: Vec<String>,
    /// Where back-channel logout tokens are POSTed (https; http only on
    /// loopback); an empty value removes it.
    #[arg(long)]
    backchannel_logout_uri: Option<String>,
    /// Put `sid` in its logout tokens (`true` when given without a value).
    #[arg(long, num_args = 0..=1, default_missing_value = "true")]
    backchannel_logout_session_required: Option<bool>,
    /// `public` (the user's id in `sub`) or `pairwise` (a `sub` of its own
    /// per sector, OIDC Core §8).
    #[arg(long)]
    subject_type: Option<String>,
    /// The host a pairwise client's subjects are computed for (default:
    /// the host of its redirect URIs).
    #[arg(long)]
    sector_identifier: Option<String>,
    /// How its ID tokens are signed: RS256 (the default), ES256 or EdDSA.
    #[arg(long = "id-token-alg")]
    id_token_signed_response_alg: Option<String>,
}

impl OidcArgs {
    pub fn is_empty(&self) -> bool {
        self.post_logout_redirect_uris.is_empty()
            && self.backchannel_logout_uri.is_none()
            && self.backchannel_logout_session_required.is_none()
            && self.subject_type.is_none()
            && self.sector_identifier.is_none()
            && self.id_token_signed_response_alg.is_none()
    }

    /// `base` with the options given replacing what they name, parsed.
    pub fn applied_to(self, base: &ClientOidc) -> Result<ClientOidc, CliError> {
        let mut s = OidcSettings::from(base);
        if !self.post_logout_redirect_uris.is_empty() {
            s.post_logout_redirect_uris = self
                .post_logout_redirect_uris
                .into_iter()
                .filter(|u| !u.is_empty())
                .collect();
        }
        if let Some(u) = self.backchannel_logout_uri {
            if u.is_empty() {
                s.backchannel_logout_session_required = false;
            }
            s.backchannel_logout_uri = Some(u);
        }
        if let Some(b) = self.backchannel_logout_session_required {
            s.backchannel_logout_session_required = b;
        }
        if let Some(t) = self.subject_type {
            if t != "pairwise" {
                // A sector belongs to pairwise subjects only.
                s.sector_identifier = None;
            }
            s.subject_type = Some(t);
        }
        if let Some(sector) = self.sector_identifier {
            s.sector_identifier = Some(sector);
        }
        let alg_given = self.id_token_signed_response_alg.is_some();
        if let Some(alg) = self.id_token_signed_response_alg {
            s.id_token_signed_response_alg = Some(alg);
        }
        let mut parsed = s.parse().map_err(|e| CliError(e.to_string()))?;
        if !alg_given {
            // Unset stays unset (the default), not RS256 written down.
            parsed.id_token_signed_response_alg = base.id_token_signed_response_alg;
        }
        Ok(parsed)
    }
}

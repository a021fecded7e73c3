//! ID tokens (OIDC Core §2, §3.1.3.6): signed by the key ring, RS256 unless
//! the client registered another algorithm.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use portcullis_protocol::claims::ID_TOKEN_TYP;
use portcullis_protocol::{IdTokenClaims, OAuthError, UserId};
use sha2::{Digest, Sha256, Sha512};

use crate::keyring::ID_TOKEN_DEFAULT_ALG;
use crate::model::{Authentication, Client, SigningAlg};
use crate::server::AuthServer;

/// `at_hash`: the left half of the access token's hash, with the hash of
/// the ID token's algorithm (SHA-512 for Ed25519).
pub fn at_hash(alg: SigningAlg, access_token: &str) -> String {
    let digest: Vec<u8> = match alg {
        SigningAlg::ES256 | SigningAlg::RS256 => Sha256::digest(access_token).to_vec(),
        SigningAlg::EdDSA => Sha512::digest(access_token).to_vec(),
    };
    URL_SAFE_NO_PAD.encode(&digest[..digest.len() / 2])
}

impl AuthServer {
    /// The algorithm `client`'s ID tokens are signed with: its choice
    /// while the key ring signs it (registration checks it does), else
    /// RS256, which the ring always has.
    pub fn id_token_alg(&self, client: &Client) -> SigningAlg {
        match client.oidc.id_token_signed_response_alg {
            Some(alg) if self.keys.current().signer_for(alg).is_some() => alg,
            _ => ID_TOKEN_DEFAULT_ALG,
        }
    }

    /// An ID token for `user`'s login `login`, beside `access_token`.
    pub(crate) fn issue_id_token(
        &self,
        client: &Client,
        user: &UserId,
        login: &Authentication,
        access_token: &str,
        lifetime: i64,
    ) -> Result<String, OAuthError> {
        let alg = self.id_token_alg(client);
        let keys = self.keys.current();
        let key = keys.signer_for(alg).ok_or_else(|| {
            OAuthError::server_error(format!(
                "no {} signing key for ID tokens: run `portcullis keys rotate --alg {}`",
                alg.as_str(),
                alg.as_str()
            ))
        })?;
        let now = self.now();
        let claims = IdTokenClaims {
            iss: self.settings.issuer.clone(),
            sub: self.subject_for(client, user),
            aud: client.id.to_string(),
            azp: client.id.clone(),
            exp: now + lifetime,
            iat: now,
            auth_time: login.auth_time,
            nonce: login.nonce.clone(),
            acr: None,
            amr: login.amr.clone(),
            at_hash: Some(at_hash(alg, access_token)),
            sid: Some(login.sid.clone()),
        };
        key.sign_typed(ID_TOKEN_TYP, &claims)
    }

    /// An `id_token_hint` (OIDC Core §3.1.2.1): an ID token this server
    /// issued to `client`, expired or not.
    pub fn verify_id_token_hint(
        &self,
        hint: &str,
        client: &Client,
    ) -> Result<IdTokenClaims, OAuthError> {
        let claims = self.decode_id_token_hint(hint)?;
        if claims.aud != client.id.as_str() {
            return Err(OAuthError::invalid_request(
                "id_token_hint was issued to another client",
            ));
        }
        Ok(claims)
    }

    /// An ID token this server signed, whoever it was for. Expiry is not
    /// checked: a hint names a past sign-in (OIDC Core §3.1.2.1).
    pub fn decode_id_token_hint(&self, hint: &str) -> Result<IdTokenClaims, OAuthError> {
        self.keys
            .current()
            .verify_typed(ID_TOKEN_TYP, hint)
            .filter(|c: &IdTokenClaims| c.iss == self.settings.issuer)
            .ok_or_else(|| {
                OAuthError::invalid_request("id_token_hint is not an ID token issued here")
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn at_hash_is_the_left_half_of_the_hash() {
        // OIDC Core §A.3's example token and its at_hash.
        let token = "jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y";
        assert_eq!(at_hash(SigningAlg::RS256, token), "77QmUPtjPfzWtF2AnpK9RQ");
        assert_eq!(at_hash(SigningAlg::EdDSA, token).len(), 43);
    }
}

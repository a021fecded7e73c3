//! User passwords: Argon2id, stored as PHC strings. Passwords are
//! low-entropy, so unlike our random secrets they need a slow hash.
//!
//! OWASP's Password Storage Cheat Sheet lists equally strong Argon2id
//! settings that trade memory for iterations; we take 12 MiB and 3
//! iterations (rather than 19 MiB and 2) so that a burst of logins stays
//! within the server's memory budget. Hashes made with other parameters
//! still verify: the PHC string carries its own.

use std::sync::LazyLock;

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

fn argon2() -> Argon2<'static> {
    let params = Params::new(12 * 1024, 3, 1, None).expect("valid Argon2 parameters");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

pub fn hash_password(password: &str) -> String {
    let salt = SaltString::generate(&mut OsRng);
    argon2()
        .hash_password(password.as_bytes(), &salt)
        .expect("Argon2 hashing with valid parameters")
        .to_string()
}

/// Checks `password` against a PHC string; a malformed hash never matches.
pub fn verify_password(phc: &str, password: &str) -> bool {
    PasswordHash::new(phc)
        .map(|h| argon2().verify_password(password.as_bytes(), &h).is_ok())
        .unwrap_or(false)
}

/// Verified against when the user does not exist, so an unknown username
/// costs the same work as a wrong password.
pub static DUMMY_HASH: LazyLock<String> = LazyLock::new(|| hash_password("not a real password"));

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_argon2id_phc_and_verify() {
        let h = hash_password("correct horse");
        assert!(h.starts_with("$argon2id$v=19$m=12288,t=3,p=1$"), "{h}");
        assert!(verify_password(&h, "correct horse"));
        assert!(!verify_password(&h, "wrong"));
        assert!(!verify_password("garbage", "correct horse"));
        assert_ne!(h, hash_password("correct horse"), "salted");
    }
}

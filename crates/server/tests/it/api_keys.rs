//! API secret keys: created once, stored hashed, introspected, revoked.

use portcullis_core::api_keys::ApiKeySpec;
use portcullis_protocol::ScopeSet;
use serde_json::Value;

use crate::support::TestServer;

async fn key_for(s: &TestServer, owner: &str, scope: &str) -> (String, String) {
    let created = s
        .server()
        .operator()
        .create_api_key(ApiKeySpec {
            owner: s.owner(owner).await,
            name: "ci".into(),
            scopes: ScopeSet::parse(scope).unwrap(),
            expires_in_days: None,
        })
        .await
        .unwrap();
    (created.record.id, created.key.expose().to_owned())
}

#[tokio::test]
async fn an_api_key_introspects_active_until_revoked() {
    let s = TestServer::start().await;
    let rs = s.client("read").await;
    s.server()
        .operator()
        .create_user("bob", "long enough pw", false)
        .await
        .unwrap();
    let (id, key) = key_for(&s, "bob", "read").await;
    assert!(key.starts_with("pcs_"));

    let info = s.introspect(&rs, &key).await;
    assert_eq!(info["active"], true);
    assert_eq!(info["token_type"], "api_key");
    assert_eq!(info["scope"], "read");
    let bob = s
        .server()
        .store()
        .find_user_by_username("bob")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(info["sub"], bob.id.as_str());
    assert!(info.get("exp").is_none(), "no expiry was set");

    // Only the hash is stored.
    let rec = s.server().store().find_api_key(&id).await.unwrap().unwrap();
    assert!(!format!("{rec:?}").contains(&key[21..60]));

    // A typo is refused without a lookup, and so is a forged secret.
    let mut typo = key.clone();
    typo.replace_range(30..31, if &key[30..31] == "A" { "B" } else { "A" });
    assert_eq!(s.introspect(&rs, &typo).await["active"], false);

    // last_used is recorded, in batches.
    assert!(s.server().flush_api_key_usage().await.unwrap() >= 1);
    let rec = s.server().store().find_api_key(&id).await.unwrap().unwrap();
    assert!(rec.last_used_at.is_some());

    s.server().operator().revoke_api_key(&id).await.unwrap();
    assert_eq!(s.introspect(&rs, &key).await["active"], false);
    assert!(
        s.server().operator().revoke_api_key(&id).await.is_err(),
        "revoked once"
    );
}

#[tokio::test]
async fn client_owned_keys_carry_the_client_id_and_expiry() {
    let s = TestServer::start().await;
    let c = s.client("read").await;
    let created = s
        .server()
        .operator()
        .create_api_key(ApiKeySpec {
            owner: portcullis_core::model::Owner::Client(c.id.clone()),
            name: "backend".into(),
            scopes: ScopeSet::parse("read").unwrap(),
            expires_in_days: Some(30),
        })
        .await
        .unwrap();
    let info = s.introspect(&c, created.key.expose()).await;
    assert_eq!(info["client_id"], c.id.as_str());
    assert_eq!(info["sub"], c.id.as_str());
    let exp = info["exp"].as_i64().unwrap();
    assert_eq!(exp - s.server().now(), 30 * 86_400);

    // An expired key is inactive at once.
    let mut rec = s
        .server()
        .store()
        .find_api_key(&created.record.id)
        .await
        .unwrap()
        .unwrap();
    rec.id = "00000000000000ff".into();
    rec.expires_at = Some(s.server().now() - 1);
    s.server().store().insert_api_key(&rec).await.unwrap();
    let secret_part = &created.key.expose()[21..64];
    let body = format!("pcs_00000000000000ff_{secret_part}");
    let check = {
        use base64::Engine as _;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(crc32(&body).to_be_bytes())
    };
    let expired = format!("{body}{check}");
    assert_eq!(s.introspect(&c, &expired).await["active"], false);
}

fn crc32(s: &str) -> u32 {
    // The same CRC-32 (IEEE) the server uses, computed bit by bit here so
    // the test does not share the implementation it checks.
    let mut crc = 0xFFFF_FFFFu32;
    for b in s.bytes() {
        crc ^= b as u32;
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

#[test]
fn the_cli_creates_lists_and_revokes_keys() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let run = |args: &[&str]| crate::cli::portcullis(d, args);
    assert!(
        run(&["scope", "define", "read", "--description", "Read"])
            .status
            .success()
    );
    let out = run(&[
        "client",
        "create",
        "--name",
        "svc",
        "--grant-type",
        "client_credentials",
        "--scope",
        "read",
        "--json",
    ]);
    let client: Value = serde_json::from_slice(&out.stdout).unwrap();
    let owner = client["client_id"].as_str().unwrap();
    let out = run(&[
        "api-key",
        "create",
        "--client",
        owner,
        "--name",
        "deploy",
        "--scope",
        "read",
        "--expires-in",
        "7",
        "--json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let key: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(key["key"].as_str().unwrap().starts_with("pcs_"));
    let id = key["id"].as_str().unwrap();

    let out = run(&["api-key", "list", "--json"]);
    let list: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(list[0]["id"], id);
    assert_eq!(list[0]["name"], "deploy");
    assert!(list[0].get("key").is_none(), "the secret is never listed");
    assert!(!String::from_utf8_lossy(&out.stdout).contains(key["key"].as_str().unwrap()));

    assert!(run(&["api-key", "revoke", id]).status.success());
    let out = run(&["api-key", "list", "--json"]);
    let list: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(list[0]["revoked_at"].is_i64());

    let out = run(&[
        "api-key", "create", "--user", "nobody", "--name", "x", "--json",
    ]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("nobody"));
}

#[test]
fn the_cli_manages_users() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_portcullis"))
        .current_dir(d)
        .args([
            "user",
            "create",
            "--username",
            "carol",
            "--password-stdin",
            "--json",
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"a good password\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let user: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(user["username"], "carol");
    let out = crate::cli::portcullis(d, &["user", "disable", "carol"]);
    assert!(out.status.success());
    let out = crate::cli::portcullis(d, &["user", "list", "--json"]);
    let list: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(list[0]["disabled"], true);
    let out = crate::cli::portcullis(
        d,
        &[
            "user",
            "create",
            "--username",
            "bad name",
            "--password-stdin",
        ],
    );
    assert!(!out.status.success());
}

#[tokio::test]
async fn keys_end_with_their_owner() {
    let s = TestServer::start_with(|f| f.cache_ttl_ms = Some(0)).await;
    let rs = s.client("read").await;
    s.server()
        .operator()
        .create_user("dora", "long enough pw", false)
        .await
        .unwrap();
    let (_, user_key) = key_for(&s, "dora", "read").await;
    let owner = s.client("read").await;
    let (_, client_key) = key_for(&s, owner.id.as_str(), "read").await;
    assert_eq!(s.introspect(&rs, &user_key).await["active"], true);
    assert_eq!(s.introspect(&rs, &client_key).await["active"], true);

    s.server()
        .operator()
        .set_user_disabled(&s.user_id("dora").await, true)
        .await
        .unwrap();
    s.server()
        .operator()
        .delete_client(&owner.id)
        .await
        .unwrap();
    assert_eq!(s.introspect(&rs, &user_key).await["active"], false);
    assert_eq!(s.introspect(&rs, &client_key).await["active"], false);

    // A token shaped like a key with multi-byte characters is just inactive.
    let tricky = format!("pcs_{}é{}", "a".repeat(15), "b".repeat(49));
    assert_eq!(s.introspect(&rs, &tricky).await["active"], false);
}

//! The administrative CLI on the configured store.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

pub fn portcullis(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_portcullis"))
        .current_dir(dir)
        .env_remove("PORTCULLIS_DATABASE_URL")
        .args(args)
        .output()
        .expect("the binary runs")
}

fn ok_json(dir: &Path, args: &[&str]) -> Value {
    let out = portcullis(dir, args);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("one JSON document")
}

/// Fails with exactly one line on stderr that mentions `needle`.
fn fails_naming(dir: &Path, args: &[&str], needle: &str) {
    let out = portcullis(dir, args);
    assert!(!out.status.success(), "{args:?} should fail");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
    assert!(err.contains(needle), "`{needle}` in: {err}");
}

#[test]
fn client_lifecycle_on_the_embedded_store() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ok_json(
        d,
        &[
            "scope",
            "define",
            "read",
            "--description",
            "Read your data",
            "--json",
        ],
    );
    ok_json(
        d,
        &[
            "scope",
            "define",
            "ADDON_USER_APPROVED",
            "--description",
            "Approve add-ons",
            "--requires-resource",
            "--json",
        ],
    );
    let scopes = ok_json(d, &["scope", "list", "--json"]);
    // Two of ours, and the admin API's own scope.
    assert_eq!(scopes.as_array().unwrap().len(), 3);
    assert!(d.join("portcullis-data/portcullis.db").exists());

    let created = ok_json(
        d,
        &[
            "client",
            "create",
            "--name",
            "Acme",
            "--grant-type",
            "client_credentials",
            "--scope",
            "read ADDON_USER_APPROVED",
            "--token-lifetime",
            "600",
            "--json",
        ],
    );
    let id = created["client_id"].as_str().unwrap().to_owned();
    let secret = created["client_secret"].as_str().unwrap().to_owned();
    assert_eq!(secret.len(), 43);
    assert_eq!(created["token_lifetime"], 600);

    let shown = ok_json(d, &["client", "show", &id, "--json"]);
    assert!(
        shown.get("client_secret").is_none(),
        "the secret is shown once"
    );
    assert_eq!(shown["scope"], "ADDON_USER_APPROVED read");

    let listed = ok_json(d, &["client", "list", "--json"]);
    assert_eq!(listed.as_array().unwrap().len(), 1);

    let updated = ok_json(
        d,
        &[
            "client", "update", &id, "--name", "Acme 2", "--scope", "read", "--json",
        ],
    );
    assert_eq!(updated["name"], "Acme 2");
    assert_eq!(updated["scope"], "read");
    assert_eq!(updated["default_scope"], serde_json::Value::Null);

    // Default scopes: set, emptied, back to every plain scope; and only
    // what the client may ask for.
    let set = ok_json(
        d,
        &["client", "update", &id, "--default-scope", "read", "--json"],
    );
    assert_eq!(set["default_scope"], "read");
    let none = ok_json(
        d,
        &["client", "update", &id, "--default-scope", "", "--json"],
    );
    assert_eq!(none["default_scope"], "");
    let back = ok_json(
        d,
        &["client", "update", &id, "--all-default-scopes", "--json"],
    );
    assert_eq!(back["default_scope"], serde_json::Value::Null);
    fails_naming(
        d,
        &[
            "client",
            "update",
            &id,
            "--default-scope",
            "ADDON_USER_APPROVED",
        ],
        "default scope",
    );
    let unlisted = ok_json(
        d,
        &[
            "scope",
            "define",
            "beta",
            "--description",
            "Beta",
            "--unlisted",
            "--json",
        ],
    );
    assert_eq!(unlisted["listed"], false);
    fails_naming(
        d,
        &["scope", "define", "offline_access", "--description", "x"],
        "built in",
    );

    // Resources (RFC 8707): defined, allowed on a client, listed, deleted.
    let mcp = "https://api.example/mcp";
    let r = ok_json(
        d,
        &[
            "resource",
            "define",
            mcp,
            "--name",
            "Acme MCP",
            "--scope",
            "read",
            "--restricted",
            "--json",
        ],
    );
    assert_eq!(r["uri"], mcp);
    assert_eq!(r["restricted"], true);
    assert_eq!(r["scope"], "read");
    fails_naming(
        d,
        &["resource", "define", "/relative", "--name", "x"],
        "absolute URI",
    );
    let allowed = ok_json(d, &["client", "update", &id, "--resource", mcp, "--json"]);
    assert_eq!(allowed["resources"], serde_json::json!([mcp]));
    fails_naming(
        d,
        &[
            "client",
            "update",
            &id,
            "--resource",
            "https://nowhere.example/",
        ],
        "not defined",
    );
    let listed = ok_json(d, &["resource", "list", "--json"]);
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert!(portcullis(d, &["resource", "delete", mcp]).status.success());
    fails_naming(d, &["resource", "delete", mcp], "not found");

    let rotated = ok_json(d, &["client", "rotate-secret", &id, "--json"]);
    assert_ne!(rotated["client_secret"].as_str().unwrap(), secret);

    let public = ok_json(
        d,
        &[
            "client",
            "create",
            "--name",
            "SPA",
            "--grant-type",
            "authorization_code",
            "--redirect-uri",
            "http://127.0.0.1:9000/cb",
            "--public",
            "--json",
        ],
    );
    assert!(public.get("client_secret").is_none());
    assert_eq!(public["public"], true);
    assert_eq!(public["require_pkce"], true);

    let out = portcullis(d, &["client", "delete", &id]);
    assert!(out.status.success());
    fails_naming(d, &["client", "show", &id], "not found");

    // Administrative commands never create signing keys: serve does.
    let keys = ok_json(d, &["keys", "list", "--json"]);
    assert_eq!(keys.as_array().unwrap().len(), 0);
    let rotated = ok_json(d, &["keys", "rotate", "--publish-delay", "0", "--json"]);
    let keys = ok_json(d, &["keys", "list", "--json"]);
    assert_eq!(keys[0]["kid"], rotated["kid"]);
    assert_eq!(keys[0]["alg"], "ES256");
    assert_eq!(keys[0]["state"], "active");
}

#[test]
fn admin_commands_never_change_the_signing_key() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ok_json(d, &["keys", "rotate", "--publish-delay", "0", "--json"]);
    let before = ok_json(d, &["keys", "list", "--json"]);
    // A command run with another configured algorithm leaves the ring alone.
    let out = Command::new(env!("CARGO_BIN_EXE_portcullis"))
        .current_dir(d)
        .env("PORTCULLIS_SIGNING_ALG", "RS256")
        .args(["scope", "define", "read", "--description", "Read"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(ok_json(d, &["keys", "list", "--json"]), before);
}

#[test]
fn bad_input_gets_one_line_naming_the_problem() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ok_json(
        d,
        &["scope", "define", "read", "--description", "Read", "--json"],
    );
    let create = |extra: &[&str]| {
        let mut args = vec!["client", "create", "--name", "x", "--scope", "read"];
        args.extend_from_slice(extra);
        args.into_iter().map(String::from).collect::<Vec<_>>()
    };
    let run = |extra: &[&str], needle: &str| {
        let args = create(extra);
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        fails_naming(d, &refs, needle);
    };
    run(
        &["--grant-type", "password"],
        "unknown grant type `password`",
    );
    run(
        &[
            "--grant-type",
            "authorization_code",
            "--redirect-uri",
            "/cb",
        ],
        "not an absolute URI",
    );
    run(
        &[
            "--grant-type",
            "authorization_code",
            "--redirect-uri",
            "https://a.example/cb?x=1",
        ],
        "query",
    );
    run(
        &[
            "--grant-type",
            "authorization_code",
            "--redirect-uri",
            "https://a.example/cb#f",
        ],
        "fragment",
    );
    run(
        &[
            "--grant-type",
            "authorization_code",
            "--redirect-uri",
            "http://a.example/cb",
        ],
        "http on a non-loopback host",
    );
    fails_naming(
        d,
        &[
            "client",
            "create",
            "--name",
            "x",
            "--grant-type",
            "client_credentials",
            "--scope",
            "nope",
        ],
        "unknown scope `nope`",
    );
    fails_naming(
        d,
        &[
            "client",
            "create",
            "--name",
            "x",
            "--grant-type",
            "client_credentials",
            "--public",
        ],
        "public client cannot use client_credentials",
    );
    fails_naming(d, &["scope", "define", "a__b", "--description", "x"], "__");
    fails_naming(d, &["client", "rotate-secret", "nope"], "not found");
}

#[test]
fn a_bad_config_file_names_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("p.toml");
    std::fs::write(&cfg, "listen = \"127.0.0.1:0\"\nlisten_addr = 1\n").unwrap();
    fails_naming(
        dir.path(),
        &["--config", cfg.to_str().unwrap(), "client", "list"],
        "listen_addr",
    );
}

#[test]
fn oidc_client_settings_and_user_profiles() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // A client may only choose an algorithm some active key signs.
    ok_json(
        d,
        &[
            "keys",
            "rotate",
            "--alg",
            "ES256",
            "--publish-delay",
            "0",
            "--json",
        ],
    );
    let created = ok_json(
        d,
        &[
            "client",
            "create",
            "--name",
            "RP",
            "--grant-type",
            "authorization_code",
            "--redirect-uri",
            "https://rp.example/cb",
            "--post-logout-redirect-uri",
            "https://rp.example/bye",
            "--backchannel-logout-uri",
            "https://rp.example/bcl",
            "--backchannel-logout-session-required",
            "--subject-type",
            "pairwise",
            "--id-token-alg",
            "ES256",
            "--json",
        ],
    );
    let oidc = &created["oidc"];
    assert_eq!(
        oidc["post_logout_redirect_uris"],
        serde_json::json!(["https://rp.example/bye"])
    );
    assert_eq!(oidc["backchannel_logout_uri"], "https://rp.example/bcl");
    assert_eq!(oidc["backchannel_logout_session_required"], true);
    assert_eq!(oidc["subject_type"], "pairwise");
    assert_eq!(
        oidc["sector_identifier"], "rp.example",
        "the sector defaults to the redirect URIs' host"
    );
    assert_eq!(oidc["id_token_signed_response_alg"], "ES256");
    let id = created["client_id"].as_str().unwrap();

    // Update changes what it names and keeps the rest.
    let updated = ok_json(
        d,
        &[
            "client",
            "update",
            id,
            "--subject-type",
            "public",
            "--backchannel-logout-uri",
            "",
            "--json",
        ],
    );
    let oidc = &updated["oidc"];
    assert_eq!(oidc["subject_type"], "public");
    assert!(oidc.get("sector_identifier").is_none());
    assert!(oidc.get("backchannel_logout_uri").is_none());
    assert_eq!(oidc["backchannel_logout_session_required"], false);
    assert_eq!(
        oidc["post_logout_redirect_uris"],
        serde_json::json!(["https://rp.example/bye"])
    );
    assert_eq!(oidc["id_token_signed_response_alg"], "ES256");
    let shown = ok_json(d, &["client", "show", id, "--json"]);
    assert_eq!(shown["oidc"], updated["oidc"], "the update was stored");

    // Bad settings name the problem and change nothing.
    fails_naming(
        d,
        &[
            "client",
            "update",
            id,
            "--post-logout-redirect-uri",
            "https://rp.example/bye#frag",
        ],
        "post_logout_redirect_uris[0]",
    );
    fails_naming(
        d,
        &["client", "update", id, "--id-token-alg", "HS256"],
        "id_token_signed_response_alg",
    );
    fails_naming(
        d,
        &[
            "client",
            "update",
            id,
            "--backchannel-logout-uri",
            "http://rp.example/bcl",
        ],
        "https",
    );
    assert_eq!(
        ok_json(d, &["client", "show", id, "--json"])["oidc"],
        updated["oidc"]
    );

    // Profiles.
    let mut child = Command::new(env!("CARGO_BIN_EXE_portcullis"))
        .current_dir(d)
        .env_remove("PORTCULLIS_DATABASE_URL")
        .args(["user", "create", "--username", "alice", "--password-stdin"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"correct horse battery staple")
        .unwrap();
    assert!(child.wait().unwrap().success());
    assert_eq!(
        ok_json(d, &["user", "profile", "alice", "--json"]),
        serde_json::json!({})
    );
    let p = ok_json(
        d,
        &[
            "user",
            "profile",
            "alice",
            "--name",
            "Alice Liddell",
            "--given-name",
            "Alice",
            "--email",
            "alice@example.com",
            "--email-verified",
            "--phone-number",
            "+33612345678",
            "--locality",
            "Oxford",
            "--json",
        ],
    );
    assert_eq!(p["name"], "Alice Liddell");
    assert_eq!(p["given_name"], "Alice");
    assert_eq!(p["email"], "alice@example.com");
    assert_eq!(p["email_verified"], true);
    assert_eq!(p["phone_number"], "+33612345678");
    assert_eq!(p["address"]["locality"], "Oxford");

    // A new address is not verified because the old one was; an empty
    // value removes an attribute; the rest stays.
    let p = ok_json(
        d,
        &[
            "user",
            "profile",
            "alice",
            "--email",
            "alice@wonderland.example",
            "--given-name",
            "",
            "--json",
        ],
    );
    assert_eq!(p["email"], "alice@wonderland.example");
    assert!(p.get("email_verified").is_none());
    assert!(p.get("given_name").is_none());
    assert_eq!(p["name"], "Alice Liddell");
    let users = ok_json(d, &["user", "list", "--json"]);
    assert_eq!(users[0]["profile"], p);

    fails_naming(
        d,
        &["user", "profile", "alice", "--email", "not-an-address"],
        "email",
    );
    fails_naming(
        d,
        &["user", "profile", "alice", "--birthdate", "yesterday"],
        "birthdate",
    );
    fails_naming(d, &["user", "profile", "nobody", "--name", "N"], "nobody");
    assert_eq!(ok_json(d, &["user", "profile", "alice", "--json"]), p);
}

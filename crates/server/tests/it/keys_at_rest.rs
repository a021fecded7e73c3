//! Secrets at rest: the data directory, the database and the
//! key-encryption key are owner-only; private signing keys are stored
//! sealed (both stores), keys stored in the clear are sealed on start, a
//! wrong KEK refuses to start, and `keys rewrap` moves every key.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use portcullis::{Config, FileConfig};
use portcullis_core::kek::Kek;
use portcullis_core::keyring::new_key_record;
use portcullis_core::model::SigningAlg;
use portcullis_core::store::KeyStore;
use portcullis_store::{SqlStore, StoreOptions};

use crate::cli::portcullis;
use crate::support::TestServer;

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

fn config(dir: &Path, tune: impl FnOnce(&mut FileConfig)) -> Config {
    let mut f = FileConfig {
        listen: Some("127.0.0.1:0".into()),
        data_dir: Some(dir.to_path_buf()),
        log_level: Some("warn".into()),
        ..Default::default()
    };
    tune(&mut f);
    Config::from_file(f).unwrap()
}

async fn assert_sealed(s: &TestServer) {
    let keys = s.server().store().list_signing_keys().await.unwrap();
    assert!(!keys.is_empty());
    for k in keys {
        assert!(Kek::is_sealed(&k.private_pkcs8), "{} is sealed", k.kid);
        assert_ne!(k.private_pkcs8.first(), Some(&0x30), "no DER in the clear");
    }
}

#[tokio::test]
async fn the_embedded_store_is_private_and_its_keys_sealed() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let path = data.clone();
    let s = TestServer::start_with(move |f| f.data_dir = Some(path)).await;
    assert_eq!(mode(&data), 0o700);
    assert_eq!(mode(&data.join("portcullis.db")), 0o600);
    assert_eq!(mode(&data.join("kek")), 0o600);
    assert_sealed(&s).await;
    // Sealed keys still sign: a token verifies against the JWKS.
    s.define_scope("read", false).await;
    let c = s.client("read").await;
    assert!(!s.token(&c, None).await.is_empty());
}

#[tokio::test]
async fn keys_are_sealed_on_postgres() {
    let Some(url) = crate::postgres::fresh_database().await else {
        return;
    };
    let s = crate::postgres::instance(&url).await;
    assert_sealed(&s).await;
    // A PostgreSQL deployment names its KEK; none is made up.
    let dir = tempfile::tempdir().unwrap();
    let c = config(dir.path(), |f| f.database_url = Some(url.clone()));
    let e = portcullis::start(&c)
        .await
        .err()
        .expect("refused")
        .to_string();
    assert!(e.contains("kek_file is required"), "{e}");
}

#[tokio::test]
async fn keys_stored_in_the_clear_are_sealed_on_start() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir(&data).unwrap();
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o700)).unwrap();
    let url = format!("sqlite://{}?mode=rwc", data.join("portcullis.db").display());
    let store = SqlStore::connect(&StoreOptions::new(&url)).await.unwrap();
    store.migrate().await.unwrap();
    let legacy = new_key_record(SigningAlg::ES256, 0, 0);
    store.insert_signing_key(&legacy).await.unwrap();
    store.close().await;
    std::fs::set_permissions(
        data.join("portcullis.db"),
        std::fs::Permissions::from_mode(0o600),
    )
    .unwrap();

    let path = data.clone();
    let s = TestServer::start_with(move |f| f.data_dir = Some(path)).await;
    assert_sealed(&s).await;
    let jwks: serde_json::Value = s
        .http
        .get(s.url("/jwks.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .any(|k| k["kid"] == legacy.kid.as_str()),
        "the migrated key is still published: {jwks}"
    );
}

#[tokio::test]
async fn a_wrong_kek_or_readable_files_refuse_to_start_and_rewrap_moves_every_key() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let c = config(&data, |_| {});
    let running = portcullis::start(&c).await.unwrap();
    running.shutdown().await.unwrap();

    // Rewrap under a new KEK, through the CLI.
    let new = dir.path().join("new-kek");
    let data_arg = data.display().to_string();
    let new_arg = new.display().to_string();
    let out = portcullis(
        dir.path(),
        &[
            "--data-dir",
            &data_arg,
            "keys",
            "rewrap",
            "--new-kek-file",
            &new_arg,
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(mode(&new), 0o600);

    // The old KEK no longer opens the keys; the new one does.
    let e = portcullis::start(&c)
        .await
        .err()
        .expect("refused")
        .to_string();
    assert!(e.contains("does not open"), "{e}");
    let with_new = config(&data, |f| f.kek_file = Some(new.clone()));
    portcullis::start(&with_new)
        .await
        .unwrap()
        .shutdown()
        .await
        .unwrap();

    // Files others can read are refused, with the fix.
    std::fs::set_permissions(&new, std::fs::Permissions::from_mode(0o644)).unwrap();
    let e = portcullis::start(&with_new)
        .await
        .err()
        .expect("refused")
        .to_string();
    assert!(e.contains("chmod 600"), "{e}");
    std::fs::set_permissions(&new, std::fs::Permissions::from_mode(0o600)).unwrap();
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o755)).unwrap();
    let e = portcullis::start(&with_new)
        .await
        .err()
        .expect("refused")
        .to_string();
    assert!(e.contains("chmod 700"), "{e}");
}

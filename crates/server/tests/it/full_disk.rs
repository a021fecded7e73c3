//! A store that cannot write (here a read-only SQLite file; a full disk
//! fails the same way): writes answer 503 with Retry-After, reads keep
//! working, and /readyz says the store cannot write.

use portcullis::{Config, FileConfig};

use crate::support::TestServer;

#[tokio::test]
async fn a_read_only_store_answers_503_and_is_not_ready() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let path = data.clone();
    // One issuer for both runs, so the first run's token is this server's.
    let issuer = "http://portcullis.test";
    let s = TestServer::start_with(move |f| {
        f.data_dir = Some(path);
        f.issuer = Some(issuer.into());
    })
    .await;
    s.define_scope("read", false).await;
    let c = s.client("read").await;
    let token = s.token(&c, None).await;
    drop(s);
    // Let the dropped server close its pool.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;

    let db = data.join("portcullis.db");
    let config = Config::from_file(FileConfig {
        listen: Some("127.0.0.1:0".into()),
        data_dir: Some(data.clone()),
        database_url: Some(format!("sqlite://{}?mode=ro", db.display())),
        log_level: Some("warn".into()),
        issuer: Some(issuer.into()),
        ..Default::default()
    })
    .unwrap();
    let running = portcullis::start(&config).await.expect("starts read-only");
    let base = format!("http://{}", running.addr);
    let http = reqwest::Client::new();

    // Reads work: a client-credentials token needs no write.
    let res = http
        .post(format!("{base}/oauth/token"))
        .basic_auth(c.id.as_str(), Some(c.secret.expose()))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);

    // A write is 503 temporarily_unavailable with Retry-After, not a 500.
    let res = http
        .post(format!("{base}/oauth/revoke"))
        .basic_auth(c.id.as_str(), Some(c.secret.expose()))
        .form(&[("token", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 503);
    assert_eq!(res.headers()["retry-after"], "1");
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["error"], "temporarily_unavailable");

    let res = http.get(format!("{base}/readyz")).send().await.unwrap();
    assert_eq!(res.status(), 503);
    assert_eq!(res.text().await.unwrap(), "store cannot write");
    running.shutdown().await.unwrap();
}

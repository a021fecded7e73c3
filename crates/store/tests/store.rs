//! The store test suite: every test runs on SQLite, and on PostgreSQL when
//! `PORTCULLIS_TEST_POSTGRES` names a server.

use portcullis_core::client_oidc::{ClientOidc, SubjectType};
use portcullis_core::keyring::new_key_record;
use portcullis_core::model::{
    ApiKeyRecord, Authentication, Client, ClientOrigin, GrantPolicy, Owner, RefreshTokenRecord,
    ScopeDefinition, SigningAlg,
};
use portcullis_core::store::{
    ApiKeyStore, ClientStore, KeyStore, RefreshTokenStore, RegistrationStore, RevocationStore,
    ScopeStore, Store, StoreError,
};
use portcullis_protocol::{ClientId, GrantType, Jti, RedirectUri, ScopeSet, Secret, UserId};
use portcullis_store::testing::{fresh_postgres_database, postgres_base_url};
use portcullis_store::{SqlStore, StoreOptions};

/// Fresh stores to run a test on: SQLite always, PostgreSQL when configured.
async fn stores() -> Vec<(SqlStore, Option<tempfile::TempDir>)> {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("t.db").display());
    let sqlite = SqlStore::connect(&StoreOptions::new(url)).await.unwrap();
    sqlite.migrate().await.unwrap();
    let mut out = vec![(sqlite, Some(dir))];
    if let Some(base) = postgres_base_url() {
        let url = fresh_postgres_database(&base).await.unwrap();
        let pg = SqlStore::connect(&StoreOptions::new(url)).await.unwrap();
        pg.migrate().await.unwrap();
        out.push((pg, None));
    } else {
        eprintln!("PORTCULLIS_TEST_POSTGRES is not set: PostgreSQL store tests skipped");
    }
    out
}

fn client(id: &str) -> Client {
    Client {
        id: ClientId::new(id),
        name: "Acme".into(),
        secret_hash: Some(Secret::new("s").hash()),
        redirect_uris: vec![
            RedirectUri::parse("https://a.example/cb").unwrap(),
            RedirectUri::parse("http://127.0.0.1:9000/cb").unwrap(),
        ],
        grant_types: vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
        scopes: ScopeSet::parse("read ADDON__X1").unwrap(),
        default_scopes: None,
        token_lifetime: Some(600),
        require_pkce: true,
        owner: Some(UserId::new("alice")),
        resources: vec!["https://api.example/mcp".parse().unwrap()],
        origin: ClientOrigin::Registered,
        // Not the default, so the round trip shows the settings are stored.
        oidc: ClientOidc {
            post_logout_redirect_uris: vec![RedirectUri::parse("https://a.example/bye").unwrap()],
            backchannel_logout_uri: Some("https://a.example/bcl".parse().unwrap()),
            backchannel_logout_session_required: true,
            subject_type: SubjectType::Pairwise {
                sector_identifier: "a.example".into(),
            },
            id_token_signed_response_alg: Some(SigningAlg::ES256),
        },
        created_at: 10,
        updated_at: 10,
    }
}

#[tokio::test]
async fn clients_round_trip_update_rotate_and_delete() {
    for (s, _dir) in stores().await {
        let c = client("c1");
        s.insert_client(&c).await.unwrap();
        assert_eq!(
            s.find_client(&c.id).await.unwrap().unwrap(),
            c,
            "{}",
            s.backend()
        );
        assert!(matches!(
            s.insert_client(&c).await,
            Err(StoreError::Conflict(_))
        ));
        let public = Client {
            secret_hash: None,
            ..client("c2")
        };
        s.insert_client(&public).await.unwrap();
        assert_eq!(s.list_clients().await.unwrap().len(), 2);
        // No defaults is not the same as the default defaults.
        let strict = Client {
            default_scopes: Some(ScopeSet::default()),
            ..client("c3")
        };
        s.insert_client(&strict).await.unwrap();
        assert_eq!(s.find_client(&strict.id).await.unwrap().unwrap(), strict);
        assert!(s.delete_client(&strict.id).await.unwrap());

        let updated = Client {
            name: "Acme 2".into(),
            scopes: ScopeSet::parse("read").unwrap(),
            default_scopes: Some(ScopeSet::parse("read").unwrap()),
            token_lifetime: None,
            updated_at: 20,
            ..c.clone()
        };
        assert!(s.update_client(&updated).await.unwrap());
        assert_eq!(s.find_client(&c.id).await.unwrap().unwrap(), updated);

        let new = Secret::new("new");
        assert!(s.set_client_secret(&c.id, &new.hash(), 30).await.unwrap());
        let got = s.find_client(&c.id).await.unwrap().unwrap();
        assert!(got.secret_hash.unwrap().verify("new"));
        assert!(!got.secret_hash.unwrap().verify("s"));
        assert!(
            !s.set_client_secret(&public.id, &new.hash(), 30)
                .await
                .unwrap(),
            "a public client gets no secret"
        );

        assert!(s.delete_client(&c.id).await.unwrap());
        assert!(!s.delete_client(&c.id).await.unwrap());
        assert!(s.find_client(&c.id).await.unwrap().is_none());
    }
}

#[tokio::test]
async fn a_registration_spends_its_initial_token_in_the_same_transaction() {
    for (s, _dir) in stores().await {
        let token = Secret::new("initial").hash();
        s.insert_registration_token(&token, 10, Some(100))
            .await
            .unwrap();
        let mut c = client("dyn1");
        c.origin = ClientOrigin::Dynamic {
            registration_token: Secret::new("rat").hash(),
            last_used_at: 10,
        };
        // Expired: nothing written.
        assert!(
            !s.insert_registered_client(&c, Some(&token), 100)
                .await
                .unwrap()
        );
        assert!(s.find_client(&c.id).await.unwrap().is_none());
        assert!(
            s.insert_registered_client(&c, Some(&token), 50)
                .await
                .unwrap()
        );
        assert_eq!(s.find_client(&c.id).await.unwrap().unwrap(), c);
        // Spent.
        let mut other = client("dyn2");
        other.origin = ClientOrigin::Dynamic {
            registration_token: Secret::new("rat2").hash(),
            last_used_at: 10,
        };
        assert!(
            !s.insert_registered_client(&other, Some(&token), 50)
                .await
                .unwrap()
        );
        assert!(s.find_client(&other.id).await.unwrap().is_none());
        // A client that fails to insert (duplicate id) leaves the token.
        let fresh = Secret::new("second").hash();
        s.insert_registration_token(&fresh, 10, None).await.unwrap();
        assert!(
            s.insert_registered_client(&c, Some(&fresh), 50)
                .await
                .is_err()
        );
        assert!(
            s.insert_registered_client(&other, Some(&fresh), 50)
                .await
                .unwrap()
        );

        s.touch_client(&c.id, 500).await.unwrap();
        s.touch_client(&c.id, 400).await.unwrap(); // never backwards
        match s.find_client(&c.id).await.unwrap().unwrap().origin {
            ClientOrigin::Dynamic { last_used_at, .. } => assert_eq!(last_used_at, 500),
            o => panic!("{o:?}"),
        }
        s.insert_client(&client("made")).await.unwrap();
        let gone = s.delete_unused_clients(450).await.unwrap();
        assert_eq!(gone, [other.id.clone()]);
        assert!(
            s.find_client(&ClientId::new("made"))
                .await
                .unwrap()
                .is_some()
        );
    }
}

#[tokio::test]
async fn scope_definitions_upsert() {
    for (s, _dir) in stores().await {
        let d = ScopeDefinition {
            name: "read".into(),
            description: "Read".into(),
            requires_resource: false,
            grant_policy: GrantPolicy::Restricted,
            machine_grantable: false,
            listed: true,
            created_at: 1,
        };
        s.upsert_scope(&d).await.unwrap();
        s.upsert_scope(&ScopeDefinition {
            description: "Read it all".into(),
            requires_resource: true,
            grant_policy: GrantPolicy::SelfService,
            machine_grantable: true,
            listed: false,
            ..d.clone()
        })
        .await
        .unwrap();
        let all = s.list_scopes().await.unwrap();
        assert_eq!(all.len(), 1);
        assert_eq!(all[0].description, "Read it all");
        assert!(all[0].requires_resource);
        // The grant policy survives the round trip, and so does a change.
        assert_eq!(all[0].grant_policy, GrantPolicy::SelfService);
        assert!(all[0].machine_grantable);
    }
}

#[tokio::test]
async fn signing_keys_are_stored_and_retired_once() {
    for (s, _dir) in stores().await {
        let k = new_key_record(SigningAlg::EdDSA, 5, 5);
        s.insert_signing_key(&k).await.unwrap();
        let all = s.list_signing_keys().await.unwrap();
        assert_eq!(all, vec![k.clone()]);
        assert!(s.retire_signing_key(&k.kid, 9).await.unwrap());
        assert!(
            !s.retire_signing_key(&k.kid, 10).await.unwrap(),
            "retired once"
        );
        assert_eq!(s.list_signing_keys().await.unwrap()[0].retired_at, Some(9));
    }
}

#[tokio::test]
async fn revoked_access_tokens_are_kept_until_expiry() {
    for (s, _dir) in stores().await {
        let j = Jti::new("j1");
        s.revoke_access_token(&j, 100).await.unwrap();
        s.revoke_access_token(&j, 100).await.unwrap();
        assert!(s.is_access_token_revoked(&j).await.unwrap());
        assert!(!s.is_access_token_revoked(&Jti::new("j2")).await.unwrap());
        assert_eq!(s.purge_expired(99).await.unwrap(), 0);
        assert_eq!(s.purge_expired(100).await.unwrap(), 1);
        assert!(!s.is_access_token_revoked(&j).await.unwrap());
    }
}

#[tokio::test]
async fn batched_lookups_answer_exactly_the_ids_asked() {
    for (s, _dir) in stores().await {
        for j in ["a", "quote\"d", "back\\slash", "é"] {
            s.revoke_access_token(&Jti::new(j), 100).await.unwrap();
        }
        let asked: Vec<Jti> = ["a", "b", "quote\"d", "back\\slash", "é", "%", ""]
            .into_iter()
            .map(Jti::new)
            .collect();
        let mut found = s.revoked_among(&asked).await.unwrap();
        found.sort();
        let want: Vec<Jti> = ["a", "back\\slash", "quote\"d", "é"]
            .into_iter()
            .map(Jti::new)
            .collect();
        assert_eq!(found, want);
        assert!(s.revoked_among(&[]).await.unwrap().is_empty());

        for id in ["0123456789abcdef", "fedcba9876543210"] {
            s.insert_api_key(&ApiKeyRecord {
                id: id.into(),
                name: format!("key {id}"),
                owner: Owner::Client(ClientId::new("c1")),
                secret_hash: Secret::new("s").hash(),
                scopes: ScopeSet::parse("read").unwrap(),
                created_at: 1,
                expires_at: None,
                last_used_at: None,
                revoked_at: None,
            })
            .await
            .unwrap();
        }
        let ids = ["fedcba9876543210", "0000000000000000", "0123456789abcdef"].map(String::from);
        let mut keys = s.find_api_keys(&ids).await.unwrap();
        keys.sort_by(|a, b| a.id.cmp(&b.id));
        assert_eq!(keys.len(), 2);
        assert_eq!(keys[0].id, "0123456789abcdef");
        assert_eq!(keys[1].name, "key fedcba9876543210");
        assert_eq!(keys[1].scopes.to_string(), "read");
    }
}

#[tokio::test]
async fn a_revoked_family_is_marked_even_before_it_has_tokens() {
    for (s, _dir) in stores().await {
        assert!(!s.is_refresh_family_revoked("f1").await.unwrap());
        // A code replayed while its first redemption is still issuing: the
        // family has no token yet, and the mark must still be there.
        assert!(
            s.revoke_refresh_family("f1", 1_000)
                .await
                .unwrap()
                .is_empty()
        );
        assert!(
            s.revoke_refresh_family("f1", 1_001)
                .await
                .unwrap()
                .is_empty()
        );
        assert!(s.is_refresh_family_revoked("f1").await.unwrap());
        assert!(!s.is_refresh_family_revoked("f2").await.unwrap());
        s.purge_expired(1_000 + 86_399).await.unwrap();
        assert!(s.is_refresh_family_revoked("f1").await.unwrap());
        s.purge_expired(1_000 + 86_400).await.unwrap();
        assert!(!s.is_refresh_family_revoked("f1").await.unwrap());
    }
}

#[tokio::test]
async fn only_unrotated_unrevoked_refresh_tokens_are_found_live() {
    for (s, _dir) in stores().await {
        let record = |token: &str, family: &str| RefreshTokenRecord {
            token_hash: Secret::new(token).hash(),
            family_id: family.into(),
            client_id: ClientId::new("c1"),
            user_id: UserId::new("u1"),
            consent_id: "g1".into(),
            scopes: ScopeSet::parse("read").unwrap(),
            access_jti: Jti::new(format!("j-{token}")),
            access_exp: 5_000,
            resources: vec!["https://api.example/mcp".parse().unwrap()],
            // The ID token a refresh issues repeats the original login.
            login: Some(Authentication {
                auth_time: 900,
                sid: "sid-1".into(),
                amr: vec!["pwd".into()],
                nonce: None,
            }),
            created_at: 1_000,
            expires_at: 9_000,
        };
        for (t, f) in [("live", "f1"), ("rotated", "f1"), ("revoked", "f2")] {
            s.insert_refresh_token(&record(t, f)).await.unwrap();
        }
        let hash = |t: &str| Secret::new(t).hash();
        assert!(
            s.take_refresh_token(&hash("rotated"), 1_100)
                .await
                .unwrap()
                .is_some()
        );
        s.revoke_refresh_family("f2", 1_200).await.unwrap();
        let live = s.find_live_refresh_token(&hash("live")).await.unwrap();
        assert_eq!(live, Some(record("live", "f1")), "{}", s.backend());
        for gone in ["rotated", "revoked", "unknown"] {
            assert!(
                s.find_live_refresh_token(&hash(gone))
                    .await
                    .unwrap()
                    .is_none(),
                "{gone}"
            );
        }
        // Whatever its state, the token itself is still there.
        assert!(
            s.find_refresh_token(&hash("rotated"))
                .await
                .unwrap()
                .is_some()
        );
    }
}

#[tokio::test]
async fn migrations_are_idempotent_and_ping_works() {
    for (s, _dir) in stores().await {
        s.migrate().await.unwrap();
        s.ping().await.unwrap();
    }
}

//! Local ES256 access-token verification: what every request to a protected
//! API pays. Target: at least 30,000 verifications per second on one core.
//!
//! `cargo bench -p portcullis-guard --bench verify`

#[path = "../tests/common/mod.rs"]
mod common;

use std::hint::black_box;

use common::{Signer, TestAs, claims, now};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use http::Request;
use portcullis_guard::{Guard, GuardConfig};

fn verify(c: &mut Criterion) {
    // One thread: the figure is per core.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let key = Signer::es256("bench");
    let (_server, guard, cold, token) = rt.block_on(async {
        let server = TestAs::start(&[&key]).await;
        let guard = Guard::new(GuardConfig::new(&server.issuer, common::AUD)).unwrap();
        guard.warm_up().await.unwrap();
        // Without the verified-token memory: the signature checked each time.
        let mut config = GuardConfig::new(&server.issuer, common::AUD);
        config.token_cache_capacity = 0;
        let cold = Guard::new(config).unwrap();
        cold.warm_up().await.unwrap();
        let mut claims = claims(&server.issuer, "user-42", "orders:read profile");
        claims["exp"] = (now() + 3600).into();
        let token = key.sign(&claims);
        (server, guard, cold, token)
    });
    let parts = Request::get("/orders")
        .header("authorization", format!("Bearer {token}"))
        .body(())
        .unwrap()
        .into_parts()
        .0;

    let mut group = c.benchmark_group("verify");
    group.throughput(Throughput::Elements(1));
    // Every verification does the full work: parse, ECDSA P-256, claims.
    group.bench_function("es256_full_verification", |b| {
        b.iter(|| {
            rt.block_on(cold.verify_access_token(black_box(&token)))
                .unwrap()
        })
    });
    // The same token again, as clients send it for its whole lifetime:
    // header parse, SHA-256 and a lookup.
    group.bench_function("es256_repeat_token", |b| {
        b.iter(|| {
            rt.block_on(guard.verify_access_token(black_box(&token)))
                .unwrap()
        })
    });
    group.bench_function("es256_bearer_request_repeat", |b| {
        b.iter(|| rt.block_on(guard.authenticate(black_box(&parts))).unwrap())
    });
    // The floor: the ECDSA P-256 check alone, without parsing or claims.
    let jwk: jsonwebtoken::jwk::Jwk = serde_json::from_value(key.jwk.clone()).unwrap();
    let decoding = jsonwebtoken::DecodingKey::from_jwk(&jwk).unwrap();
    let (message, signature) = token.rsplit_once('.').unwrap();
    group.bench_function("es256_signature_only", |b| {
        b.iter(|| {
            assert!(
                jsonwebtoken::crypto::verify(
                    black_box(signature),
                    black_box(message.as_bytes()),
                    &decoding,
                    jsonwebtoken::Algorithm::ES256,
                )
                .unwrap()
            )
        })
    });
    group.finish();
}

criterion_group!(benches, verify);
criterion_main!(benches);

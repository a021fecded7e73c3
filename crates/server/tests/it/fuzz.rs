//! Thousands of random and mutated bodies: the token endpoint answers each
//! with a 2xx or 4xx, never a 5xx.

use crate::support::TestServer;

/// xorshift64*: a deterministic stream, so a failure can be replayed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn mutate(rng: &mut Rng, seed: &[u8]) -> Vec<u8> {
    const PIECES: &[&[u8]] = &[
        b"&",
        b"=",
        b"%",
        b"%zz",
        b"%00",
        b"+",
        b"\xff",
        b"\xc3\x28",
        b"grant_type=",
        b"scope=",
        b"client_id=",
        b"client_secret=",
        b"{",
        b"}",
        b"\"",
        b":",
        b"[",
        b"null",
        b"__",
        b"\n",
        b"refresh_token",
        b"authorization_code",
        b"code=",
        b"redirect_uri=",
        b"code_verifier=",
    ];
    let mut out = seed.to_vec();
    for _ in 0..1 + rng.below(6) {
        let at = if out.is_empty() {
            0
        } else {
            rng.below(out.len() + 1)
        };
        match rng.below(4) {
            0 => {
                let p = PIECES[rng.below(PIECES.len())];
                out.splice(at..at, p.iter().copied());
            }
            1 if !out.is_empty() => {
                let end = (at + 1 + rng.below(8)).min(out.len());
                out.drain(at.min(out.len())..end);
            }
            2 => out.insert(at, rng.next() as u8),
            _ => {
                let n = rng.below(32);
                for _ in 0..n {
                    out.insert(at.min(out.len()), rng.next() as u8);
                }
            }
        }
    }
    out
}

#[tokio::test]
async fn random_and_mutated_bodies_never_yield_a_5xx() {
    let s = TestServer::start().await;
    s.define_scope("ADDON", true).await;
    let c = s.client("read write ADDON").await;
    let seeds: Vec<Vec<u8>> = vec![
        b"grant_type=client_credentials&scope=read+write".to_vec(),
        format!(
            "grant_type=client_credentials&client_id={}&client_secret={}&scope=ADDON__X1",
            c.id,
            c.secret.expose()
        )
        .into_bytes(),
        format!(
            r#"{{"grant_type":"client_credentials","client_id":"{}","client_secret":"{}"}}"#,
            c.id,
            c.secret.expose()
        )
        .into_bytes(),
        b"token=abc&token_type_hint=access_token".to_vec(),
    ];
    let paths = ["/oauth/token", "/oauth/introspect", "/oauth/revoke"];
    let types = [
        "application/x-www-form-urlencoded",
        "application/json",
        "text/plain",
    ];
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut statuses = std::collections::BTreeMap::new();
    for i in 0..3000 {
        let body = if i % 10 == 0 {
            (0..rng.below(200)).map(|_| rng.next() as u8).collect()
        } else {
            let seed = rng.below(seeds.len());
            mutate(&mut rng, &seeds[seed])
        };
        let path = paths[rng.below(paths.len())];
        let mut req = s
            .http
            .post(s.url(path))
            .header("content-type", types[rng.below(types.len())])
            .body(body.clone());
        if rng.below(2) == 0 {
            req = req.basic_auth(c.id.as_str(), Some(c.secret.expose()));
        }
        let status = req.send().await.unwrap().status();
        assert!(
            !status.is_server_error(),
            "{path} answered {status} to {:?}",
            String::from_utf8_lossy(&body)
        );
        *statuses.entry(status.as_u16()).or_insert(0) += 1;
    }
    // The mutations must reach both outcomes, or the test proves little.
    assert!(
        statuses.get(&200).copied().unwrap_or(0) > 10,
        "{statuses:?}"
    );
    assert!(
        statuses.get(&400).copied().unwrap_or(0) > 100,
        "{statuses:?}"
    );
}

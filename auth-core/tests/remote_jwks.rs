//! RemoteJwks: its configuration checks, and its behaviour against a real JWKS server on loopback.

use auth_core::{AuthError, RemoteJwks};

#[test]
fn http_needs_the_loopback_opt_in_and_a_loopback_host() {
    let build = |url: &str, allow: bool| {
        RemoteJwks::builder(url)
            .issuer("i")
            .audience("a")
            .allow_http_loopback(allow)
            .build()
    };
    assert!(matches!(
        build("http://127.0.0.1:9/jwks", false),
        Err(AuthError::InvalidConfig(_))
    ));
    assert!(build("http://127.0.0.1:9/jwks", true).is_ok());
    assert!(build("http://localhost:9/jwks", true).is_ok());
    assert!(build("http://[::1]:9/jwks", true).is_ok());
    assert!(matches!(
        build("http://example.com/jwks", true),
        Err(AuthError::InvalidConfig(_))
    ));
    assert!(build("https://example.com/jwks", false).is_ok());
}

mod loopback {
    //! RemoteJwks against a real HTTP server on loopback that serves a
    //! JWKS this test controls and counts its requests.
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use std::sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    };

    use auth_core::{
        AuthError, JwtAlgorithm, JwtCodec, JwtKey, RemoteJwks, SessionId, UserId,
        token::{AccessClaims, TokenCodec, TrustedIssuer},
    };
    use time::OffsetDateTime;
    use tokio::{
        io::{AsyncReadExt, AsyncWriteExt},
        net::TcpListener,
    };

    const ISSUER: &str = "https://front.example";

    /// What the server answers: a status and a body.
    type Answer = Arc<Mutex<(u16, String)>>;

    struct JwksServer {
        url: String,
        answer: Answer,
        requests: Arc<AtomicUsize>,
        task: tokio::task::JoinHandle<()>,
    }

    async fn serve(body: String) -> JwksServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/api/auth/jwks", listener.local_addr().unwrap());
        let answer: Answer = Arc::new(Mutex::new((200, body)));
        let requests = Arc::new(AtomicUsize::new(0));
        let (served, counted) = (Arc::clone(&answer), Arc::clone(&requests));
        let task = tokio::spawn(async move {
            loop {
                let Ok((mut socket, _)) = listener.accept().await else {
                    return;
                };
                counted.fetch_add(1, Ordering::SeqCst);
                let (status, body) = served.lock().unwrap().clone();
                tokio::spawn(async move {
                    let mut head = Vec::new();
                    let mut buf = [0u8; 1024];
                    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                        match socket.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => head.extend_from_slice(&buf[..n]),
                        }
                    }
                    let response = format!(
                        "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    let _ = socket.write_all(response.as_bytes()).await;
                });
            }
        });
        JwksServer {
            url,
            answer,
            requests,
            task,
        }
    }

    fn codec(kid: &str) -> JwtCodec {
        let pem = JwtKey::generate_private_pem(JwtAlgorithm::Es256).unwrap();
        JwtCodec::builder()
            .issuer(ISSUER)
            .audience(ISSUER)
            .key(JwtKey::from_private_pem(kid, JwtAlgorithm::Es256, pem.as_bytes()).unwrap())
            .build()
            .unwrap()
    }

    fn token(codec: &JwtCodec, exp_in: i64) -> String {
        let now = OffsetDateTime::now_utc().unix_timestamp();
        codec
            .issue(&AccessClaims {
                sub: UserId::new("user-1"),
                sid: Some(SessionId::new("s")),
                jti: Some("j".into()),
                iat: now,
                exp: now + exp_in,
                nbf: None,
                iss: ISSUER.into(),
                aud: ISSUER.into(),
                custom: serde_json::Map::new(),
            })
            .unwrap()
    }

    fn remote(url: &str) -> RemoteJwks {
        RemoteJwks::builder(url)
            .issuer(ISSUER)
            .audience(ISSUER)
            .allow_http_loopback(true)
            .max_body_bytes(4096)
            .build()
            .unwrap()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_flood_of_unknown_kids_costs_one_fetch_and_bad_answers_keep_the_keys() {
        let signer = codec("key-a");
        let server = serve(serde_json::to_string(&signer.jwks()).unwrap()).await;
        let remote = remote(&server.url);
        let now = OffsetDateTime::now_utc();
        let good = token(&signer, 600);
        assert_eq!(
            remote.verify(&good, now).await.unwrap().sub,
            UserId::new("user-1")
        );
        assert_eq!(server.requests.load(Ordering::SeqCst), 1);

        // 100 tokens naming kids the set does not have, at once: one
        // refetch at most inside the 10 s interval, every one refused.
        let mut flood = Vec::new();
        for i in 0..100 {
            let forged = codec(&format!("random-{i}"));
            let remote = remote.clone();
            let forged_token = token(&forged, 600);
            flood.push(tokio::spawn(async move {
                remote.verify(&forged_token, now).await
            }));
        }
        for attempt in flood {
            assert!(matches!(
                attempt.await.unwrap(),
                Err(AuthError::InvalidToken)
            ));
        }
        assert!(
            server.requests.load(Ordering::SeqCst) <= 2,
            "{:?}",
            server.requests
        );

        // Oversized, not JSON, a 500, no keys: each refused, the last good
        // set kept.
        for (status, body) in [
            (
                200,
                format!("{{\"keys\":[],\"pad\":\"{}\"}}", "x".repeat(8192)),
            ),
            (200, "not json".to_owned()),
            (500, "{}".to_owned()),
            (200, "{\"keys\":[]}".to_owned()),
        ] {
            *server.answer.lock().unwrap() = (status, body);
            assert!(remote.refresh_now().await.is_err(), "{status}");
            assert!(remote.verify(&good, now).await.is_ok(), "{status}");
        }

        // The issuer gone altogether: still the cached keys.
        server.task.abort();
        let _ = server.task.await;
        assert!(remote.refresh_now().await.is_err());
        assert!(remote.verify(&good, now).await.is_ok());

        // And times are still judged.
        let expired = token(&signer, -120);
        assert!(matches!(
            remote.verify(&expired, now).await,
            Err(AuthError::TokenExpired)
        ));
    }
}

mod pinned_algorithms {
    //! IssuerKeys takes the algorithm from the key, never from the token.
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use auth_core::{
        AuthError, JwtAlgorithm, JwtCodec, JwtKey, SessionId, UserId,
        token::{AccessClaims, IssuerKeys, TokenCodec},
    };
    use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
    use jsonwebtoken::{Algorithm, EncodingKey, Header};
    use time::OffsetDateTime;

    const ISSUER: &str = "https://front.example";

    fn claims() -> AccessClaims {
        let now = OffsetDateTime::now_utc().unix_timestamp();
        AccessClaims {
            sub: UserId::new("user-1"),
            sid: Some(SessionId::new("s")),
            jti: None,
            iat: now,
            exp: now + 600,
            nbf: None,
            iss: ISSUER.into(),
            aud: ISSUER.into(),
            custom: serde_json::Map::new(),
        }
    }

    fn b64(json: &serde_json::Value) -> String {
        URL_SAFE_NO_PAD.encode(json.to_string())
    }

    #[test]
    fn the_token_cannot_choose_the_algorithm_or_the_key() {
        let ec_pem = include_bytes!("keys/openssl/p256-pkcs8.pem");
        let rsa_pem = include_bytes!("keys/openssl/rsa2048-pkcs8.pem");
        let ec = JwtCodec::builder()
            .issuer(ISSUER)
            .audience(ISSUER)
            .key(JwtKey::from_private_pem("ec", JwtAlgorithm::Es256, ec_pem).unwrap())
            .build()
            .unwrap();
        let keys = IssuerKeys::new(&ec.jwks(), ISSUER, ISSUER).unwrap();
        let now = OffsetDateTime::now_utc();
        let good = ec.issue(&claims()).unwrap();
        assert!(keys.verify(&good, now).is_ok());
        let payload = b64(&serde_json::to_value(claims()).unwrap());
        let jwk = &ec.jwks().keys[0];

        let mut forgeries = Vec::new();
        // `alg: none`, with and without a signature.
        for signature in ["", "AAAA"] {
            let head = b64(&serde_json::json!({"alg": "none", "kid": "ec"}));
            forgeries.push(format!("{head}.{payload}.{signature}"));
        }
        // HS256 keyed with the public key's bytes (the classic confusion).
        let public_bytes = serde_json::to_vec(jwk).unwrap();
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some("ec".into());
        forgeries.push(
            jsonwebtoken::encode(
                &header,
                &claims(),
                &EncodingKey::from_secret(&public_bytes).unwrap(),
            )
            .unwrap(),
        );
        // A real RS256 signature under the EC key's kid.
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some("ec".into());
        forgeries.push(
            jsonwebtoken::encode(
                &header,
                &claims(),
                &EncodingKey::from_rsa_pem(rsa_pem).unwrap(),
            )
            .unwrap(),
        );
        // Validly signed by the EC key, but with a header that points
        // elsewhere for keys, or claims another algorithm: the signature
        // alone would pass, so only the header rules refuse these.
        let ec_signing = EncodingKey::from_ec_pem(ec_pem).unwrap();
        let signed = |head: serde_json::Value| {
            let message = format!("{}.{payload}", b64(&head));
            let signature =
                jsonwebtoken::crypto::sign(message.as_bytes(), &ec_signing, Algorithm::ES256)
                    .unwrap();
            format!("{message}.{signature}")
        };
        let control = signed(serde_json::json!({"alg": "ES256", "kid": "ec"}));
        assert!(
            keys.verify(&control, now).is_ok(),
            "the hand-signed control"
        );
        for member in ["jku", "x5u", "jwk", "crit"] {
            forgeries.push(signed(
                serde_json::json!({"alg": "ES256", "kid": "ec", member: "https://evil.example/k"}),
            ));
        }
        forgeries.push(signed(serde_json::json!({"alg": "ES512", "kid": "ec"})));
        forgeries.push(signed(serde_json::json!({"alg": "ES256", "kid": "other"})));
        for forged in forgeries {
            assert!(
                matches!(keys.verify(&forged, now), Err(AuthError::InvalidToken)),
                "accepted: {forged}"
            );
        }
    }

    /// Keys whose points are the wrong size or not on their curve are
    /// skipped when the set is read; one of them (a 26-byte Ed25519 `x`)
    /// made jsonwebtoken's RustCrypto backend panic at the first token.
    #[test]
    fn malformed_key_material_is_skipped_not_verified_with() {
        let ed_pem = JwtKey::generate_private_pem(JwtAlgorithm::EdDsa).unwrap();
        let ed = JwtCodec::builder()
            .issuer(ISSUER)
            .audience(ISSUER)
            .key(JwtKey::from_private_pem("ed", JwtAlgorithm::EdDsa, ed_pem.as_bytes()).unwrap())
            .build()
            .unwrap();
        let token = ed.issue(&claims()).unwrap();
        let good = serde_json::to_value(&ed.jwks().keys[0]).unwrap();
        let x = good["x"].as_str().unwrap();
        let p256 = serde_json::to_value(
            &JwtCodec::builder()
                .issuer(ISSUER)
                .audience(ISSUER)
                .key(
                    JwtKey::from_private_pem(
                        "ec",
                        JwtAlgorithm::Es256,
                        include_bytes!("keys/openssl/p256-pkcs8.pem"),
                    )
                    .unwrap(),
                )
                .build()
                .unwrap()
                .jwks()
                .keys[0],
        )
        .unwrap();
        let mut off_curve = p256.clone();
        off_curve["y"] = serde_json::Value::String(p256["x"].as_str().unwrap().to_owned());
        let short_x = {
            let mut key = good.clone();
            key["x"] = serde_json::Value::String(x[..35].to_owned());
            key
        };
        for bad in [short_x, off_curve] {
            let jwks = serde_json::from_value(serde_json::json!({ "keys": [bad] })).unwrap();
            assert!(
                matches!(
                    IssuerKeys::new(&jwks, ISSUER, ISSUER),
                    Err(AuthError::InvalidConfig(_))
                ),
                "{bad}"
            );
        }
        // Next to a good key, a bad one is skipped and the good one works.
        let mut short_with_kid = good.clone();
        short_with_kid["x"] = serde_json::Value::String(x[..35].to_owned());
        short_with_kid["kid"] = serde_json::Value::String("ed".into());
        let mut renamed = good;
        renamed["kid"] = serde_json::Value::String("ed-good".into());
        let jwks = serde_json::from_value(serde_json::json!({ "keys": [short_with_kid, renamed] }))
            .unwrap();
        let keys = IssuerKeys::new(&jwks, ISSUER, ISSUER).unwrap();
        assert_eq!(keys.len(), 1);
        assert!(matches!(
            keys.verify(&token, OffsetDateTime::now_utc()),
            Err(AuthError::InvalidToken)
        ));
    }
}

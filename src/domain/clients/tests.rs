use super::model::*;
use crate::config::SigningAlgorithm;

const RS: &[SigningAlgorithm] = &[SigningAlgorithm::RS256];

fn draft() -> MetadataDraft {
    MetadataDraft {
        client_name: Some("Reports".into()),
        redirect_uris: Some(vec!["https://reports.example.com/cb".into()]),
        ..MetadataDraft::default()
    }
}

fn refused(d: MetadataDraft) -> MetadataError {
    ClientMetadata::new(d, RS).unwrap_err()
}

#[test]
fn a_minimal_draft_gets_the_code_grant_with_refresh_and_client_secret_basic() {
    let m = ClientMetadata::new(draft(), RS).unwrap();
    assert_eq!(m.grant_types, ["authorization_code", "refresh_token"]);
    assert_eq!(m.response_types, ["code"]);
    assert_eq!(m.token_endpoint_auth_method, AuthMethod::ClientSecretBasic);
    assert_eq!(m.scope, "openid profile email offline_access");
    assert!(!m.redirect_uri_prefix_match && !m.first_party);
    let back: ClientMetadata =
        ClientMetadata::from_stored(&serde_json::to_string(&m).unwrap()).unwrap();
    assert_eq!(back, m);
}

#[test]
fn redirect_uris_must_be_canonical_https_or_loopback_http() {
    for bad in [
        "http://reports.example.com/cb",
        "https://reports.example.com/a/../cb",
        "https://reports.example.com/cb#frag",
        "javascript:alert(1)",
        "https://user@reports.example.com/cb",
        "HTTPS://reports.example.com/cb",
    ] {
        let e = refused(MetadataDraft {
            redirect_uris: Some(vec![bad.into()]),
            ..draft()
        });
        assert_eq!(e.code(), "invalid_redirect_uri", "{bad}");
    }
    for good in [
        "http://127.0.0.1/cb",
        "http://localhost:8080/cb",
        "http://[::1]/cb",
    ] {
        assert!(ClientMetadata::new(
            MetadataDraft {
                redirect_uris: Some(vec![good.into()]),
                ..draft()
            },
            RS
        )
        .is_ok());
    }
    let e = refused(MetadataDraft {
        redirect_uris: Some(vec![]),
        ..draft()
    });
    assert_eq!(e.field, "redirect_uris");
}

#[test]
fn grant_types_must_agree_with_response_types() {
    let e = refused(MetadataDraft {
        grant_types: Some(vec!["client_credentials".into()]),
        response_types: Some(vec!["code".into()]),
        ..draft()
    });
    assert_eq!(e.field, "response_types");
    let e = refused(MetadataDraft {
        grant_types: Some(vec!["refresh_token".into()]),
        ..draft()
    });
    assert_eq!(e.code(), "invalid_client_metadata");
    let e = refused(MetadataDraft {
        response_types: Some(vec!["token".into()]),
        ..draft()
    });
    assert_eq!(e.field, "response_types");
    let service = ClientMetadata::new(
        MetadataDraft {
            grant_types: Some(vec!["client_credentials".into()]),
            redirect_uris: None,
            ..draft()
        },
        RS,
    )
    .unwrap();
    assert!(service.response_types.is_empty());
}

#[test]
fn a_public_client_cannot_use_client_credentials() {
    let e = refused(MetadataDraft {
        token_endpoint_auth_method: Some("none".into()),
        grant_types: Some(vec![
            "authorization_code".into(),
            "client_credentials".into(),
        ]),
        ..draft()
    });
    assert_eq!(e.field, "grant_types");
    assert!(!AuthMethod::None.uses_secret());
}

#[test]
fn private_key_jwt_needs_exactly_one_key_source() {
    let pkj = |jwks: Option<serde_json::Value>, uri: Option<&str>| MetadataDraft {
        token_endpoint_auth_method: Some("private_key_jwt".into()),
        jwks,
        jwks_uri: uri.map(str::to_string),
        ..draft()
    };
    assert_eq!(refused(pkj(None, None)).field, "jwks");
    let set = serde_json::json!({"keys": [{"kty": "EC"}]});
    assert_eq!(
        refused(pkj(Some(set.clone()), Some("https://a.example/jwks"))).field,
        "jwks"
    );
    assert_eq!(
        refused(pkj(None, Some("http://a.example/jwks"))).field,
        "jwks_uri"
    );
    assert!(ClientMetadata::new(pkj(Some(set.clone()), None), RS).is_ok());
    assert!(ClientMetadata::new(pkj(None, Some("https://a.example/jwks")), RS).is_ok());
    // a JWK Set on a secret client is a mistake, not something to ignore
    let e = refused(MetadataDraft {
        jwks: Some(set),
        ..draft()
    });
    assert_eq!(e.field, "jwks");
}

#[test]
fn unknown_methods_scopes_algorithms_and_lifetimes_are_refused_by_field() {
    let cases = [
        (
            MetadataDraft {
                token_endpoint_auth_method: Some("client_secret_jwt".into()),
                ..draft()
            },
            "token_endpoint_auth_method",
        ),
        (
            MetadataDraft {
                scope: Some("openid admin".into()),
                ..draft()
            },
            "scope",
        ),
        (
            MetadataDraft {
                id_token_signed_response_alg: Some("HS256".into()),
                ..draft()
            },
            "id_token_signed_response_alg",
        ),
        (
            MetadataDraft {
                id_token_signed_response_alg: Some("ES256".into()),
                ..draft()
            },
            "id_token_signed_response_alg",
        ),
        (
            MetadataDraft {
                access_token_lifetime: Some(0),
                ..draft()
            },
            "access_token_lifetime",
        ),
        (
            MetadataDraft {
                client_name: Some("  ".into()),
                ..draft()
            },
            "client_name",
        ),
    ];
    for (d, field) in cases {
        assert_eq!(refused(d).field, field);
    }
    let es = ClientMetadata::new(
        MetadataDraft {
            id_token_signed_response_alg: Some("ES256".into()),
            ..draft()
        },
        &[SigningAlgorithm::ES256, SigningAlgorithm::RS256],
    );
    assert!(es.is_ok());
}

#[test]
fn a_patch_changes_only_the_fields_it_sets() {
    let m = ClientMetadata::new(draft(), RS).unwrap();
    let patched = m.to_draft().merged(MetadataDraft {
        client_name: Some("Renamed".into()),
        ..MetadataDraft::default()
    });
    let m2 = ClientMetadata::new(patched, RS).unwrap();
    assert_eq!(m2.client_name, "Renamed");
    assert_eq!(m2.redirect_uris, m.redirect_uris);
}

#[test]
fn client_ids_are_short_and_url_safe() {
    assert!(super::check_client_id("reports-app_1.x~").is_ok());
    for bad in ["", "a b", "a/b", "é", &"x".repeat(129)] {
        assert!(super::check_client_id(bad).is_err(), "{bad:?}");
    }
}

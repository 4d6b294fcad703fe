//! The demo's readers of the hub: a ministry pulling citizens, an auditor verifying the log.

use super::{DemoError, PULLS, err};
use crate::auth::{Role, create_token};
use crate::server::Hub;

pub(super) struct Pulls {
    pub allowed: usize,
    pub denied: usize,
    pub signed: usize,
    pub expect_allowed: usize,
    pub expect_denied: usize,
}

/// The labour ministry asks about each citizen; every tenth for a purpose it has no grant for.
pub(super) async fn pull(
    hub: &Hub,
    client: &reqwest::Client,
    ids: &[String],
) -> Result<Pulls, DemoError> {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD;
    let url = hub.url();
    let token = create_token(&hub.state().store, "000.00.00.G07", Role::Consumer)
        .map_err(err)?
        .bearer();
    let key = hub.state().relay.audit().key().verifier().key().to_owned();
    let ids: Vec<String> = ids.iter().take(PULLS).cloned().collect();
    let mut out = Pulls {
        allowed: 0,
        denied: 0,
        signed: 0,
        expect_allowed: ids.len() - ids.len().div_ceil(10),
        expect_denied: ids.len().div_ceil(10),
    };
    for chunk in ids.chunks(8).enumerate() {
        let (c, chunk) = chunk;
        let answers = futures_util::future::join_all(chunk.iter().enumerate().map(|(i, id)| {
            let purpose = if (c * 8 + i) % 10 == 0 {
                "dossier-processing"
            } else {
                "employment-support"
            };
            client
                .get(format!("{url}/v1/citizens/{id}?purpose={purpose}"))
                .bearer_auth(&token)
                .send()
        }))
        .await;
        for a in answers {
            let r = a.map_err(err)?;
            let status = r.status().as_u16();
            let sig = r
                .headers()
                .get("lienthong-signature")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| b64.decode(v).ok());
            let body = r.bytes().await.map_err(err)?;
            match status {
                200 => {
                    out.allowed += 1;
                    if let Some(sig) = sig.and_then(|s| <[u8; 64]>::try_from(s).ok())
                        && key
                            .verify_strict(&body, &ed25519_dalek::Signature::from_bytes(&sig))
                            .is_ok()
                    {
                        out.signed += 1;
                    }
                }
                403 => out.denied += 1,
                _ => {}
            }
        }
    }
    Ok(out)
}

pub(super) struct Audited {
    pub verified: u64,
    pub pulls: usize,
    pub denials: usize,
    pub error: Option<String>,
}

/// The auditor exports the whole log and verifies it with the key the hub publishes.
pub(super) async fn audit(hub: &Hub, client: &reqwest::Client) -> Result<Audited, DemoError> {
    let url = hub.url();
    let token = create_token(&hub.state().store, "000.00.00.A01", Role::Auditor)
        .map_err(err)?
        .bearer();
    let keys = super::json(client.get(format!("{url}/v1/keys"))).await?;
    let verifier = crate::audit::note::Verifier::parse(
        keys["keys"][0]["verifier_key"].as_str().unwrap_or_default(),
    )
    .map_err(err)?;
    let export = client
        .get(format!("{url}/v1/audit/export"))
        .bearer_auth(&token)
        .send()
        .await
        .map_err(err)?
        .bytes()
        .await
        .map_err(err)?;
    let (mut pulls, mut denials) = (0, 0);
    for line in export.split(|b| *b == b'\n') {
        let Ok(v) = serde_json::from_slice::<serde_json::Value>(line) else {
            continue;
        };
        match v["entry"]["operation"].as_str() {
            Some("pull") => pulls += 1,
            Some("deny") => denials += 1,
            _ => {}
        }
    }
    Ok(
        match crate::audit::export::verify(export.as_ref(), &verifier, |_| {}) {
            Ok(v) => Audited {
                verified: v.entries,
                pulls,
                denials,
                error: None,
            },
            Err(e) => Audited {
                verified: 0,
                pulls,
                denials,
                error: Some(e.to_string()),
            },
        },
    )
}

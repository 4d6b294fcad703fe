//! `POST /v1/units:convert`: member systems convert addresses between the old three-tier form
//! and the 2025 units, in batches of up to 1,000.

use super::{AppState, Auth, Problem, read_body};
use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde::Deserialize;
use serde_json::json;

/// Most addresses in one request.
const MAX_BATCH: usize = 1_000;

pub(super) fn routes() -> Router<AppState> {
    Router::new().route("/v1/units:convert", post(convert))
}

/// One address: free text, or structured.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Address {
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    province: Option<String>,
    #[serde(default)]
    district: Option<String>,
    #[serde(default)]
    commune: Option<String>,
}

async fn convert(
    State(state): State<AppState>,
    Auth(_caller): Auth,
    body: Body,
) -> Result<Response, Problem> {
    let bytes = read_body(&state, body).await?;
    let addresses: Vec<Address> = serde_json::from_slice(&bytes).map_err(|e| {
        Problem::new(
            StatusCode::BAD_REQUEST,
            "request.json",
            format!(
                "expected a JSON array of {{\"text\"}} or {{\"province\", \"district\"?, \
                 \"commune\"}} objects: {e}"
            ),
        )
    })?;
    if addresses.len() > MAX_BATCH {
        return Err(Problem::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "units.batch",
            format!(
                "{} addresses; a batch holds at most {MAX_BATCH}",
                addresses.len()
            ),
        ));
    }
    let Some(units) = crate::units::shared() else {
        return Err(Problem::internal(
            "the administrative-units data did not load",
        ));
    };
    let mut out = Vec::with_capacity(addresses.len());
    for (i, a) in addresses.iter().enumerate() {
        let r = match (&a.text, &a.province, &a.commune) {
            (Some(t), None, None) if a.district.is_none() => units.resolve_text(t),
            (None, Some(p), Some(c)) => units.resolve(p, a.district.as_deref(), c),
            _ => {
                return Err(Problem::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "units.address",
                    format!(
                        "address {i}: give either \"text\", or \"province\" and \"commune\" \
                         (and optionally \"district\")"
                    ),
                ));
            }
        };
        out.push(r);
    }
    Ok(axum::Json(json!({ "results": out })).into_response())
}

//! The SOAP protocol of ingest: which requests speak SOAP, SOAP responses and Faults (carrying the
//! same error details as the problem+json answers), and the WSDL of a SOAP adapter's
//! operations, so that a legacy one-stop system pushes with its existing SOAP client.

use super::{AppState, Problem};
use crate::config::adapter::Transport;
use crate::registry::ActiveAdapter;
use crate::translate::INGEST_NS;
use crate::validate::FieldError;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use quick_xml::escape::escape;

const SOAP11_ENV: &str = "http://schemas.xmlsoap.org/soap/envelope/";
const SOAP12_ENV: &str = "http://www.w3.org/2003/05/soap-envelope";

/// The protocol a push came in, so that the answer speaks the same: plain REST (JSON or XML
/// over HTTP), SOAP 1.1 or SOAP 1.2.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Protocol {
    Rest,
    Soap11,
    Soap12,
}

pub(super) fn protocol_of(adapter: &ActiveAdapter, headers: &HeaderMap) -> Protocol {
    if adapter.adapter.definition().transport != Transport::Soap {
        return Protocol::Rest;
    }
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if ct.starts_with("application/soap+xml") {
        Protocol::Soap12
    } else if headers.contains_key("soapaction") || ct.starts_with("text/xml") {
        Protocol::Soap11
    } else {
        Protocol::Rest
    }
}

/// The SOAPAction of a request (header for 1.1, `action` parameter for 1.2), unquoted.
pub(super) fn soap_action_of(headers: &HeaderMap) -> Option<String> {
    if let Some(v) = headers.get("soapaction").and_then(|v| v.to_str().ok()) {
        return Some(v.trim().trim_matches('"').to_string());
    }
    let ct = headers.get(header::CONTENT_TYPE)?.to_str().ok()?;
    ct.split(';')
        .filter_map(|p| p.trim().strip_prefix("action="))
        .map(|a| a.trim_matches('"').to_string())
        .next()
}

fn envelope(protocol: Protocol, body: &str) -> Response {
    let (ns, ct) = match protocol {
        Protocol::Soap12 => (SOAP12_ENV, "application/soap+xml; charset=utf-8"),
        _ => (SOAP11_ENV, "text/xml; charset=utf-8"),
    };
    let text = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><soap:Envelope xmlns:soap=\"{ns}\">\
         <soap:Body>{body}</soap:Body></soap:Envelope>"
    );
    ([(header::CONTENT_TYPE, ct)], text).into_response()
}

/// What an accepted push is answered with over SOAP.
pub(super) struct Answer<'a> {
    pub exchange_id: &'a str,
    pub digest: &'a str,
    pub record_type: &'a str,
    pub schema: &'a str,
    /// A repeat, answered with the original exchange.
    pub duplicate: bool,
    pub findings: &'a [crate::onceonly::verify::Finding],
}

pub(super) fn soap_response(protocol: Protocol, a: &Answer<'_>) -> Response {
    let findings: String = a
        .findings
        .iter()
        .map(|f| {
            format!(
                "<lt:Finding><lt:Code>{}</lt:Code><lt:Field>{}</lt:Field>\
                 <lt:Detail>{}</lt:Detail></lt:Finding>",
                escape(&f.code),
                escape(&f.field),
                escape(&f.detail)
            )
        })
        .collect();
    envelope(
        protocol,
        &format!(
            "<lt:IngestResponse xmlns:lt=\"{INGEST_NS}\"><lt:ExchangeId>{}</lt:ExchangeId>\
             <lt:Digest>{}</lt:Digest><lt:RecordType>{}</lt:RecordType>\
             <lt:Schema>{}</lt:Schema><lt:Duplicate>{}</lt:Duplicate>{findings}\
             </lt:IngestResponse>",
            escape(a.exchange_id),
            escape(a.digest),
            escape(a.record_type),
            escape(a.schema),
            a.duplicate
        ),
    )
}

/// A SOAP Fault with the problem's code, detail and field errors, under the problem's HTTP
/// status (a refusal of the client's document is a 4xx, never a 5xx).
pub(super) fn soap_fault(protocol: Protocol, p: &Problem) -> Response {
    let errors: String = p
        .errors
        .iter()
        .map(|e: &FieldError| {
            format!(
                "<lt:Error><lt:Pointer>{}</lt:Pointer><lt:Code>{}</lt:Code>\
                 <lt:Message>{}</lt:Message>{}</lt:Error>",
                escape(e.pointer.as_str()),
                escape(e.code.as_str()),
                escape(e.message.as_str()),
                e.source
                    .as_deref()
                    .map(|s| format!("<lt:Source>{}</lt:Source>", escape(s)))
                    .unwrap_or_default()
            )
        })
        .collect();
    let detail = format!(
        "<lt:Problem xmlns:lt=\"{INGEST_NS}\"><lt:Code>{}</lt:Code><lt:Detail>{}</lt:Detail>\
         <lt:Errors>{errors}</lt:Errors></lt:Problem>",
        escape(p.code.as_str()),
        escape(p.detail.as_str())
    );
    let server = p.status.is_server_error();
    let body = match protocol {
        Protocol::Soap12 => format!(
            "<soap:Fault><soap:Code><soap:Value>soap:{}</soap:Value></soap:Code>\
             <soap:Reason><soap:Text xml:lang=\"en\">{}</soap:Text></soap:Reason>\
             <soap:Detail>{detail}</soap:Detail></soap:Fault>",
            if server { "Receiver" } else { "Sender" },
            escape(p.detail.as_str())
        ),
        _ => format!(
            "<soap:Fault><faultcode>soap:{}</faultcode><faultstring>{}</faultstring>\
             <detail>{detail}</detail></soap:Fault>",
            if server { "Server" } else { "Client" },
            escape(p.detail.as_str())
        ),
    };
    let mut resp = envelope(protocol, &body);
    *resp.status_mut() = p.status;
    if let Some(secs) = p.retry_after
        && let Ok(v) = axum::http::HeaderValue::from_str(&secs.to_string())
    {
        resp.headers_mut().insert(header::RETRY_AFTER, v);
    }
    resp
}

pub(super) async fn wsdl_adapter(
    State(state): State<AppState>,
    Path(adapter): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    wsdl(&state, &adapter, query, &headers)
}

pub(super) async fn wsdl_typed(
    State(state): State<AppState>,
    Path((adapter, record_type)): Path<(String, String)>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    if let Some(active) = state.registry.get(&adapter) {
        let provides = &active.adapter.definition().provides;
        if active.adapter.schema_of(&record_type).is_none()
            || (!provides.is_empty() && !provides.contains(&record_type))
        {
            return Err(Problem::not_found(format!(
                "adapter {adapter} does not provide {record_type:?}"
            )));
        }
    }
    wsdl(&state, &adapter, query, &headers)
}

/// `GET /v1/ingest/{adapter}[/{record_type}]?wsdl`.
fn wsdl(
    state: &AppState,
    name: &str,
    query: Option<String>,
    headers: &HeaderMap,
) -> Result<Response, Problem> {
    let asks_wsdl = query.as_deref().is_some_and(|q| {
        q.split('&').any(|kv| {
            kv.split('=')
                .next()
                .is_some_and(|k| k.eq_ignore_ascii_case("wsdl"))
        })
    });
    if !asks_wsdl {
        return Err(Problem::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method-not-allowed",
            "ingest takes POST; GET only serves the WSDL of SOAP adapters (?wsdl)",
        ));
    }
    let Some(active) = state.registry.get(name) else {
        return Err(Problem::not_found(format!("no adapter {name:?}")));
    };
    if active.adapter.definition().transport != Transport::Soap {
        return Err(Problem::not_found(format!(
            "adapter {name} does not speak SOAP, so it has no WSDL"
        )));
    }
    let base = if state.config.server.public_url.is_empty() {
        let host = headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .unwrap_or(&state.config.server.listen);
        let scheme = if state.config.tls.allow_plain_http {
            "http"
        } else {
            "https"
        };
        format!("{scheme}://{host}")
    } else {
        state
            .config
            .server
            .public_url
            .trim_end_matches('/')
            .to_string()
    };
    let location = format!("{base}/v1/ingest/{name}");
    let text = active.adapter.wsdl(&location).map_err(|e| {
        Problem::new(
            StatusCode::NOT_FOUND,
            "adapter.wsdl",
            format!("no WSDL: {e}"),
        )
    })?;
    Ok(([(header::CONTENT_TYPE, "text/xml; charset=utf-8")], text).into_response())
}

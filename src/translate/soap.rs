//! SOAP 1.1 and 1.2 envelopes: unwrapped inbound, built outbound.

use super::DocumentError;
use super::xml::{Elem, Step, UNSEEDED};
use crate::config::adapter::SoapVersion;

/// Envelope namespace of SOAP 1.1.
pub(crate) const SOAP11: &str = "http://schemas.xmlsoap.org/soap/envelope/";
/// Envelope namespace of SOAP 1.2.
pub(crate) const SOAP12: &str = "http://www.w3.org/2003/05/soap-envelope";

fn step(ns: &str, local: &str) -> Step {
    Step {
        ns: ns.to_string(),
        ns_index: UNSEEDED,
        prefix: None,
        local: local.to_string(),
        attribute: false,
    }
}

/// If `root` is a SOAP envelope, the first element of its Body (a Fault is an error);
/// otherwise `root` itself.
pub(crate) fn unwrap<'d, 'a>(root: Elem<'d, 'a>) -> Result<Elem<'d, 'a>, DocumentError> {
    let (ns, local) = root.name();
    if local != "Envelope" || (ns != SOAP11 && ns != SOAP12) {
        return Ok(root);
    }
    let body = root.child(&step(ns, "Body")).ok_or_else(|| DocumentError {
        code: "soap.no-body",
        message: "the SOAP envelope has no Body".into(),
        position: None,
    })?;
    let first = body.children().next().ok_or_else(|| DocumentError {
        code: "soap.empty-body",
        message: "the SOAP Body is empty".into(),
        position: None,
    })?;
    if first.is(&step(ns, "Fault")) {
        let reason = first
            .children()
            .find(|c| matches!(c.name().1, "faultstring" | "Reason"))
            .map(|c| {
                let own = c.text().trim();
                if own.is_empty() {
                    c.children()
                        .next()
                        .map(|t| t.text().trim().to_string())
                        .unwrap_or_default()
                } else {
                    own.to_string()
                }
            })
            .unwrap_or_default();
        return Err(DocumentError {
            code: "soap.fault",
            message: format!("the document is a SOAP Fault: {reason}"),
            position: None,
        });
    }
    Ok(first)
}

/// Wraps a serialised body element in an envelope of `version`.
pub(crate) fn wrap(version: SoapVersion, body: &str) -> String {
    let ns = match version {
        SoapVersion::V11 => SOAP11,
        SoapVersion::V12 => SOAP12,
    };
    let mut out = String::with_capacity(body.len() + 200);
    out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>");
    out.push_str("<soap:Envelope xmlns:soap=\"");
    out.push_str(ns);
    out.push_str("\"><soap:Body>");
    out.push_str(body);
    out.push_str("</soap:Body></soap:Envelope>");
    out
}

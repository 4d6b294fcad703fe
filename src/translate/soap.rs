//! SOAP 1.1 and 1.2 envelopes: built outbound here; read inbound by `xml_read`.

use crate::config::adapter::SoapVersion;

/// Envelope namespace of SOAP 1.1.
pub(crate) const SOAP11: &str = "http://schemas.xmlsoap.org/soap/envelope/";
/// Envelope namespace of SOAP 1.2.
pub(crate) const SOAP12: &str = "http://www.w3.org/2003/05/soap-envelope";

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

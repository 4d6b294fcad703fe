//! A province's one-stop system, simulated: it pushes dossiers and their status events to the
//! hub over SOAP, in the shape of `adapters/motcua-hatinh.toml`, as a real one would, with the
//! faults real ones have: names typed without their diacritics, addresses in the old
//! three-tier form (some of wards that were split in 2025, some with typos), documents the
//! state already issued uploaded again, invalid status codes and repeated pushes.
//!
//! The applicants are the register simulator's citizens (the same seed and count give the same
//! people), so that the hub's checks against the register have something to find. Everything is
//! deterministic by seed; what the plan holds is counted, so that a run can be checked against
//! it.

use super::population::citizens;
use super::stories::{Timeline, province_time, status_body, timeline};
use crate::units::names::plain;
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

const DOSSIER: &str = include_str!("../../adapters/samples/motcua-hatinh/dossier.xml");
pub(super) const STATUS: &str =
    include_str!("../../adapters/samples/motcua-hatinh/status-in-progress.xml");
const DOCUMENT: &str = include_str!("../../adapters/samples/motcua-hatinh/document.xml");
/// The certificate a re-uploading applicant already holds.
pub(super) const CERTIFICATE: &str = "Giấy chứng nhận đăng ký hộ kinh doanh";

/// A fault the simulator puts into a dossier's pushes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Fault {
    /// The applicant's name typed without its diacritics.
    TypedName,
    /// The address in the old three-tier form, of a ward with one 2025 successor.
    OldAddress,
    /// The address in the old form, of a ward split among several 2025 wards.
    SplitAddress,
    /// The address in the old form with a typo in the ward's name (exists in no list).
    TypoAddress,
    /// A document the state issued to the applicant, uploaded again by the applicant.
    ReUpload,
    /// A status event with a status code the province's table does not have.
    InvalidStatus,
    /// A status event pushed twice.
    Repeat,
    /// The applicant's address in another commune than the register's (2025 form).
    WrongAddress,
}

impl Fault {
    pub const ALL: [Fault; 8] = [
        Fault::TypedName,
        Fault::OldAddress,
        Fault::SplitAddress,
        Fault::TypoAddress,
        Fault::ReUpload,
        Fault::InvalidStatus,
        Fault::Repeat,
        Fault::WrongAddress,
    ];

    /// A short name, for reports.
    pub fn name(self) -> &'static str {
        match self {
            Fault::TypedName => "name typed without diacritics",
            Fault::OldAddress => "address in the old form",
            Fault::SplitAddress => "address of a split ward, old form",
            Fault::TypoAddress => "address with a typo",
            Fault::ReUpload => "issued document uploaded again",
            Fault::InvalidStatus => "invalid status code",
            Fault::Repeat => "status event pushed twice",
            Fault::WrongAddress => "address in another commune than the register's",
        }
    }
}

/// One push: the record type (path of `/v1/ingest/motcua-hatinh/{record_type}`) and the
/// SOAP body.
#[derive(Debug, Clone)]
pub struct Push {
    pub record_type: &'static str,
    pub body: String,
    /// The second copy of a push sent twice on purpose (`Fault::Repeat`): its answer is a
    /// repeat whether or not it was sent again after a 503.
    pub repeat: bool,
}

/// The pushes of one dossier, in order, and the fault it carries.
#[derive(Debug, Clone)]
pub struct DossierPlan {
    pub code: String,
    pub fault: Option<Fault>,
    pub pushes: Vec<Push>,
    /// Its applicant's personal ID.
    pub applicant: String,
    /// What happens to it, and when (its status events are `timeline.steps`).
    pub timeline: Timeline,
    /// The status event sent with a status code the province's table does not have.
    pub invalid_step: Option<usize>,
}

/// Everything a run will push.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    pub dossiers: Vec<DossierPlan>,
}

impl Plan {
    /// Pushes in all.
    pub fn pushes(&self) -> usize {
        self.dossiers.iter().map(|d| d.pushes.len()).sum()
    }

    /// Dossiers with each fault.
    pub fn faults(&self) -> BTreeMap<Fault, usize> {
        let mut m = BTreeMap::new();
        for d in &self.dossiers {
            if let Some(f) = d.fault {
                *m.entry(f).or_default() += 1;
            }
        }
        m
    }

    /// Dossiers with one fault.
    pub fn count(&self, f: Fault) -> usize {
        self.faults().get(&f).copied().unwrap_or(0)
    }
}

use super::splitmix as next;

fn title_case(s: &str) -> String {
    s.split_whitespace()
        .map(|w| {
            let mut c = w.chars();
            match c.next() {
                Some(f) => f
                    .to_uppercase()
                    .chain(c.flat_map(char::to_lowercase))
                    .collect(),
                None => String::new(),
            }
        })
        .collect::<Vec<String>>()
        .join(" ")
}

/// "nguyen thi lan" → "Nguyen Thi Lan": as typed on a keyboard without Vietnamese input.
fn without_marks(s: &str) -> String {
    title_case(&plain(s))
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The old forms of a 2025 ward: (one with a single successor, one that was split).
fn old_forms(code: &str) -> (Option<crate::units::Legacy>, Option<crate::units::Legacy>) {
    let Some(u) = crate::units::shared() else {
        return (None, None);
    };
    let mut single = None;
    let mut split = None;
    for old in u.predecessors(code) {
        let n = u.successors(&old.code).len();
        if n == 1 && single.is_none() {
            single = u.legacy_form(&old.code);
        }
        if n > 1 && split.is_none() {
            split = u.legacy_form(&old.code);
        }
    }
    (single, split)
}

fn address_xml(
    street: &str,
    commune: (&str, &str),
    district: Option<(&str, &str)>,
    province: (&str, &str),
) -> String {
    let mut x = format!(
        "<hs:SoNha>{}</hs:SoNha>\n          <hs:PhuongXa ma=\"{}\">{}</hs:PhuongXa>",
        xml_escape(street),
        commune.1,
        xml_escape(commune.0)
    );
    if let Some((name, code)) = district {
        x.push_str(&format!(
            "\n          <hs:QuanHuyen ma=\"{code}\">{}</hs:QuanHuyen>",
            xml_escape(name)
        ));
    }
    x.push_str(&format!(
        "\n          <hs:TinhThanh ma=\"{}\">{}</hs:TinhThanh>",
        province.1,
        xml_escape(province.0)
    ));
    x
}

/// Builds the plan: `dossiers` dossiers of the register's first `citizens` citizens (seed
/// `seed`), each followed by `events` status events; each dossier carries a fault with
/// probability `error_rate`, the kind drawn evenly.
/// The plan of a run: `dossiers` dossiers of the register's citizens, each with at most
/// `events` status events, a share `error_rate` with a fault; the first received on
/// 2025-12-01 07:30 (Vietnam time), the rest 11 minutes apart.
pub fn plan(seed: u64, citizens_n: usize, dossiers: usize, events: usize, error_rate: f64) -> Plan {
    plan_at(
        seed,
        citizens_n,
        dossiers,
        events,
        error_rate,
        super::stories::FIRST_RECEIPT_MS,
    )
}

/// The same, the first dossier received at `first_receipt_ms` (ms since the epoch; the demo
/// starts two weeks before the run, so that the figures of the month are its own).
pub fn plan_at(
    seed: u64,
    citizens_n: usize,
    dossiers: usize,
    events: usize,
    error_rate: f64,
    first_receipt_ms: i64,
) -> Plan {
    let people: Vec<Value> = citizens(seed, citizens_n.max(1)).into_values().collect();
    let mut rng = seed ^ 0x6D6F_7463_7561;
    // The stories from a generator of their own: the faults fall as they always did.
    let mut stories = seed ^ 0x7374_6F72_6965;
    let mut out = Plan::default();
    let original_address = DOSSIER
        .split("<hs:DiaChi>")
        .nth(1)
        .and_then(|s| s.split("</hs:DiaChi>").next())
        .unwrap_or_default()
        .to_string();
    for d in 0..dossiers {
        let person = &people[d % people.len()];
        let r = next(&mut rng);
        let roll = (r >> 11) as f64 / (1u64 << 53) as f64;
        let mut fault = (roll < error_rate)
            .then(|| Fault::ALL[(next(&mut rng) % Fault::ALL.len() as u64) as usize]);
        let code = format!("000.00.10.H42-251201-{d:05}");
        let id = person["soDinhDanh"].as_str().unwrap_or_default();
        let name = title_case(person["hoVaTen"].as_str().unwrap_or_default());
        // A name without any mark cannot be typed without them: no fault then.
        if fault == Some(Fault::TypedName) && without_marks(&name) == name {
            fault = None;
        }
        let typed = if fault == Some(Fault::TypedName) {
            without_marks(&name)
        } else {
            name.clone()
        };
        let mut parts = typed.split_whitespace();
        let ho = parts.next().unwrap_or_default().to_string();
        let rest: Vec<&str> = parts.collect();
        let (middle, given) = match rest.split_last() {
            Some((g, m)) => (m.join(" "), g.to_string()),
            None => (String::new(), String::new()),
        };
        let addr = &person["noiThuongTru"];
        let s = |k: &str| addr[k].as_str().unwrap_or_default().to_string();
        let (street, commune, commune_code, province, province_code) = (
            s("chiTiet"),
            s("xaPhuong"),
            s("maXaPhuong"),
            s("tinhThanhPho"),
            s("maTinhThanhPho"),
        );
        let (single, split) = old_forms(&commune_code);
        let old = match fault {
            Some(Fault::SplitAddress) => split,
            Some(Fault::OldAddress) => single,
            Some(Fault::TypoAddress) => single.or(split),
            _ => None,
        };
        // A fault that this ward cannot carry (no old ward of that kind) is dropped.
        if matches!(
            fault,
            Some(Fault::OldAddress | Fault::SplitAddress | Fault::TypoAddress)
        ) && old.is_none()
        {
            fault = None;
        }
        let address = match &old {
            Some(old) => {
                let typo = fault == Some(Fault::TypoAddress);
                // A typo: a letter doubled and the code left off, a clerk's slip.
                let ward = if typo {
                    format!("{}h", old.commune)
                } else {
                    old.commune.clone()
                };
                let ward_code = if typo { "" } else { old.commune_code.as_str() };
                address_xml(
                    &street,
                    (&ward, ward_code),
                    Some((&old.district, &old.district_code)),
                    (&old.province, &old.province_code),
                )
            }
            None if fault == Some(Fault::WrongAddress) => {
                // A ward of another province than the register's.
                let (ward, ward_code, prov, prov_code) = if province_code == "42" {
                    ("Phường Cầu Giấy", "00166", "Thành phố Hà Nội", "01")
                } else {
                    ("Phường Thành Sen", "18073", "Tỉnh Hà Tĩnh", "42")
                };
                address_xml(&street, (ward, ward_code), None, (prov, prov_code))
            }
            None => address_xml(
                &street,
                (&commune, &commune_code),
                None,
                (&province, &province_code),
            ),
        }
        .replace(" ma=\"\"", "");
        let birth = person["ngaySinh"].as_str().unwrap_or_default();
        let tl = timeline(d, &mut stories, events, first_receipt_ms);
        let channel = if tl.online { "TRUCTUYEN" } else { "TRUCTIEP" };
        let (received, due) = (province_time(tl.received_ms), province_time(tl.due_ms));
        let mut dossier = DOSSIER
            .replace("000.00.10.H42-250915-0001", &code)
            .replace("<hs:Ho>Nguyễn</hs:Ho>", &format!("<hs:Ho>{ho}</hs:Ho>"))
            .replace(
                "<hs:TenDem>Thị Hồng</hs:TenDem>",
                &format!("<hs:TenDem>{middle}</hs:TenDem>"),
            )
            .replace(
                "<hs:Ten>Nhung</hs:Ten>",
                &format!("<hs:Ten>{given}</hs:Ten>"),
            )
            .replace("042192004518", id)
            .replace(
                "<hs:NgaySinh>14/05/1992</hs:NgaySinh>",
                &format!("<hs:NgaySinh>{birth}</hs:NgaySinh>"),
            )
            .replace(
                &original_address,
                &format!("\n          {address}\n        "),
            )
            .replace(
                "<hs:KenhNop>TRUCTUYEN</hs:KenhNop>",
                &format!("<hs:KenhNop>{channel}</hs:KenhNop>"),
            )
            .replace("15/09/2025 08:42:10", &received)
            .replace("18/09/2025 17:00:00", &due)
            .replace(
                "<hs:SoTien>100000</hs:SoTien>",
                &format!("<hs:SoTien>{}</hs:SoTien>", tl.fee),
            );
        let mut pushes = Vec::new();
        if fault == Some(Fault::ReUpload) {
            // The certificate the province issued earlier, then the applicant's upload of it.
            pushes.push(Push {
                record_type: "document",
                body: DOCUMENT
                    .replace("42A8001234", &format!("42A8{d:06}"))
                    .replace("042192004518", id)
                    .replace("000.00.10.H42-250915-0001", &format!("{code}-0")),
                repeat: false,
            });
            dossier = dossier.replace(
                "<hs:LoaiGiayTo>Hợp đồng thuê mặt bằng kinh doanh</hs:LoaiGiayTo>",
                &format!("<hs:LoaiGiayTo>{CERTIFICATE}</hs:LoaiGiayTo>"),
            );
        }
        pushes.push(Push {
            record_type: "dossier",
            body: dossier,
            repeat: false,
        });
        // The second event (or the only one) carries the invalid status.
        let invalid_step = (fault == Some(Fault::InvalidStatus) && !tl.steps.is_empty())
            .then(|| tl.steps.len().min(2) - 1);
        for (n, step) in tl.steps.iter().enumerate() {
            let status = if invalid_step == Some(n) {
                "KHONGRO"
            } else {
                step.status
            };
            let body = status_body(&code, n, status, step, (&received, &due, channel));
            let repeat = fault == Some(Fault::Repeat) && n == 0;
            pushes.push(Push {
                record_type: "dossier-status",
                body: body.clone(),
                repeat: false,
            });
            if repeat {
                pushes.push(Push {
                    record_type: "dossier-status",
                    body,
                    repeat: true,
                });
            }
        }
        if tl.steps.is_empty() && matches!(fault, Some(Fault::InvalidStatus | Fault::Repeat)) {
            fault = None;
        }
        out.dossiers.push(DossierPlan {
            code,
            fault,
            pushes,
            applicant: id.to_string(),
            timeline: tl,
            invalid_step,
        });
    }
    out
}

/// How the hub answered the pushes of a run.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    pub pushed: usize,
    pub accepted: usize,
    /// Answered 200: a repeat, with the original exchange.
    pub repeats: usize,
    /// Refused, by the first error code (or `http N`, `transport: …`).
    pub rejected: BTreeMap<String, usize>,
    /// Findings of accepted records, by code.
    pub findings: BTreeMap<String, usize>,
    /// Pushes sent again after a 503 or a broken connection (with `resend`).
    pub resent: usize,
    /// Of the repeats, pushes sent again that the hub had taken although it had not said so
    /// (a commit whose outcome it could not know, answered 503): the hub holds them once.
    pub recovered: usize,
}

/// The texts of every `<lt:{name}>` element in `xml`, in order (the hub's own SOAP answers).
fn texts<'x>(xml: &'x str, name: &str) -> Vec<&'x str> {
    let open = format!("<lt:{name}>");
    let close = format!("</lt:{name}>");
    let mut out = Vec::new();
    let mut rest = xml;
    while let Some(i) = rest.find(&open) {
        let after = &rest[i + open.len()..];
        let Some(j) = after.find(&close) else {
            break;
        };
        out.push(&after[..j]);
        rest = &after[j + close.len()..];
    }
    out
}

impl Outcome {
    /// Counts one SOAP answer: an `IngestResponse` (new or a repeat, with its findings) or a
    /// Fault (by the first field error's code, else the problem's code).
    /// Returns whether it was a repeat.
    fn note(&mut self, status: u16, body: &str) -> bool {
        if status == 200 && body.contains("IngestResponse") {
            if texts(body, "Duplicate").first() == Some(&"true") {
                self.repeats += 1;
                return true;
            } else {
                self.accepted += 1;
                for f in texts(body, "Finding") {
                    if let Some(code) = texts(f, "Code").first() {
                        *self.findings.entry((*code).to_string()).or_default() += 1;
                    }
                }
            }
            return false;
        }
        let first_error = texts(body, "Error")
            .first()
            .and_then(|e| texts(e, "Code").first().map(|c| c.to_string()));
        let code = first_error
            .or_else(|| texts(body, "Code").first().map(|c| c.to_string()))
            .unwrap_or_else(|| format!("http {status}"));
        *self.rejected.entry(code).or_default() += 1;
        false
    }
}

/// Pushes a plan to the hub at `url` with `token`, the dossiers spread over `concurrency`
/// connections (each dossier's pushes in order, `pause` between two on a connection);
/// `progress` counts pushes as they are answered. With `resend`, a push answered 503 or whose
/// connection broke is sent again after the `Retry-After` (at most 2 s) until it is answered
/// otherwise, as a real system does when a hub node or its database fails over.
/// It speaks SOAP 1.1 as the adapter's WSDL says (`text/xml`, the operation's SOAPAction) and
/// reads the hub's `IngestResponse` (exchange, repeat or not, findings) or SOAP Fault.
pub async fn push(
    plan: &Plan,
    url: &str,
    token: &str,
    concurrency: usize,
    pause: std::time::Duration,
    progress: Arc<AtomicUsize>,
    resend: bool,
) -> Outcome {
    let client = reqwest::Client::new();
    let n = concurrency.max(1);
    let mut lanes: Vec<Vec<DossierPlan>> = (0..n).map(|_| Vec::new()).collect();
    for (i, d) in plan.dossiers.iter().enumerate() {
        lanes[i % n].push(d.clone());
    }
    let mut tasks = Vec::new();
    for lane in lanes {
        let (client, url, token, progress) = (
            client.clone(),
            url.to_string(),
            token.to_string(),
            progress.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut out = Outcome::default();
            for d in lane {
                for p in d.pushes {
                    if !pause.is_zero() {
                        tokio::time::sleep(pause).await;
                    }
                    let send = || {
                        client
                            .post(format!("{url}/v1/ingest/motcua-hatinh/{}", p.record_type))
                            .bearer_auth(&token)
                            .header("content-type", "text/xml; charset=utf-8")
                            .header(
                                "soapaction",
                                format!(
                                    "\"{}\"",
                                    crate::translate::soap_action("motcua-hatinh", p.record_type)
                                ),
                            )
                            .body(p.body.clone())
                            .send()
                    };
                    let mut resp = send().await;
                    let mut sent_again = false;
                    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(300);
                    while resend && std::time::Instant::now() < deadline {
                        let wait_ms = match &resp {
                            Ok(r) if r.status().as_u16() == 503 => r
                                .headers()
                                .get("retry-after")
                                .and_then(|v| v.to_str().ok())
                                .and_then(|v| v.parse::<u64>().ok())
                                .map_or(500, |s| (s * 1000).min(2_000)),
                            Err(_) => 200,
                            Ok(_) => break,
                        };
                        tokio::time::sleep(std::time::Duration::from_millis(wait_ms)).await;
                        out.resent += 1;
                        sent_again = true;
                        resp = send().await;
                    }
                    out.pushed += 1;
                    match resp {
                        Ok(r) => {
                            let status = r.status().as_u16();
                            let body = r.text().await.unwrap_or_default();
                            if out.note(status, &body) && sent_again && !p.repeat {
                                out.recovered += 1;
                            }
                        }
                        Err(e) => {
                            *out.rejected.entry(format!("transport: {e}")).or_default() += 1;
                        }
                    }
                    progress.fetch_add(1, Ordering::Relaxed);
                }
            }
            out
        }));
    }
    let mut total = Outcome::default();
    for t in tasks {
        if let Ok(o) = t.await {
            total.pushed += o.pushed;
            total.accepted += o.accepted;
            total.repeats += o.repeats;
            total.resent += o.resent;
            total.recovered += o.recovered;
            for (k, v) in o.rejected {
                *total.rejected.entry(k).or_default() += v;
            }
            for (k, v) in o.findings {
                *total.findings.entry(k).or_default() += v;
            }
        }
    }
    total
}

#[cfg(test)]
mod tests;

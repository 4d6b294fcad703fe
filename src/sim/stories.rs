//! What happens to each simulated dossier, and when: received at a time of its own, due three
//! days later, submitted online or at the desk, with or without a fee (paid online or not), then
//! one of a few stories told by its status events: finished on time, late, after a supplement
//! that stopped the clock, after two supplement requests (late by rule), withdrawn, or stuck
//! open past its due time. From the events a run actually sent the simulator works out the
//! service-quality figures the hub should show, by its own reckoning (`Expected`), so that the
//! demo can compare the two.

use super::motcua::{CERTIFICATE, STATUS};
use super::splitmix as next;
use serde_json::Value;

const HOUR: i64 = 3_600_000;
/// 2025-12-01 07:30 in Vietnam (00:30 UTC): the first dossier's receipt unless a run says
/// otherwise (`motcua::plan_at`).
pub const FIRST_RECEIPT_MS: i64 = 1_764_549_000_000;
/// Dossiers are received this far apart.
pub const RECEIPT_SPACING_MS: i64 = 11 * 60_000;

/// A dossier's story.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Story {
    OnTime,
    /// On time, the result on paper only (no electronic result document).
    PaperResult,
    Late,
    /// A supplement asked and handed in 24 h later: the clock stops, on time though past
    /// the first due time.
    Supplement,
    /// Two supplement requests: late by rule, though finished early.
    TwoSupplements,
    Withdrawn,
    /// Accepted, in progress, then nothing: open and past its due time.
    Stuck,
}

/// One status event: the province's status code, when, when handling ended (a finishing
/// event), and whether it carries an electronic result document.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    pub status: &'static str,
    pub at_ms: i64,
    pub finished_ms: Option<i64>,
    pub results: bool,
}

/// A dossier's times, channel, fee and status events.
#[derive(Debug, Clone, PartialEq)]
pub struct Timeline {
    pub story: Story,
    pub received_ms: i64,
    pub due_ms: i64,
    pub online: bool,
    /// The fee in VND (0: none).
    pub fee: u64,
    /// Paid online through the national portal (only when there is a fee).
    pub paid_online: bool,
    pub steps: Vec<Step>,
}

fn step(status: &'static str, received: i64, hours: i64) -> Step {
    Step {
        status,
        at_ms: received + hours * HOUR,
        finished_ms: None,
        results: false,
    }
}

fn finish(received: i64, hours: i64, results: bool) -> Step {
    Step {
        status: "DAXULY",
        at_ms: received + hours * HOUR,
        finished_ms: Some(received + hours * HOUR - HOUR / 2),
        results,
    }
}

/// Dossier `d`'s timeline, drawn from `rng`, at most `events` status events, the first
/// dossier received at `first_ms`.
pub fn timeline(d: usize, rng: &mut u64, events: usize, first_ms: i64) -> Timeline {
    let received = first_ms + d as i64 * RECEIPT_SPACING_MS;
    let roll = next(rng) % 100;
    let story = match roll {
        0..40 => Story::OnTime,
        40..50 => Story::PaperResult,
        50..65 => Story::Late,
        65..80 => Story::Supplement,
        80..85 => Story::TwoSupplements,
        85..90 => Story::Withdrawn,
        _ => Story::Stuck,
    };
    let online = next(rng) % 100 < 60;
    let fee = if next(rng) % 100 < 70 { 100_000 } else { 0 };
    let paid_online = fee > 0 && online && next(rng) % 100 < 60;
    let start = [step("TIEPNHAN", received, 1), step("DANGXULY", received, 2)];
    let returned = |h| step("DATRA", received, h);
    let rest: Vec<Step> = match story {
        Story::OnTime => vec![finish(received, 46, true), returned(50)],
        Story::PaperResult => vec![finish(received, 46, false), returned(50)],
        Story::Late => vec![finish(received, 80, true), returned(82)],
        Story::Supplement => vec![
            step("BOSUNG", received, 3),
            step("DANGXULY", received, 27),
            finish(received, 90, true),
            returned(92),
        ],
        Story::TwoSupplements => vec![
            step("BOSUNG", received, 3),
            step("DANGXULY", received, 4),
            step("BOSUNG", received, 5),
            step("DANGXULY", received, 6),
            finish(received, 30, true),
        ],
        Story::Withdrawn => vec![step("RUT", received, 10)],
        Story::Stuck => vec![],
    };
    let mut steps: Vec<Step> = start.into_iter().chain(rest).collect();
    steps.truncate(events);
    Timeline {
        story,
        received_ms: received,
        due_ms: received + 72 * HOUR,
        online,
        fee,
        paid_online,
        steps,
    }
}

/// A time as the province writes it: `dd/MM/yyyy HH:mm:ss`, Vietnam time.
pub fn province_time(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms + 7 * HOUR)
        .map(|t| t.format("%d/%m/%Y %H:%M:%S").to_string())
        .unwrap_or_default()
}

/// A time as the national portal writes it: `yyyyMMddHHmmss`, Vietnam time.
pub fn portal_time(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms + 7 * HOUR)
        .map(|t| t.format("%Y%m%d%H%M%S").to_string())
        .unwrap_or_default()
}

/// What the simulator expects the hub's service-quality figures to be, worked out from what
/// it sent: its own reckoning of the rules of `crate::quality` (a second implementation, not
/// a call to it).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Expected {
    pub received: u64,
    pub withdrawn: u64,
    pub finished_on_time: u64,
    pub finished_late: u64,
    pub open: u64,
    pub open_overdue: u64,
    pub submitted_online: u64,
    pub with_fee: u64,
    pub paid_online: u64,
    pub electronic_results: u64,
    /// Dossiers whose dossier record the hub accepted: each reaches the portal.
    pub synchronised: u64,
}

/// A dossier as the hub got it: its timeline, the status events the hub accepted (by
/// position in `steps`), and whether it accepted the dossier record itself.
pub struct Sent<'a> {
    pub timeline: &'a Timeline,
    pub accepted_steps: Vec<usize>,
    pub dossier_accepted: bool,
}

impl Expected {
    /// Adds one dossier, as of `as_of_ms` (after every event of the run).
    pub fn add(&mut self, s: &Sent<'_>, as_of_ms: i64) {
        let t = s.timeline;
        let steps: Vec<&Step> = s.accepted_steps.iter().map(|&i| &t.steps[i]).collect();
        // The hub knows a dossier from its dossier record or from any status event.
        if !s.dossier_accepted && steps.is_empty() {
            return;
        }
        self.received += 1;
        self.submitted_online += u64::from(t.online);
        self.synchronised += u64::from(s.dossier_accepted);
        // The fee is only in the dossier record.
        let fee = s.dossier_accepted && t.fee > 0;
        self.with_fee += u64::from(fee);
        self.paid_online += u64::from(fee && t.paid_online);
        if steps.iter().any(|x| x.status == "RUT") {
            self.withdrawn += 1;
            return;
        }
        let mut supplements = 0;
        let mut paused = 0;
        let mut asked: Option<i64> = None;
        for x in &steps {
            if let Some(since) = asked.take() {
                paused += x.at_ms - since;
            }
            if x.status == "BOSUNG" {
                supplements += 1;
                asked = Some(x.at_ms);
            }
            if let Some(f) = x.finished_ms {
                if f <= t.due_ms + paused && supplements <= 1 {
                    self.finished_on_time += 1;
                } else {
                    self.finished_late += 1;
                }
                self.electronic_results += u64::from(steps.iter().any(|y| y.results));
                return;
            }
        }
        self.open += 1;
        if asked.is_none() && as_of_ms > t.due_ms + paused {
            self.open_overdue += 1;
        }
    }
}

/// A status event's SOAP body: the event `n` of dossier `code`, with the dossier's receipt,
/// due time and channel; a finishing event says when handling ended and, when there is one,
/// carries the electronic result document.
pub(super) fn status_body(
    code: &str,
    n: usize,
    status: &str,
    step: &Step,
    (received, due, channel): (&str, &str, &str),
) -> String {
    let mut extra = String::new();
    if let Some(f) = step.finished_ms {
        extra.push_str(&format!(
            "<hs:NgayKetThuc>{}</hs:NgayKetThuc>\n      ",
            province_time(f)
        ));
    }
    if step.results {
        use sha2::Digest;
        let hash = hex::encode(sha2::Sha256::digest(code.as_bytes()));
        extra.push_str(&format!(
            "<hs:DanhSachKetQua>\n        <hs:GiayTo>\n          \
             <hs:LoaiGiayTo>{CERTIFICATE}</hs:LoaiGiayTo>\n          \
             <hs:MaBam>sha256:{hash}</hs:MaBam>\n          \
             <hs:NguonGoc>CAPPHAT</hs:NguonGoc>\n        </hs:GiayTo>\n      \
             </hs:DanhSachKetQua>\n      "
        ));
    }
    STATUS
        .replace("000.00.10.H42-250915-0001#3", &format!("{code}#{n}"))
        .replace("000.00.10.H42-250915-0001", code)
        .replace(
            "<hs:TrangThai>DANGXULY</hs:TrangThai>",
            &format!("<hs:TrangThai>{status}</hs:TrangThai>"),
        )
        .replace(
            "<hs:KenhNop>TRUCTUYEN</hs:KenhNop>",
            &format!("<hs:KenhNop>{channel}</hs:KenhNop>"),
        )
        .replace("15/09/2025 14:10:00", &province_time(step.at_ms))
        .replace("15/09/2025 08:42:10", received)
        .replace(
            "18/09/2025 17:00:00</hs:NgayHenTra>\n      ",
            &format!("{due}</hs:NgayHenTra>\n      {extra}"),
        )
}

impl super::motcua::Plan {
    /// The online payments the national portal took, as it sends them to the hub
    /// (`/v1/ingest/national-portal/payment`): one per dossier paid online, half an hour
    /// after its receipt.
    pub fn payments(&self) -> Vec<Value> {
        self.dossiers
            .iter()
            .filter(|d| d.timeline.paid_online)
            .map(|d| {
                serde_json::json!({
                    "MaGiaoDich": format!("DVCQG-PAY-{}", d.code),
                    "MaHoSo": d.code,
                    "MaDoiTuong": d.applicant,
                    "SoTien": d.timeline.fee,
                    "ThoiGianThanhToan": portal_time(d.timeline.received_ms + 1_800_000),
                    "HinhThucThanhToan": "1",
                    "TrangThai": "1",
                    "NoiDungThanhToan": "Lệ phí đăng ký hộ kinh doanh",
                    "DonViThuHuong": "000.00.10.H42",
                })
            })
            .collect()
    }

    /// The service-quality figures the hub should show once every push and payment is
    /// answered, as of `as_of_ms` (after the run's events), by the simulator's own reckoning.
    pub fn expected_quality(&self, as_of_ms: i64) -> Expected {
        let mut e = Expected::default();
        for d in &self.dossiers {
            e.add(
                &Sent {
                    timeline: &d.timeline,
                    accepted_steps: (0..d.timeline.steps.len())
                        .filter(|i| Some(*i) != d.invalid_step)
                        .collect(),
                    dossier_accepted: d.fault != Some(super::motcua::Fault::TypoAddress),
                },
                as_of_ms,
            );
        }
        e
    }
}

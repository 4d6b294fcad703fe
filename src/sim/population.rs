//! The national population register, simulated: `GET {base}/citizens/{personal_id}` answers
//! in the register's own shape (`adapters/population-registry.toml`): an envelope
//! `{"maKetQua": "00", "duLieu": {…}}` with Vietnamese field names and `dd/MM/yyyy` dates, or
//! 404 `{"maKetQua": "04"}` for an unknown number. Citizens are synthetic and deterministic by
//! seed: personal IDs consistent with sex and birth year and a real province code, Vietnamese
//! names with diacritics. It can be told to go down (503) and counts what it was asked.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

const SURNAMES: [&str; 10] = [
    "NGUYỄN", "TRẦN", "LÊ", "PHẠM", "HOÀNG", "PHAN", "VŨ", "ĐẶNG", "BÙI", "ĐỖ",
];
const MIDDLE_M: [&str; 5] = ["VĂN", "ĐỨC", "HỮU", "QUANG", "MINH"];
const MIDDLE_F: [&str; 5] = ["THỊ", "NGỌC", "THU", "MINH", "HỒNG"];
const GIVEN_M: [&str; 8] = ["AN", "BÌNH", "CƯỜNG", "DŨNG", "HẢI", "HÙNG", "KHOA", "TUẤN"];
const GIVEN_F: [&str; 8] = ["ANH", "HOA", "HƯƠNG", "LAN", "LINH", "MAI", "NHUNG", "THẢO"];
/// (legacy province code for the ID, its 2025 code, name, a ward of it with its 2025 code).
/// Codes from the units data embedded under `src/units/data/` (vietnamadminunits 1.0.4, MIT).
const PLACES: [(&str, &str, &str, &str, &str); 4] = [
    ("001", "01", "Thành phố Hà Nội", "Phường Cầu Giấy", "00166"),
    ("042", "42", "Tỉnh Hà Tĩnh", "Phường Thành Sen", "18073"),
    (
        "079",
        "79",
        "Thành phố Hồ Chí Minh",
        "Phường Sài Gòn",
        "26740",
    ),
    ("048", "48", "Thành phố Đà Nẵng", "Phường Hải Châu", "20242"),
];

use super::splitmix as next;

/// `n` synthetic citizens in the register's shape, by personal ID, deterministic by `seed`.
pub fn citizens(seed: u64, n: usize) -> BTreeMap<String, Value> {
    let mut s = seed;
    let mut out = BTreeMap::new();
    let mut serial = 0u64;
    while out.len() < n {
        let r = next(&mut s);
        let female = r & 1 == 1;
        let year = 1950 + (r >> 1) % 60;
        let (month, day) = (1 + (r >> 8) % 12, 1 + (r >> 12) % 28);
        let place = PLACES[((r >> 16) % PLACES.len() as u64) as usize];
        let century = if year >= 2000 { 2 } else { 0 };
        let g = century + u64::from(female);
        serial += 1 + (r >> 20) % 7;
        let id = format!("{}{}{:02}{:06}", place.0, g, year % 100, serial % 1_000_000);
        let pick = |list: &[&'static str], k: u64| list[(k % list.len() as u64) as usize];
        let name = format!(
            "{} {} {}",
            pick(&SURNAMES, r >> 24),
            pick(if female { &MIDDLE_F } else { &MIDDLE_M }, r >> 28),
            pick(if female { &GIVEN_F } else { &GIVEN_M }, r >> 32)
        );
        let address = json!({
            "chiTiet": format!("Số {} đường số {}", 1 + (r >> 36) % 200, 1 + (r >> 44) % 30),
            "xaPhuong": place.3,
            "maXaPhuong": place.4,
            "tinhThanhPho": place.2,
            "maTinhThanhPho": place.1,
        });
        out.insert(
            id.clone(),
            json!({
                "soDinhDanh": id,
                "hoVaTen": name,
                "ngaySinh": format!("{day:02}/{month:02}/{year}"),
                "gioiTinh": if female { "2" } else { "1" },
                "quocTich": "VN",
                "danToc": "Kinh",
                "tonGiao": "Không",
                "queQuan": place.2,
                "noiThuongTru": address.clone(),
                "noiOHienTai": address,
                "hoGiaDinh": { "soDinhDanhChuHo": id, "quanHeVoiChuHo": "Chủ hộ" },
            }),
        );
    }
    out
}

struct Inner {
    people: std::sync::RwLock<BTreeMap<String, Value>>,
    down: AtomicBool,
    latency_ms: AtomicU64,
    /// Where look-ups are redirected (302), when set.
    redirect: std::sync::RwLock<Option<String>>,
    asked: AtomicU64,
    /// Share of look-ups answered 503 (f64 bits).
    error_rate: AtomicU64,
}

/// A running register simulator.
#[derive(Clone)]
pub struct Population {
    inner: Arc<Inner>,
}

impl Population {
    /// `n` synthetic citizens by `seed`, plus the shipped sample citizens.
    pub fn new(seed: u64, n: usize) -> Population {
        let mut people = citizens(seed, n);
        for sample in [
            include_str!("../../adapters/samples/population-registry/citizen.json"),
            include_str!("../../adapters/samples/population-registry/citizen-partial-date.json"),
        ] {
            if let Ok(v) = serde_json::from_str::<Value>(sample)
                && let Some(id) = v["duLieu"]["soDinhDanh"].as_str()
            {
                people.insert(id.to_string(), v["duLieu"].clone());
            }
        }
        Population {
            inner: Arc::new(Inner {
                people: std::sync::RwLock::new(people),
                down: AtomicBool::new(false),
                latency_ms: AtomicU64::new(0),
                redirect: std::sync::RwLock::new(None),
                asked: AtomicU64::new(0),
                error_rate: AtomicU64::new(0),
            }),
        }
    }

    /// Records that `n` citizens moved (their current address changes, deterministically),
    /// and returns the change events as the register sends them: its answer envelope with the
    /// person's whole record as it is now. Look-ups answer the new record from then on.
    pub fn change(&self, n: usize) -> Vec<Value> {
        let Ok(mut people) = self.inner.people.write() else {
            return Vec::new();
        };
        let ids: Vec<String> = people.keys().take(n).cloned().collect();
        let mut out = Vec::new();
        for (k, id) in ids.iter().enumerate() {
            if let Some(p) = people.get_mut(id) {
                // A move within the permanent address's ward when no current one is held.
                if !p["noiOHienTai"].is_object() {
                    p["noiOHienTai"] = p["noiThuongTru"].clone();
                }
                p["noiOHienTai"]["chiTiet"] = Value::String(format!(
                    "Số {} đường Lê Lợi, tổ dân phố {}",
                    10 + k,
                    1 + k % 9
                ));
                out.push(json!({"maKetQua": "00", "thongDiep": "Thay đổi", "duLieu": p}));
            }
        }
        out
    }

    /// Pushes change events to the hub's ingest of the population-registry adapter; returns
    /// how many were accepted (202) and the answers of the others.
    pub async fn push_changes(&self, n: usize, hub: &str, token: &str) -> (usize, Vec<String>) {
        let client = reqwest::Client::new();
        let mut accepted = 0;
        let mut other = Vec::new();
        for doc in self.change(n) {
            let r = client
                .post(format!(
                    "{}/v1/ingest/population-registry/citizen",
                    hub.trim_end_matches('/')
                ))
                .bearer_auth(token)
                .json(&doc)
                .send()
                .await;
            match r {
                Ok(r) if r.status().as_u16() == 202 => accepted += 1,
                Ok(r) => other.push(format!(
                    "{}: {}",
                    r.status(),
                    r.text().await.unwrap_or_default()
                )),
                Err(e) => other.push(e.to_string()),
            }
        }
        (accepted, other)
    }

    /// Answers a share `rate` (0 to 1) of look-ups 503, as a register under load does.
    pub fn set_error_rate(&self, rate: f64) {
        self.inner
            .error_rate
            .store(rate.to_bits(), Ordering::SeqCst);
    }

    /// The router: `GET /dancu/citizens/{personal_id}`, and `GET /dancu/_ids?limit=N` (the
    /// personal IDs it knows, one per line, in order: for load tools).
    pub fn router(&self) -> Router {
        Router::new()
            .route("/dancu/citizens/{id}", get(look_up))
            .route("/dancu/_ids", get(list_ids))
            .with_state(self.inner.clone())
    }

    /// Serves on `listener` until the process ends.
    pub fn serve(&self, listener: tokio::net::TcpListener) {
        let app = self.router();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
    }

    /// The personal IDs it knows.
    pub fn ids(&self) -> Vec<String> {
        self.inner
            .people
            .read()
            .map(|p| p.keys().cloned().collect())
            .unwrap_or_default()
    }

    /// Goes down (answers 503) or comes back.
    pub fn set_down(&self, down: bool) {
        self.inner.down.store(down, Ordering::SeqCst);
    }

    /// Adds latency to every answer.
    pub fn set_latency_ms(&self, ms: u64) {
        self.inner.latency_ms.store(ms, Ordering::SeqCst);
    }

    /// Answers every look-up with a redirect (302) to `base` + `/citizens/<id>?token=…`, as
    /// a register that moved might; `None` stops.
    pub fn set_redirect(&self, base: Option<&str>) {
        if let Ok(mut r) = self.inner.redirect.write() {
            *r = base.map(str::to_string);
        }
    }

    /// Look-ups received.
    pub fn asked(&self) -> u64 {
        self.inner.asked.load(Ordering::SeqCst)
    }
}

async fn list_ids(
    State(inner): State<Arc<Inner>>,
    axum::extract::Query(q): axum::extract::Query<std::collections::HashMap<String, String>>,
) -> Response {
    let limit = q
        .get("limit")
        .and_then(|l| l.parse::<usize>().ok())
        .unwrap_or(usize::MAX);
    let ids = inner
        .people
        .read()
        .map(|p| p.keys().take(limit).cloned().collect::<Vec<_>>().join("\n"))
        .unwrap_or_default();
    (StatusCode::OK, ids).into_response()
}

async fn look_up(State(inner): State<Arc<Inner>>, Path(id): Path<String>) -> Response {
    let n = inner.asked.fetch_add(1, Ordering::SeqCst);
    let rate = f64::from_bits(inner.error_rate.load(Ordering::Relaxed));
    if super::portal::picked(n, rate) {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            axum::Json(json!({"maKetQua": "99", "thongDiep": "Hệ thống đang quá tải"})),
        )
            .into_response();
    }
    let ms = inner.latency_ms.load(Ordering::SeqCst);
    if ms > 0 {
        tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
    }
    if inner.down.load(Ordering::SeqCst) {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            axum::Json(json!({"maKetQua": "99", "thongDiep": "Hệ thống đang bảo trì"})),
        )
            .into_response();
    }
    let redirect = inner.redirect.read().ok().and_then(|r| r.clone());
    if let Some(base) = redirect {
        let to = format!("{base}/citizens/{id}?token=s3cr3t");
        return (StatusCode::FOUND, [(axum::http::header::LOCATION, to)]).into_response();
    }
    let person = inner.people.read().ok().and_then(|p| p.get(&id).cloned());
    match person {
        Some(p) => axum::Json(json!({"maKetQua": "00", "thongDiep": "Thành công", "duLieu": p}))
            .into_response(),
        None => (
            StatusCode::NOT_FOUND,
            axum::Json(json!({"maKetQua": "04", "thongDiep": "Không tìm thấy công dân"})),
        )
            .into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::PersonalId;

    #[test]
    fn synthetic_citizens_are_valid_by_the_hubs_own_rules() {
        let people = citizens(7, 500);
        assert_eq!(people.len(), 500);
        assert_eq!(people, citizens(7, 500), "deterministic by seed");
        let schemas = crate::validate::SchemaRegistry::embedded(&Default::default()).unwrap();
        let adapter = crate::translate::Adapter::load(
            &std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("adapters/population-registry.toml"),
            &schemas,
        )
        .unwrap();
        for (id, p) in &people {
            PersonalId::parse(id).unwrap();
            let doc = json!({"maKetQua": "00", "duLieu": p}).to_string();
            let r = crate::validate::translated::translate_validate(
                &adapter,
                &schemas,
                "citizen",
                doc.as_bytes(),
            );
            assert!(r.is_ok(), "{id}: {:?}", r.err());
            // Addresses in the 2025 form: the ward's code is that ward's, in that province.
            let units = crate::units::shared().unwrap();
            let a = &p["noiThuongTru"];
            let ward = units.commune(a["maXaPhuong"].as_str().unwrap()).unwrap();
            assert_eq!(ward.full_name(), a["xaPhuong"].as_str().unwrap(), "{id}");
            assert_eq!(ward.parent, a["maTinhThanhPho"].as_str().unwrap(), "{id}");
        }
    }

    #[tokio::test]
    async fn it_answers_by_id_and_can_be_told_to_fail() {
        let p = Population::new(3, 20);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}/dancu/citizens", listener.local_addr().unwrap());
        p.serve(listener);
        let id = p.ids()[0].clone();
        let c = reqwest::Client::new();
        let get = |id: String| {
            let c = c.clone();
            let url = format!("{base}/{id}");
            async move { c.get(url).send().await.unwrap().status().as_u16() }
        };
        assert_eq!(get(id.clone()).await, 200);
        assert_eq!(get("001099000001".into()).await, 404);
        p.set_down(true);
        assert_eq!(get(id.clone()).await, 503);
        p.set_down(false);
        p.set_error_rate(1.0);
        assert_eq!(get(id.clone()).await, 503);
        p.set_error_rate(0.0);
        assert_eq!(get(id).await, 200);
        assert_eq!(p.asked(), 5);
    }

    #[test]
    fn a_change_is_answered_from_then_on() {
        let p = Population::new(3, 5);
        let events = p.change(2);
        assert_eq!(events.len(), 2);
        let id = events[0]["duLieu"]["soDinhDanh"]
            .as_str()
            .unwrap()
            .to_string();
        let street = events[0]["duLieu"]["noiOHienTai"]["chiTiet"].clone();
        assert!(street.as_str().unwrap().contains("Lê Lợi"));
        let now = p.inner.people.read().unwrap()[&id].clone();
        assert_eq!(now["noiOHienTai"]["chiTiet"], street);
        assert_ne!(now["noiOHienTai"], now["noiThuongTru"]);
    }
}

//! Real hubs for integration tests: in-process on an ephemeral loopback port with a temporary
//! data directory, and tokens for the configured members.

use super::repo_path;
use lienthong::auth::{Role, create_token};
use lienthong::config::hub::HubConfig;
use lienthong::server::Hub;
use std::path::Path;

/// The shipped config with a free loopback port, `data` as the store and the shipped adapters.
pub fn config(data: &Path) -> HubConfig {
    let mut cfg = HubConfig::load(&repo_path("config/hub.toml")).expect("the shipped config loads");
    cfg.server.listen = "127.0.0.1:0".into();
    cfg.server.data_dir = data.to_path_buf();
    cfg.server.adapters_dir = repo_path("adapters");
    cfg.server.shutdown_grace_secs = 5;
    cfg
}

/// Starts a hub with the shipped config, changed by `tweak`.
pub async fn start(data: &Path, tweak: impl FnOnce(&mut HubConfig)) -> Hub {
    let mut cfg = config(data);
    tweak(&mut cfg);
    Hub::start(cfg).await.expect("the hub starts")
}

/// A bearer token for `member` acting as `role`.
pub fn token(hub: &Hub, member: &str, role: &str) -> String {
    let role = Role::parse(role).expect("a role");
    create_token(&hub.state().store, member, role)
        .expect("a token")
        .bearer()
}

/// Agency codes of the shipped config's members.
pub const ADMIN: &str = "000.00.00.A01";
pub const HATINH: &str = "000.00.00.H42";
pub const REGISTER: &str = "000.00.00.G12";
pub const PORTAL: &str = "000.00.00.G22";
pub const LABOUR: &str = "000.00.00.G07";

//! `lienthong init DIR`: a working directory for a new hub: `hub.toml` (every key commented),
//! the shipped adapters with their samples, the disclosure policy, the store in `DIR/data`, and
//! an admin token printed once. `lienthong serve --config DIR/hub.toml` then works from any
//! current directory: the config's paths are relative to its own directory.

use super::Outcome;
use crate::auth::{Role, create_token};
use crate::config::hub::HubConfig;
use crate::store::Store;
use anyhow::{Context as _, bail};
use std::path::{Path, PathBuf};

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The directory to write (created if missing; it must not hold a hub already).
    dir: PathBuf,
    /// The address the hub will listen on (`server.listen`).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
    listen: String,
}

/// The shipped configuration, written with paths inside the new directory.
const HUB_TOML: &str = include_str!("../../config/hub.toml");
const POLICIES_TOML: &str = include_str!("../../config/policies.toml");

/// The shipped adapters and their samples, by path under `adapters/`.
pub(crate) const ADAPTERS: &[(&str, &str)] = &[
    (
        "motcua-hatinh.toml",
        include_str!("../../adapters/motcua-hatinh.toml"),
    ),
    (
        "national-portal.toml",
        include_str!("../../adapters/national-portal.toml"),
    ),
    (
        "population-registry.toml",
        include_str!("../../adapters/population-registry.toml"),
    ),
    (
        "samples/motcua-hatinh/document-food-safety.xml",
        include_str!("../../adapters/samples/motcua-hatinh/document-food-safety.xml"),
    ),
    (
        "samples/motcua-hatinh/document-food-safety.xml.canonical.json",
        include_str!(
            "../../adapters/samples/motcua-hatinh/document-food-safety.xml.canonical.json"
        ),
    ),
    (
        "samples/motcua-hatinh/document.xml",
        include_str!("../../adapters/samples/motcua-hatinh/document.xml"),
    ),
    (
        "samples/motcua-hatinh/document.xml.canonical.json",
        include_str!("../../adapters/samples/motcua-hatinh/document.xml.canonical.json"),
    ),
    (
        "samples/motcua-hatinh/dossier-business.xml",
        include_str!("../../adapters/samples/motcua-hatinh/dossier-business.xml"),
    ),
    (
        "samples/motcua-hatinh/dossier-business.xml.canonical.json",
        include_str!("../../adapters/samples/motcua-hatinh/dossier-business.xml.canonical.json"),
    ),
    (
        "samples/motcua-hatinh/dossier-legacy-address.xml",
        include_str!("../../adapters/samples/motcua-hatinh/dossier-legacy-address.xml"),
    ),
    (
        "samples/motcua-hatinh/dossier-legacy-address.xml.canonical.json",
        include_str!(
            "../../adapters/samples/motcua-hatinh/dossier-legacy-address.xml.canonical.json"
        ),
    ),
    (
        "samples/motcua-hatinh/dossier.xml",
        include_str!("../../adapters/samples/motcua-hatinh/dossier.xml"),
    ),
    (
        "samples/motcua-hatinh/dossier.xml.canonical.json",
        include_str!("../../adapters/samples/motcua-hatinh/dossier.xml.canonical.json"),
    ),
    (
        "samples/motcua-hatinh/status-in-progress.xml",
        include_str!("../../adapters/samples/motcua-hatinh/status-in-progress.xml"),
    ),
    (
        "samples/motcua-hatinh/status-in-progress.xml.canonical.json",
        include_str!("../../adapters/samples/motcua-hatinh/status-in-progress.xml.canonical.json"),
    ),
    (
        "samples/motcua-hatinh/status-returned.xml",
        include_str!("../../adapters/samples/motcua-hatinh/status-returned.xml"),
    ),
    (
        "samples/motcua-hatinh/status-returned.xml.canonical.json",
        include_str!("../../adapters/samples/motcua-hatinh/status-returned.xml.canonical.json"),
    ),
    (
        "samples/national-portal/dossier-business.json",
        include_str!("../../adapters/samples/national-portal/dossier-business.json"),
    ),
    (
        "samples/national-portal/dossier-business.json.canonical.json",
        include_str!("../../adapters/samples/national-portal/dossier-business.json.canonical.json"),
    ),
    (
        "samples/national-portal/dossier-status.json",
        include_str!("../../adapters/samples/national-portal/dossier-status.json"),
    ),
    (
        "samples/national-portal/dossier-status.json.canonical.json",
        include_str!("../../adapters/samples/national-portal/dossier-status.json.canonical.json"),
    ),
    (
        "samples/national-portal/dossier.json",
        include_str!("../../adapters/samples/national-portal/dossier.json"),
    ),
    (
        "samples/national-portal/dossier.json.canonical.json",
        include_str!("../../adapters/samples/national-portal/dossier.json.canonical.json"),
    ),
    (
        "samples/national-portal/payment.json",
        include_str!("../../adapters/samples/national-portal/payment.json"),
    ),
    (
        "samples/national-portal/payment.json.canonical.json",
        include_str!("../../adapters/samples/national-portal/payment.json.canonical.json"),
    ),
    (
        "samples/population-registry/citizen-partial-date.json",
        include_str!("../../adapters/samples/population-registry/citizen-partial-date.json"),
    ),
    (
        "samples/population-registry/citizen-partial-date.json.canonical.json",
        include_str!(
            "../../adapters/samples/population-registry/citizen-partial-date.json.canonical.json"
        ),
    ),
    (
        "samples/population-registry/citizen.json",
        include_str!("../../adapters/samples/population-registry/citizen.json"),
    ),
    (
        "samples/population-registry/citizen.json.canonical.json",
        include_str!("../../adapters/samples/population-registry/citizen.json.canonical.json"),
    ),
];

/// The first admin member of the shipped config, the one the printed token is for.
const ADMIN: &str = "000.00.00.A01";

/// The config text for a directory of its own: data, adapters and policy beside it.
fn hub_toml(listen: &str) -> anyhow::Result<String> {
    let mut out = String::with_capacity(HUB_TOML.len());
    let mut replaced = 0;
    for line in HUB_TOML.lines() {
        let key = line.split_once(" = ").map(|(k, _)| k);
        if matches!(
            key,
            Some("listen" | "data_dir" | "adapters_dir" | "policies_file")
        ) {
            replaced += 1;
        }
        let new = match key {
            Some("listen") => format!("listen = {listen:?}"),
            Some("data_dir") => "data_dir = \"data\"".to_string(),
            Some("adapters_dir") => "adapters_dir = \"adapters\"".to_string(),
            Some("policies_file") => "policies_file = \"policies.toml\"".to_string(),
            _ => line
                .replace(
                    "(loopback, plain HTTP, a data directory beside this folder)",
                    "(loopback, plain HTTP, the data directory inside this folder)",
                )
                .replace("--config config/hub.toml", "--config hub.toml"),
        };
        out.push_str(&new);
        out.push('\n');
    }
    if replaced != 4 {
        bail!("the shipped config has changed shape ({replaced} of 4 keys found); this is a bug");
    }
    Ok(out)
}

fn write(path: &Path, text: &str) -> anyhow::Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("creating {}", parent.display()))?;
    }
    std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))
}

pub(crate) fn run(args: Args) -> anyhow::Result<Outcome> {
    let dir = &args.dir;
    let config_file = dir.join("hub.toml");
    if config_file.exists() || dir.join("data").exists() {
        bail!(
            "{} holds a hub already (hub.toml or data/); give a new or empty directory",
            dir.display()
        );
    }
    if args.listen.parse::<std::net::SocketAddr>().is_err() {
        bail!(
            "--listen {:?}: an address such as 127.0.0.1:8080",
            args.listen
        );
    }
    write(&config_file, &hub_toml(&args.listen)?)?;
    write(&dir.join("policies.toml"), POLICIES_TOML)?;
    for (path, text) in ADAPTERS {
        write(&dir.join("adapters").join(path), text)?;
    }
    // The config as the hub will read it: it must load, and its store is the one made here.
    let config = HubConfig::load(&config_file).with_context(|| {
        format!(
            "the config written to {} does not load",
            config_file.display()
        )
    })?;
    let store = Store::open(&config.server.data_dir)
        .with_context(|| format!("creating the store at {}", config.server.data_dir.display()))?;
    let token = create_token(&store, ADMIN, Role::Admin)?;
    store.flush()?;
    drop(store);
    let shown = dir.display();
    eprintln!(
        "wrote {shown}/hub.toml (every key commented), {shown}/policies.toml, \
         {shown}/adapters/ ({} adapters and their samples) and the store in {shown}/data\n",
        ADAPTERS.iter().filter(|(p, _)| !p.contains('/')).count()
    );
    eprintln!("admin token for {ADMIN}, shown only once (keep it; the hub stores only its hash):");
    println!("{}", token.bearer());
    eprintln!(
        "\nnext:\n  lienthong serve --config {shown}/hub.toml\n  \
         export LIENTHONG_HUB=http://{} LIENTHONG_TOKEN=<the token above>\n  \
         lienthong member list",
        config.server.listen
    );
    Ok(Outcome::Ok)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_config_written_keeps_everything_inside_the_directory() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("hub.toml"),
            hub_toml("127.0.0.1:9090").unwrap(),
        )
        .unwrap();
        let cfg = HubConfig::load(&dir.path().join("hub.toml")).unwrap();
        assert_eq!(cfg.server.listen, "127.0.0.1:9090");
        assert_eq!(cfg.server.data_dir, dir.path().join("data"));
        assert_eq!(cfg.server.adapters_dir, dir.path().join("adapters"));
        assert_eq!(cfg.server.policies_file, dir.path().join("policies.toml"));
    }

    /// `init` promises a config with every key commented: each field of the config's structs
    /// (read from their source) is named in the shipped file, as a key or in a comment.
    #[test]
    fn the_shipped_config_names_every_key() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let source = [
            "src/config/hub.rs",
            "src/config/hub/quality.rs",
            "src/config/hub/store.rs",
        ]
        .map(|f| std::fs::read_to_string(root.join(f)).unwrap())
        .join("\n");
        let structs = regex::Regex::new(r"(?s)pub struct (\w+) \{(.*?)\n\}").unwrap();
        let field = regex::Regex::new(r"(?m)^\s+pub (\w+):").unwrap();
        let key = regex::Regex::new(r"(?m)^#?\s*\[?\[?([a-z_]+)\]?\]?\s*(=|$)").unwrap();
        let named: std::collections::HashSet<&str> = key
            .captures_iter(HUB_TOML)
            .map(|c| c.get(1).unwrap().as_str())
            .collect();
        let mut missing = Vec::new();
        for s in structs.captures_iter(&source) {
            for f in field.captures_iter(&s[2]) {
                if !named.contains(&f[1]) {
                    missing.push(format!("{}.{}", &s[1], &f[1]));
                }
            }
        }
        assert!(
            missing.is_empty(),
            "config/hub.toml does not name {missing:?}"
        );
    }

    #[test]
    fn every_shipped_adapter_file_is_embedded() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("adapters");
        let mut on_disk = Vec::new();
        let mut stack = vec![root.clone()];
        while let Some(d) = stack.pop() {
            for e in std::fs::read_dir(&d).unwrap() {
                let p = e.unwrap().path();
                if p.is_dir() {
                    stack.push(p);
                } else {
                    let rel = p.strip_prefix(&root).unwrap().to_string_lossy();
                    on_disk.push(rel.replace('\\', "/"));
                }
            }
        }
        on_disk.sort();
        let embedded: Vec<String> = ADAPTERS.iter().map(|(p, _)| p.to_string()).collect();
        assert_eq!(
            embedded, on_disk,
            "src/cli/init.rs: ADAPTERS must list every file of adapters/"
        );
    }
}

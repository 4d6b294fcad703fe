use super::*;

#[test]
fn the_shipped_config_loads_with_no_edits() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/hub.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    let cfg = HubConfig::from_toml("hub.toml", &text, Path::new("/x/config"), []).unwrap();
    assert!(cfg.tls.allow_plain_http);
    assert!(cfg.server.listen.starts_with("127.0.0.1:"));
    assert_eq!(cfg.server.data_dir, Path::new("/x/config/../data"));
    assert!(!cfg.members.is_empty());
}

#[test]
fn environment_variables_override_keys() {
    let text = "[tls]\nallow_plain_http = true\n";
    let env = [
        (
            "LIENTHONG_SERVER_LISTEN".to_string(),
            "127.0.0.1:9999".to_string(),
        ),
        ("LIENTHONG_LIMITS_MAX_BODY_BYTES".into(), "2048".into()),
        ("LIENTHONG_SCHEMAS".into(), "ignored: not a section".into()),
    ];
    let cfg = HubConfig::from_toml("t.toml", text, Path::new("."), env).unwrap();
    assert_eq!(cfg.server.listen, "127.0.0.1:9999");
    assert_eq!(cfg.limits.max_body_bytes, 2048);
}

#[test]
fn mistakes_are_named() {
    let err =
        HubConfig::from_toml("t.toml", "[server]\nlisen = 1\n", Path::new("."), []).unwrap_err();
    assert!(err.to_string().contains("lisen"), "{err}");
    let err = HubConfig::from_toml("t.toml", "", Path::new("."), []).unwrap_err();
    assert!(err.to_string().contains("allow_plain_http"), "{err}");
    let err = HubConfig::from_toml(
        "t.toml",
        "[tls]\nallow_plain_http = true\n[[members]]\ncode = \"X\"\nroles = [\"boss\"]\n",
        Path::new("."),
        [],
    )
    .unwrap_err();
    assert!(err.to_string().contains("boss"), "{err}");
}

#!/usr/bin/env bash
# Times what the web console's audit page asks of the hub: the search by subject
# (POST /v1/audit/search, limit 100) and the subject report (POST /v1/audit/subjects/report),
# for 40 subjects drawn with SEED, beside GET /healthz as the baseline of the same run.
# The hub's log is filled first (see BENCHMARKS.md, "Audit search by subject"):
#
#   cargo run --release --example audit_fill -- --config config/hub.toml DATA 10000000
#   LIENTHONG_SERVER_DATA_DIR=DATA target/release/lienthong token create --member 000.00.00.A01 --role auditor
#   LIENTHONG_SERVER_DATA_DIR=DATA LIENTHONG_SERVER_LISTEN=127.0.0.1:0 LIENTHONG_QUALITY_ENABLED=false \
#     target/release/lienthong serve --config config/hub.toml
#   benches/console/audit-search.sh http://127.0.0.1:PORT TOKEN cold 1
#
# Usage: audit-search.sh URL TOKEN LABEL SEED
set -euo pipefail
[ $# -eq 4 ] || { sed -n 2,13p "$0" >&2; exit 2; }
URL=$1; TOK=$2; LABEL=$3; SEED=$4
python3 - "$URL" "$TOK" "$LABEL" "$SEED" <<'PY'
import json, random, statistics, subprocess, sys
url, tok, label, seed = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
rnd = random.Random(seed)
subjects = [f"0421920{rnd.randrange(100000):05d}" for _ in range(40)]
def t(method, path, body=None):
    cmd = ["curl", "-s", "-o", "/dev/null", "-w", "%{http_code} %{time_total}", "-X", method,
           "-H", f"Authorization: Bearer {tok}", url + path]
    if body is not None:
        cmd[cmd.index("-X"):cmd.index("-X")] = ["-H", "content-type: application/json", "-d", json.dumps(body)]
    code, secs = subprocess.run(cmd, capture_output=True, text=True).stdout.split()
    assert code == "200", (code, path)
    return float(secs) * 1000
for name, run in [
    ("search", lambda s: t("POST", "/v1/audit/search", {"subject": s, "limit": 100})),
    ("report", lambda s: t("POST", "/v1/audit/subjects/report", {"personal_id": s})),
    ("healthz", lambda s: t("GET", "/healthz")),
]:
    ms = sorted(run(s) for s in subjects)
    p = lambda q: ms[min(len(ms) - 1, int(q * len(ms)))]
    print(f"{label:>6} {name:>8}: median {statistics.median(ms):7.1f} ms  p90 {p(0.9):7.1f}  max {ms[-1]:7.1f}  (n={len(ms)})")
PY

#!/usr/bin/env bash
# Instructions the hub executes per record, counted by valgrind's callgrind: repeatable for the
# same binary and inputs whatever else the machine does, so a change too small to see through
# the noise of a shared machine's throughput (a few per cent) can still be measured. Counts
# user-space instructions only: not the kernel's (sockets, fsync), nor time spent waiting.
#
#   benches/load/instructions.sh [--pull] [--rate 200] [--seconds 10] [--out DIR] [BINARY ...]
#
# A BINARY written quality-off:BINARY runs that build without the service-quality indicators
# ([quality] enabled = false); give a list such as `B quality-off:B B quality-off:B` to
# alternate, since the count moves by a few per cent from run to run (group commits' sizes).
#
# For each binary (default: target/release/lienthong, built first), starts the simulated register
# and portal, then the hub under callgrind with instrumentation off; warms it up, switches
# instrumentation on, sends workload (a) of benches/load/run (the ~2 KB SOAP status event, each
# a new record, relayed to the portal) with examples/loadgen at a fixed rate (or, with --pull,
# cached pulls of 100 citizens through wrk), waits for the deliveries, switches it off and
# prints the instructions per request. SHA-256 is shown apart: under valgrind the sha2 crate
# does not see the CPU's SHA extensions and runs its portable code, some ten times the cost
# of the real thing, so "outside SHA-256" is the figure to compare. With --out, each binary's
# callgrind file is kept there (DIR/callgrind-N), for callgrind_annotate.
set -euo pipefail
cd "$(dirname "$0")/../.."
source benches/load/lib.sh
pull=0 rate=200 secs=10 keep="" bins=()
while [ $# -gt 0 ]; do
  case "$1" in
    --pull) pull=1 ;;
    --rate) rate=$2; shift ;;
    --seconds) secs=$2; shift ;;
    --out) keep=$2; shift ;;
    -h|--help) sed -n '2,21p' "$0"; exit 0 ;;
    *) bins+=("$1") ;;
  esac
  shift
done
command -v valgrind >/dev/null || { echo "installing valgrind" >&2; (apt-get update -qq && apt-get install -y -qq valgrind) >/dev/null; }
ensure_wrk
cargo build --release --quiet --bin lienthong --example loadgen
[ ${#bins[@]} -gt 0 ] || bins=(target/release/lienthong)
load=target/release/examples/loadgen
sims target/release/lienthong
curl -s --noproxy '*' "http://$sim/dancu/_ids?limit=100" | tr ' ' '\n' | grep . >"$work/ids"
sed 's/^per_minute = 6000$/per_minute = 1000000000/; s/^"000.00.00.G07" = 3000$/"000.00.00.G07" = 1000000000/' \
  config/policies.toml >"$work/policies.toml"
sed 's/{n}/w{n}/g' benches/load/status-event.xml >"$work/warm.xml"
applied() { curl -s --noproxy '*' "http://$sim/dvcqg/_report" | python3 -c "import json,sys; print(json.load(sys.stdin)['applied'])"; }

n=0
for spec in "${bins[@]}"; do
  n=$((n + 1))
  bin=${spec#quality-off:}
  if [ "$bin" != "$spec" ]; then export LIENTHONG_QUALITY_ENABLED=false; else export LIENTHONG_QUALITY_ENABLED=true; fi
  export LIENTHONG_SERVER_DATA_DIR="$work/data-$n" LIENTHONG_SERVER_LISTEN=127.0.0.1:0
  export LIENTHONG_SERVER_ADAPTERS_DIR="$work/adapters" LIENTHONG_SERVER_POLICIES_FILE="$work/policies.toml"
  export LIENTHONG_LOG_LEVEL=warn
  provider=$($bin token create --config config/hub.toml --member 000.00.00.H42 --role provider 2>/dev/null)
  consumer=$($bin token create --config config/hub.toml --member 000.00.00.G07 --role consumer 2>/dev/null)
  out="$work/callgrind-$n"
  # Not `start`: under valgrind the hub takes several seconds to listen.
  valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$out" \
    $bin serve --config config/hub.toml >"$out.stdout" 2>"$out.stderr" &
  pid=$!
  echo $pid >>"$work/pids"
  for _ in $(seq 600); do grep -q "listening on" "$out.stdout" 2>/dev/null && break; sleep 0.1; done
  hub=$(sed -n 's#.*listening on http://\([0-9.:]*\).*#\1#p' "$out.stdout" | head -1)
  [ -n "$hub" ] || { echo "the hub did not start under valgrind:" >&2; tail "$out.stderr" >&2; exit 1; }
  if [ $pull = 1 ]; then
    while read -r id; do
      curl -s --noproxy '*' -H "Authorization: Bearer $consumer" \
        "http://$hub/v1/citizens/$id?purpose=employment-support" >/dev/null
    done <"$work/ids"
  else
    $load "http://$hub/v1/ingest/motcua-hatinh/dossier-status" "$work/warm.xml" \
      --content-type "text/xml; charset=utf-8" --token "$provider" --rate 100 --seconds 3 >/dev/null
  fi
  sleep 2
  callgrind_control -i on "$pid" >/dev/null 2>&1
  if [ $pull = 1 ]; then
    requests=$(PULL_PATH="/v1/citizens/{id}?purpose=employment-support" PULL_TOKEN=$consumer PULL_EVERY=1 \
      IDS="$work/ids" wrk -t1 -c4 -d"${secs}s" -s benches/load/mix.lua "http://$hub" \
      | python3 -c "import json,sys; r=[json.loads(l) for l in sys.stdin if l.startswith('{')][-1]; print(r['requests'] - r['status_errors'] - r['socket_errors'])")
  else
    before=$(applied)
    requests=$($load "http://$hub/v1/ingest/motcua-hatinh/dossier-status" benches/load/status-event.xml \
      --content-type "text/xml; charset=utf-8" --token "$provider" --rate "$rate" --seconds "$secs" \
      | python3 -c "import json,sys; r=json.loads(sys.stdin.read().strip().splitlines()[-1]); print(r['requests'] - r['errors'] - r['non2xx'])")
    for _ in $(seq 100); do [ $(($(applied) - before)) -ge "$requests" ] && break; sleep 0.1; done
  fi
  sleep 2
  callgrind_control -i off "$pid" >/dev/null 2>&1
  callgrind_control -d "$pid" >/dev/null 2>&1
  sleep 1
  callgrind_annotate "$out".1 >"$out.txt" 2>/dev/null
  kill "$pid" 2>/dev/null || true
  if [ -n "$keep" ]; then mkdir -p "$keep" && cp "$out".1 "$keep/callgrind-$n"; fi
  python3 - "$out.txt" "$requests" "$spec" "$pull" <<'PY'
import re, sys
path, n, binary, pull = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4] == "1"
total = sha = 0
for line in open(path):
    m = re.match(r"\s*([\d,]+) \(\s*[\d.]+%\)\s+(.*)", line)
    if m:
        v = int(m.group(1).replace(",", ""))
        if "PROGRAM TOTALS" in m.group(2):
            total = v
        elif "sha256::compress256" in m.group(2):
            sha += v
what = "cached pull" if pull else "push (a), relayed"
print(f"{binary}: {n:,} x {what}: {total / n:,.0f} instructions each, "
      f"{(total - sha) / n:,.0f} outside SHA-256")
PY
done

#!/usr/bin/env bash
# End-to-end relay throughput: small JSON status events pushed to the hub (translate, validate,
# durable outbox with group commit) and delivered to a destination (examples/sink.rs, answering
# like the national portal), beside the same load tool posting the destination's form straight
# to the destination, and through a relay that does no work (examples/forwarder.rs: the
# portal's form sent on as it came, one HTTP exchange in and one out per record, no disk), in the
# same run; then the hub's ingest latency at half its peak rate.
#
#   benches/load/relay.sh [SECONDS] [CONNECTIONS]
set -euo pipefail
cd "$(dirname "$0")/../.."
source benches/load/lib.sh
secs="${1:-10}"
conns="${2:-32}"
cargo build --release --quiet --bin lienthong --example sink --example loadgen --example forwarder
bin=target/release/lienthong
load=target/release/examples/loadgen



sink=$(start target/release/examples/sink 127.0.0.1:0)
mkdir -p "$work/adapters"
cp -r adapters/* "$work/adapters/"
cp benches/load/province-json.toml benches/load/status.json "$work/adapters/"
sed -i "s#^endpoint = \"http://127.0.0.1:8703/dvcqg\"#endpoint = \"http://$sink/dvcqg\"#; s#^concurrency = 16#concurrency = 64#" \
  "$work/adapters/national-portal.toml"
export LIENTHONG_SERVER_DATA_DIR="$work/data" LIENTHONG_SERVER_LISTEN=127.0.0.1:0
export LIENTHONG_SERVER_ADAPTERS_DIR="$work/adapters" LIENTHONG_LOG_LEVEL=warn
token=$($bin token create --config config/hub.toml --member 000.00.00.H42 --role provider 2>/dev/null)
hub=$(start $bin serve --config config/hub.toml)

$bin translate --adapter benches/load/province-json.toml --record dossier-status --in benches/load/status.json \
  | $bin translate --adapter adapters/national-portal.toml --record dossier-status --direction outbound >"$work/portal.json"

field() { python3 -c "import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])" "$1" "$2"; }

direct=$($load "http://$sink/dvcqg" "$work/portal.json" --connections "$conns" --seconds "$secs")
forwarder=$(start target/release/examples/forwarder 127.0.0.1:0 "http://$sink")
forwarded=$($load "http://$forwarder/dvcqg" "$work/portal.json" --connections "$conns" --seconds "$secs")
before=$(curl -s "http://$sink/count")
t0=$(date +%s.%N)
ingest=$($load "http://$hub/v1/ingest/motcua-json/dossier-status" benches/load/status.json \
  --token "$token" --connections "$conns" --seconds "$secs")
accepted=$(( $(field "$ingest" requests) - $(field "$ingest" non2xx) - $(field "$ingest" errors) ))
while [ $(( $(curl -s "http://$sink/count") - before )) -lt "$accepted" ]; do sleep 0.05; done
t1=$(date +%s.%N)
e2e=$(python3 -c "print(round($accepted / ($t1 - $t0), 1))")
half=$(python3 -c "print(round($e2e / 2, 1))")
# Fresh numbers for the open-loop run: start the running number past the closed-loop ones.
sed "s/{n}/h{n}/g" benches/load/status.json >"$work/status-half.json"
halfrun=$($load "http://$hub/v1/ingest/motcua-json/dossier-status" "$work/status-half.json" \
  --token "$token" --rate "$half" --seconds "$secs")

echo "| path ($conns connections, ${secs}s) | requests/s | p50 ms | p99 ms | p99.9 ms | errors/non-2xx |"
echo "|---|---:|---:|---:|---:|---:|"
printf '| direct: POST the portal form to the destination | %s | %s | %s | %s | %s/%s |\n' \
  "$(field "$direct" rate)" "$(field "$direct" p50_ms)" "$(field "$direct" p99_ms)" "$(field "$direct" p999_ms)" "$(field "$direct" errors)" "$(field "$direct" non2xx)"
printf '| zero-work relay: the same form through examples/forwarder (axum in, reqwest out, nothing else) | %s | %s | %s | %s | %s/%s |\n' \
  "$(field "$forwarded" rate)" "$(field "$forwarded" p50_ms)" "$(field "$forwarded" p99_ms)" "$(field "$forwarded" p999_ms)" "$(field "$forwarded" errors)" "$(field "$forwarded" non2xx)"
printf '| hub ingest (translate, validate, durable outbox) | %s | %s | %s | %s | %s/%s |\n' \
  "$(field "$ingest" rate)" "$(field "$ingest" p50_ms)" "$(field "$ingest" p99_ms)" "$(field "$ingest" p999_ms)" "$(field "$ingest" errors)" "$(field "$ingest" non2xx)"
printf '| hub end to end: accepted → delivered (%s records) | %s | | | | |\n' "$accepted" "$e2e"
printf '| hub ingest, open loop at half of that (%s/s) | %s | %s | %s | %s | %s/%s |\n' \
  "$half" "$(field "$halfrun" rate)" "$(field "$halfrun" p50_ms)" "$(field "$halfrun" p99_ms)" "$(field "$halfrun" p999_ms)" "$(field "$halfrun" errors)" "$(field "$halfrun" non2xx)"
echo
python3 -c "print('ratio end-to-end / direct: %.2f' % ($e2e / $(field "$direct" rate)))"
python3 -c "print('ratio zero-work relay / direct: %.2f' % ($(field "$forwarded" rate) / $(field "$direct" rate)))"
python3 -c "print('ratio end-to-end / zero-work relay: %.2f' % ($e2e / $(field "$forwarded" rate)))"

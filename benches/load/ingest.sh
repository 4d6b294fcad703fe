#!/usr/bin/env bash
# Ingest throughput (translate + validate, no relay): the hub with its shipped config against a
# trivial axum handler, the same load tool (wrk) and concurrency, in the same run.
#
#   benches/load/ingest.sh [DURATION_SECONDS] [CONNECTIONS]
#
# Installs wrk from the distro's packages if it is missing. Prints a Markdown table.
set -euo pipefail
cd "$(dirname "$0")/../.."
source benches/load/lib.sh
duration="${1:-10}"
conns="${2:-32}"

ensure_wrk
cargo build --release --quiet --bin lienthong --example trivial


export LIENTHONG_SERVER_DATA_DIR="$work/data" LIENTHONG_SERVER_LISTEN=127.0.0.1:0
export LIENTHONG_SERVER_ADAPTERS_DIR="$PWD/adapters" LIENTHONG_LOG_LEVEL=warn
bin=target/release/lienthong
hatinh=$($bin token create --config config/hub.toml --member 000.00.00.H42 --role provider 2>/dev/null)
register=$($bin token create --config config/hub.toml --member 000.00.00.G12 --role provider 2>/dev/null)

hub=$(start $bin serve --config config/hub.toml)
trivial=$(start target/release/examples/trivial 127.0.0.1:0)

run() { # label url body content-type token key [unique]
  local out
  out=$(BODY="$3" CT="$4" TOKEN="$5" UNIQUE="${7:-}" wrk -t1 -c"$conns" -d"${duration}s" --latency \
    -s benches/load/post.lua "$2")
  local rps p50 p99 bad
  rps=$(awk '/^Requests\/sec/ {print $2}' <<<"$out")
  p50=$(awk '$1=="50%" {print $2}' <<<"$out")
  p99=$(awk '$1=="99%" {print $2}' <<<"$out")
  bad=$(awk '/^non200/ {print $2}' <<<"$out")
  printf '| %s | %s | %s | %s | %s |\n' "$1" "$rps" "$p50" "$p99" "${bad:-?}"
  echo "$rps" >"$work/rps.$6"
}

json=adapters/samples/population-registry/citizen.json
xml=adapters/samples/motcua-hatinh/status-in-progress.xml
echo "| target ($conns connections, ${duration}s, wrk -t1) | requests/s | p50 | p99 | non-2xx |"
echo "|---|---:|---:|---:|---:|"
run "trivial axum handler, JSON body ($(wc -c <$json) B)" "http://$trivial/ingest" $json application/json "" tj
run "hub ingest, JSON citizen ($(wc -c <$json) B), repeated: duplicates" "http://$hub/v1/ingest/population-registry/citizen" $json application/json "$register" hj
run "hub ingest, JSON citizen, a new record each time" "http://$hub/v1/ingest/population-registry/citizen" $json application/json "$register" hjn unique
run "trivial axum handler, XML body ($(wc -c <$xml) B)" "http://$trivial/ingest" $xml text/xml "" tx
run "hub ingest, SOAP/XML status event ($(wc -c <$xml) B), repeated: duplicates" "http://$hub/v1/ingest/motcua-hatinh/dossier-status" $xml text/xml "$hatinh" hx
run "hub ingest, SOAP/XML status event, a new record each time (routed to the portal's outbox)" "http://$hub/v1/ingest/motcua-hatinh/dossier-status" $xml text/xml "$hatinh" hxn unique
echo
awk -v a="$(cat $work/rps.hj)" -v b="$(cat $work/rps.tj)" 'BEGIN {printf "ratio hub/trivial, JSON: %.2f\n", a/b}'
awk -v a="$(cat $work/rps.hjn)" -v b="$(cat $work/rps.tj)" 'BEGIN {printf "ratio hub/trivial, JSON, new records: %.2f\n", a/b}'
awk -v a="$(cat $work/rps.hx)" -v b="$(cat $work/rps.tx)" 'BEGIN {printf "ratio hub/trivial, XML:  %.2f\n", a/b}'
awk -v a="$(cat $work/rps.hxn)" -v b="$(cat $work/rps.tx)" 'BEGIN {printf "ratio hub/trivial, XML, new records:  %.2f\n", a/b}'

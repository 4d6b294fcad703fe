#!/usr/bin/env bash
# Once-only pulls: a ministry reads a citizen through the hub (policy-checked, redacted, signed,
# audited), cached and uncached, beside the same load tool reading the simulated population
# register directly and through a proxy that does no work (examples/forwarder.rs: axum in,
# reqwest out, nothing else) and a server that does only what a cached pull must
# (examples/floor.rs: one exchange, one Ed25519 signature, one synced append before the
# answer), in the same run.
#
#   benches/load/pull.sh [DURATION_SECONDS] [CONNECTIONS]
#
# Installs wrk from the distro's packages if it is missing. Prints a Markdown table.
set -euo pipefail
cd "$(dirname "$0")/../.."
source benches/load/lib.sh
duration="${1:-10}"
conns="${2:-32}"

ensure_wrk
cargo build --release --quiet --bin lienthong --example forwarder --example floor

bin=target/release/lienthong


register=http://$(start $bin sim population --citizens 10000 --seed 7)
proxy=http://$(start target/release/examples/forwarder 127.0.0.1:0 "${register%/dancu}")/dancu
floor=http://$(start target/release/examples/floor 127.0.0.1:0 "$work/floor.dat")
id=$(curl -s "${register%/dancu}/dancu/citizens/042192004518" >/dev/null && echo 042192004518)

# The shipped adapters with the register's endpoint; policies with a high rate limit (the
# load, not the limit, is measured), cached (60 s) and uncached (0).
cp -r adapters "$work/adapters"
sed -i "s#http://127.0.0.1:8701/dancu#$register#" "$work/adapters/population-registry.toml"
for ttl in 60 0; do
  sed -e "s/^citizen = 60$/citizen = $ttl/" -e 's/^per_minute = 6000$/per_minute = 100000000/' \
    -e 's/^"000.00.00.G07" = 3000$/"000.00.00.G07" = 100000000/' \
    config/policies.toml >"$work/policies-$ttl.toml"
done

hub() { # ttl
  LIENTHONG_SERVER_DATA_DIR="$work/data-$1" LIENTHONG_SERVER_LISTEN=127.0.0.1:0 \
  LIENTHONG_SERVER_ADAPTERS_DIR="$work/adapters" LIENTHONG_SERVER_POLICIES_FILE="$work/policies-$1.toml" \
  LIENTHONG_LOG_LEVEL=warn start $bin serve --config config/hub.toml
}
token=$(LIENTHONG_SERVER_DATA_DIR="$work/data-60" $bin token create --config config/hub.toml \
  --member 000.00.00.G07 --role consumer 2>/dev/null)
token0=$(LIENTHONG_SERVER_DATA_DIR="$work/data-0" $bin token create --config config/hub.toml \
  --member 000.00.00.G07 --role consumer 2>/dev/null)
cached=http://$(hub 60)
uncached=http://$(hub 0)

run() { # label url token key
  local out
  if [ -n "$3" ]; then
    out=$(wrk -t1 -c"$conns" -d"${duration}s" --latency -H "Authorization: Bearer $3" "$2")
  else
    out=$(wrk -t1 -c"$conns" -d"${duration}s" --latency "$2")
  fi
  local rps p50 p99 bad
  rps=$(awk '/^Requests\/sec/ {print $2}' <<<"$out")
  p50=$(awk '$1=="50%" {print $2}' <<<"$out")
  p99=$(awk '$1=="99%" {print $2}' <<<"$out")
  bad=$(awk '/Non-2xx/ {print $NF}' <<<"$out")
  printf '| %s | %s | %s | %s | %s |\n' "$1" "$rps" "$p50" "$p99" "${bad:-0}"
  echo "$rps" >"$work/rps.$4"
}

echo "| path | requests/s | p50 | p99 | non-2xx |"
echo "|---|---|---|---|---|"
run "direct: GET the register" "$register/citizens/$id" "" direct
run "zero-work proxy: the same GET through examples/forwarder" "$proxy/citizens/$id" "" proxy
run "floor: one exchange, one signature, one synced append" "$floor/v1/citizens/$id" "" floor
run "hub, cached: policy, redact, sign, audit" "$cached/v1/citizens/$id?purpose=employment-support" "$token" cached
run "hub, uncached: + register over HTTP, translate, validate" "$uncached/v1/citizens/$id?purpose=employment-support" "$token0" uncached
python3 - "$work" <<'PY'
import sys
w = sys.argv[1]
r = {k: float(open(f"{w}/rps.{k}").read()) for k in ("direct", "proxy", "floor", "cached", "uncached")}
print()
print(f"cached / direct = {r['cached'] / r['direct']:.2f}; uncached / direct = {r['uncached'] / r['direct']:.2f}")
print(f"floor / direct = {r['floor'] / r['direct']:.2f}; cached / floor = {r['cached'] / r['floor']:.2f}")
print(f"zero-work proxy / direct = {r['proxy'] / r['direct']:.2f}; cached / zero-work proxy = {r['cached'] / r['proxy']:.2f}")
PY

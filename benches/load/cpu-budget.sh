#!/usr/bin/env bash
# Where the machine's CPU goes a push, by part, for workload (a) at 64 connections on the
# embedded hub or on one cluster node (a primary and a synchronous standby on this machine):
#
#   benches/load/cpu-budget.sh BINARY sled|postgres
#
# Starts `lienthong sim both`, the hub (and PostgreSQL), sends 14 s of workload (a) with wrk
# (benches/load/mix.lua, every push a new record) and counts, over its 10 s in the middle, the
# CPU of the hub, the simulators, wrk and every postgres process (/proc/PID/stat), and of the
# whole machine (/proc/stat): µs a push each, and the cores busy. On a machine whose cores all
# run the test, pushes/s cannot pass cores ÷ (busy µs a push): the bound a node's throughput
# meets here (BENCHMARKS.md, "What a push costs the machine").
set -euo pipefail
cd "$(dirname "$0")/../.."
source benches/load/lib.sh
ensure_wrk
bin=$1; backend=$2
sims "$bin"
simpid=$(head -1 "$work/pids")
export LIENTHONG_SERVER_LISTEN=127.0.0.1:0 LIENTHONG_SERVER_ADAPTERS_DIR="$work/adapters" LIENTHONG_LOG_LEVEL=warn
export LIENTHONG_SERVER_DATA_DIR="$work/data"
if [ "$backend" = postgres ]; then
  postgres_pair
  "$pg_bin/psql" "${pg_admin[@]}" -qc "create database bench"
  export LIENTHONG_STORE_BACKEND=postgres LIENTHONG_STORE_URL="$pg_url/bench?target_session_attrs=read-write"
fi
token=$("$bin" token create --config config/hub.toml --member 000.00.00.H42 --role provider 2>/dev/null)
hub=$(start "$bin" serve --config config/hub.toml)
hubpid=$(tail -1 "$work/pids")
sample() { # FILE: CPU ticks by part, and the machine's
  python3 - "$1" "$hubpid" "$simpid" <<'PY'
import json, os, sys
out, hub, sim = sys.argv[1:4]
parts = dict.fromkeys(("hub", "sim", "postgres", "wrk", "other"), 0)
for p in filter(str.isdigit, os.listdir("/proc")):
    try:
        s = open(f"/proc/{p}/stat").read()
    except OSError:
        continue
    comm = s[s.index("(") + 1:s.rindex(")")]
    f = s[s.rindex(")") + 2:].split()
    k = ("hub" if p == hub else "sim" if p == sim else "postgres" if comm.startswith("postgres")
         else "wrk" if comm == "wrk" else "other")
    parts[k] += int(f[11]) + int(f[12])
v = list(map(int, open("/proc/stat").readline().split()[1:]))
parts["busy"], parts["all"] = sum(v) - v[3] - v[4], sum(v)
json.dump(parts, open(out, "w"))
PY
}
PUSH_PATH=/v1/ingest/motcua-hatinh/dossier-status PUSH_BODY=benches/load/status-event.xml \
  PUSH_CT="text/xml; charset=utf-8" PUSH_TOKEN=$token PULL_EVERY=0 RUN=b$RANDOM \
  wrk -t1 -c64 -d14s --timeout 10s -s benches/load/mix.lua "http://$hub" >"$work/wrk.out" &
wrkpid=$!
sleep 2
sample "$work/c0"
sleep 10
sample "$work/c1"
wait "$wrkpid"
n=$(grep '^{' "$work/wrk.out" | tail -1 | python3 -c 'import json,sys; print(json.load(sys.stdin)["requests"])')
python3 - "$work/c0" "$work/c1" "$n" "$backend" <<'PY'
import json, sys
a, b = (json.load(open(f)) for f in sys.argv[1:3])
rate = int(sys.argv[3]) / 14
tick_us = 1e6 / 100
per = {k: (b[k] - a[k]) * tick_us / (rate * 10) for k in a if k != "all"}
cores = (b["all"] - a["all"]) * tick_us / 1e6 / 10
busy = (b["busy"] - a["busy"]) / (b["all"] - a["all"]) * cores
print(f"{sys.argv[4]}: {rate:,.0f} pushes/s; µs CPU a push: "
      + ", ".join(f"{k} {v:.0f}" for k, v in per.items())
      + f"; cores busy {busy:.2f} of {cores:.2f}; bound at every core busy {cores * 1e6 / per['busy']:,.0f}/s")
PY

#!/usr/bin/env bash
# Where the database's time goes a push, by statement, for workload (a) on one or two cluster
# nodes (a primary and a synchronous standby on this machine, with pg_stat_statements):
#
#   benches/load/statements.sh BINARY 1|2
#
# Starts `lienthong sim both`, PostgreSQL, and the nodes on one database; sends 10 s of
# workload (a) with wrk to each node directly (64 connections split between them; no load
# balancer, whose CPU would blur the nodes'); then prints pushes/s, the CPU a push of each
# hub thread (summed over the nodes, by thread name) and of every postgres process, and the
# statements by their time in the database a push (`total_exec_time`, which counts waits for
# locks too, such as the log's head). Compare two builds by running each in turn, alternating
# (BENCHMARKS.md, "Two nodes: where the second node's work went").
set -euo pipefail
cd "$(dirname "$0")/../.."
source benches/load/lib.sh
bin=$(realpath "$1"); n=$2; wl=a
sims "$bin"
# postgres_pair with pg_stat_statements
eval "$(declare -f postgres_pair | sed 's/-c synchronous_commit=on/-c synchronous_commit=on -c shared_preload_libraries=pg_stat_statements -c pg_stat_statements.track=all/')"
postgres_pair
q() { "$pg_bin/psql" "${pg_admin[@]}" -d bench -Atc "$1"; }
"$pg_bin/psql" "${pg_admin[@]}" -qc "create database bench"
q "create extension pg_stat_statements" >/dev/null
export LIENTHONG_SERVER_LISTEN=127.0.0.1:0 LIENTHONG_SERVER_ADAPTERS_DIR="$work/adapters" LIENTHONG_LOG_LEVEL=warn
export LIENTHONG_STORE_BACKEND=postgres LIENTHONG_STORE_URL="$pg_url/bench?target_session_attrs=read-write"
export LIENTHONG_SERVER_DATA_DIR="$work/data1"
token=$($bin token create --config config/hub.toml --member 000.00.00.H42 --role provider 2>/dev/null)
hubs=(); pids=()
for i in $(seq $n); do
  export LIENTHONG_SERVER_DATA_DIR="$work/data$i"
  h=$(start "$bin" serve --config config/hub.toml); hubs+=("$h"); pids+=("$(tail -1 "$work/pids")")
done
sleep 1
q "select pg_stat_statements_reset()" >/dev/null
cpu() { for p in "${pids[@]}"; do for t in /proc/$p/task/*; do c=$(cat $t/comm); s=($(sed 's/.*) //' $t/stat)); echo "$c $(( ${s[11]} + ${s[12]} ))"; done; done | awk '{a[$1]+=$2} END {for (k in a) print k, a[k]}' | sort; }
cpu > "$work/cpu0"
pgcpu0=$(for p in $(pgrep -u postgres postgres); do s=($(sed 's/.*) //' /proc/$p/stat)); echo $(( ${s[11]} + ${s[12]} )); done | awk '{s+=$1} END {print s}')
c=$((64 / n)); wrks=()
for h in "${hubs[@]}"; do
  PUSH_PATH=/v1/ingest/motcua-hatinh/dossier-status PUSH_BODY=benches/load/status-event.xml PUSH_CT="text/xml; charset=utf-8" \
    PUSH_TOKEN=$token PULL_EVERY=0 RUN=r$RANDOM wrk -t1 -c$c -d10s --timeout 10s -s benches/load/mix.lua "http://$h" > "$work/wrk.$h.out" & wrks+=($!)
done
wait "${wrks[@]}"
sleep 0.5
cpu > "$work/cpu1"
pgcpu1=$(for p in $(pgrep -u postgres postgres); do s=($(sed 's/.*) //' /proc/$p/stat)); echo $(( ${s[11]} + ${s[12]} )); done | awk '{s+=$1} END {print s}')
total=0
for h in "${hubs[@]}"; do r=$(grep '^{' "$work/wrk.$h.out" | tail -1 | python3 -c 'import json,sys; print(json.load(sys.stdin)["requests"])'); total=$((total + r)); done
echo "nodes $n workload $wl requests $total ($((total/10))/s)"
join "$work/cpu0" "$work/cpu1" | awk -v n=$total '{d=($3-$2)*10000; if (d>0) printf "  %-22s %7.1f us/req\n", $1, d/n}'
echo "  postgres total $(( (pgcpu1 - pgcpu0) * 10000 / total )) us/req"
q "select calls, round(total_exec_time::numeric,0) ms, round((total_exec_time*1000/$total)::numeric,1) us_req, left(regexp_replace(query, '\s+', ' ', 'g'), 90) from pg_stat_statements order by total_exec_time desc limit 14"

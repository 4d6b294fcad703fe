#!/usr/bin/env bash
# Workload (a) of benches/load/run against two or more builds of the hub in turn, a few rounds,
# so that the machine's drift touches each alike: the way to compare builds for a change worth
# more than the machine's noise (for smaller ones, benches/load/instructions.sh).
#
#   benches/load/side-by-side.sh [--rounds 3] [--seconds 10] [--connections 64] BINARY BINARY ...
#
# A BINARY written pg:BINARY runs that build on the PostgreSQL backend (cluster mode, one node):
# a primary with a synchronous standby on this machine, started once for the run, a new
# database for each measurement; pg2:BINARY runs two nodes of it on one database behind
# haproxy (round robin, keep-alive), the load sent to haproxy and the CPU counted over both
# nodes. One written quality-off:BINARY runs it without the
# service-quality indicators ([quality] enabled = false), to measure what keeping them costs.
# With THREADS=1 in the environment, each measurement adds the hub's CPU a push by thread name
# (digits taken out), to see which threads a change moves.
#
# Each measurement starts a fresh hub (shipped config and adapters, endpoints pointed at one
# `lienthong sim both`), sends the ~2 KB SOAP status event with wrk and benches/load/mix.lua
# (every push a new record), waits until the portal has applied every accepted push, and prints
# one line: pushes/s accepted, relayed/s (from the start until the last delivery), the hub's
# CPU per relayed push, p50 and p99. The portal may apply a few more than wrk counted: pushes
# answered after wrk stopped counting.
set -euo pipefail
cd "$(dirname "$0")/../.."
source benches/load/lib.sh
rounds=3 secs=10 conns=64 bins=()
while [ $# -gt 0 ]; do
  case "$1" in
    --rounds) rounds=$2; shift ;;
    --seconds) secs=$2; shift ;;
    --connections) conns=$2; shift ;;
    -h|--help) sed -n '2,22p' "$0"; exit 0 ;;
    *) bins+=("$1") ;;
  esac
  shift
done
[ ${#bins[@]} -ge 1 ] || { echo "give one or more hub binaries" >&2; exit 2; }
ensure_wrk
first=${bins[0]#pg2:}
first=${first#pg:}
sims "${first#quality-off:}"
case " ${bins[*]} " in *" pg:"*|*" pg2:"*) postgres_pair ;; esac
case " ${bins[*]} " in
  *" pg2:"*) command -v haproxy >/dev/null || { echo "installing haproxy" >&2; (apt-get update -qq && apt-get install -y -qq haproxy) >/dev/null; } ;;
esac
export LIENTHONG_SERVER_LISTEN=127.0.0.1:0 LIENTHONG_SERVER_ADAPTERS_DIR="$work/adapters" LIENTHONG_LOG_LEVEL=warn
n=0
for round in $(seq "$rounds"); do
  for spec in "${bins[@]}"; do
    n=$((n + 1))
    nodes=1 spec_pg=$spec
    if [ "${spec#pg2:}" != "$spec" ]; then nodes=2 spec_pg="pg:${spec#pg2:}"; fi
    bin=${spec_pg#pg:}
    if [ "${bin#quality-off:}" != "$bin" ]; then
      bin=${bin#quality-off:}
      export LIENTHONG_QUALITY_ENABLED=false
    else
      export LIENTHONG_QUALITY_ENABLED=true
    fi
    export LIENTHONG_SERVER_DATA_DIR="$work/data-$n"
    if [ "${spec_pg#pg:}" != "$spec_pg" ]; then
      "$pg_bin/psql" "${pg_admin[@]}" -qc "create database bench$n"
      export LIENTHONG_STORE_BACKEND=postgres
      export LIENTHONG_STORE_URL="$pg_url/bench$n?target_session_attrs=read-write"
    else
      export LIENTHONG_STORE_BACKEND=sled
      unset LIENTHONG_STORE_URL
    fi
    token=$($bin token create --config config/hub.toml --member 000.00.00.H42 --role provider 2>/dev/null)
    hub=$(start "$bin" serve --config config/hub.toml)
    pid=$(tail -1 "$work/pids")
    pids=$pid lb_pid=
    if [ "$nodes" = 2 ]; then
      # A second node on the same database, with the same signing key, and haproxy in front.
      mkdir -p "$work/data-$n-b"
      cp -r "$work/data-$n"/signing.key "$work/data-$n-b/"
      hub2=$(LIENTHONG_SERVER_DATA_DIR="$work/data-$n-b" start "$bin" serve --config config/hub.toml)
      pid2=$(tail -1 "$work/pids")
      pids="$pid,$pid2"
      lb_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
      printf '%s\n' "global" "  maxconn 4096" "defaults" "  mode http" "  timeout connect 1s" \
        "  timeout client 30s" "  timeout server 30s" "  option http-keep-alive" "frontend hub" \
        "  bind 127.0.0.1:$lb_port" "  default_backend nodes" "backend nodes" "  balance roundrobin" \
        "  server node1 $hub" "  server node2 $hub2" >"$work/haproxy-$n.cfg"
      haproxy -f "$work/haproxy-$n.cfg" -db >"$work/haproxy-$n.log" 2>&1 &
      lb_pid=$!
      echo "$lb_pid" >>"$work/pids"
      for _ in $(seq 50); do (exec 3<>"/dev/tcp/127.0.0.1/$lb_port") 2>/dev/null && break; sleep 0.1; done
      hub="127.0.0.1:$lb_port"
    fi
    python3 - "$spec" "$round" "$hub" "$sim" "$pids" "$token" "$secs" "$conns" <<'PY'
import json, os, subprocess, sys, time, urllib.request
binary, round_, hub, sim, pids, token, secs, conns = sys.argv[1:]
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
def applied():
    return json.load(opener.open(f"http://{sim}/dvcqg/_report"))["applied"]
def cpu():
    total = 0
    for pid in pids.split(","):
        f = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
        total += int(f[11]) + int(f[12])
    return total / os.sysconf("SC_CLK_TCK")
def threads():
    # CPU seconds by thread name, digits taken out (tokio-runtime-w, lienthong-commit, ...).
    by = {}
    for pid in pids.split(","):
        for tid in os.listdir(f"/proc/{pid}/task"):
            try:
                text = open(f"/proc/{pid}/task/{tid}/stat").read()
            except OSError:
                continue
            name = "".join(c for c in text[text.index("(") + 1:text.rindex(")")] if not c.isdigit())
            f = text.rsplit(")", 1)[1].split()
            by[name] = by.get(name, 0) + (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")
    return by
a0, c0, t0, th0 = applied(), cpu(), time.time(), threads()
env = {**os.environ, "PUSH_PATH": "/v1/ingest/motcua-hatinh/dossier-status",
       "PUSH_BODY": "benches/load/status-event.xml", "PUSH_CT": "text/xml; charset=utf-8",
       "PUSH_TOKEN": token, "PULL_EVERY": "0", "RUN": f"r{time.time_ns() % 10**9}"}
out = subprocess.run(["wrk", "-t1", f"-c{conns}", f"-d{secs}s", "--timeout", "10s", "-s",
                      "benches/load/mix.lua", f"http://{hub}"], env=env, check=True,
                     capture_output=True, text=True).stdout
r = [json.loads(l) for l in out.splitlines() if l.startswith("{")][-1]
ok = r["requests"] - r["status_errors"] - r["socket_errors"]
last, t_last = 0, time.time()
while True:
    n = applied() - a0
    if n != last:
        last, t_last = n, time.time()
    if n >= ok or time.time() - t_last > 10:
        break
    time.sleep(0.02)
used = cpu() - c0
print(f"round {round_} {binary}: {ok / r['seconds']:,.0f} pushes/s, relayed {last / (t_last - t0):,.0f}/s "
      f"({last:,} applied, {ok:,} answered within the run), {used / max(last, 1) * 1e6:.0f} us CPU a push, "
      f"p50 {r['p50_ms']:.2f} ms, p99 {r['p99_ms']:.2f} ms, errors {r['status_errors'] + r['socket_errors']}",
      flush=True)
if os.environ.get("THREADS") == "1":
    th1 = threads()
    per = {k: (v - th0.get(k, 0)) / max(last, 1) * 1e6 for k, v in th1.items()}
    per["(threads ended during the run)"] = used / max(last, 1) * 1e6 - sum(per.values())
    print("  us a push by thread: " + ", ".join(f"{k} {v:.1f}" for k, v in
          sorted(per.items(), key=lambda kv: -kv[1]) if abs(v) >= 0.05), flush=True)
PY
    for p in ${pids//,/ } $lb_pid; do
      kill "$p" 2>/dev/null || true
      while kill -0 "$p" 2>/dev/null; do sleep 0.1; done
    done
    rm -rf "$work/data-$n" "$work/data-$n-b"
  done
done

# Shared by the load scripts (sourced, from the repository's root): a work directory removed at
# exit with every server started, `start` to run a server and read its address, `ensure_wrk` to
# install wrk from the distro's packages when it is missing, and `sims` to start the simulated
# register and portal with the shipped adapters pointed at them.

work=$(mktemp -d)
# `start` runs inside $( … ), a subshell: the servers' pids go to a file, not a variable.
cleanup() {
  if [ -f "$work/pids" ]; then
    while read -r p; do kill "$p" 2>/dev/null || true; done <"$work/pids"
  fi
  # Process groups of their own (pg_autoctl's supervisors, whose children rename themselves),
  # and what is left running under the work directory.
  if [ -f "$work/groups" ]; then
    while read -r g; do kill -- -"$g" 2>/dev/null || true; done <"$work/groups"
  fi
  if pgrep -f -- "$work/" >/dev/null 2>&1 || [ -f "$work/groups" ]; then
    sleep 1
    [ -f "$work/groups" ] && while read -r g; do kill -9 -- -"$g" 2>/dev/null || true; done <"$work/groups"
    pkill -9 -f -- "$work/" 2>/dev/null || true
  fi
  if [ -n "${KEEP_WORK:-}" ]; then echo "kept $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT

start() { # command… ; prints the address (and path) from the first stdout line, without http://
  local out="$work/out.$RANDOM"
  "$@" >"$out" 2>"$out.err" &
  echo $! >>"$work/pids"
  for _ in $(seq 100); do
    if grep -q "listening on" "$out" 2>/dev/null; then
      sed -n 's/.*listening on http:\/\///p' "$out" | head -1
      return
    fi
    sleep 0.1
  done
  echo "server did not start: $*" >&2; cat "$out.err" >&2; exit 1
}

ensure_wrk() {
  if ! command -v wrk >/dev/null; then
    echo "installing wrk" >&2
    (apt-get update -qq && apt-get install -y -qq wrk) >/dev/null
  fi
}

sims() { # hub binary ; starts `sim both` (10,000 citizens, seed 7), sets $sim (its address), and
  # copies the shipped adapters to $work/adapters with their endpoints pointed at it
  sim=$(start "$1" sim both --listen 127.0.0.1:0 --citizens 10000 --seed 7 | cut -d' ' -f1)
  mkdir -p "$work/adapters"
  cp -r adapters/* "$work/adapters/"
  sed -i "s#http://127.0.0.1:8701/dancu#http://$sim/dancu#" "$work/adapters/population-registry.toml"
  sed -i "s#http://127.0.0.1:8703/dvcqg#http://$sim/dvcqg#" "$work/adapters/national-portal.toml"
}

postgres_pair() { # starts a PostgreSQL primary and a synchronous standby of it in $work/pg (as
  # the postgres user when run as root), durable as the cluster mode ships (fsync on,
  # synchronous_commit on, synchronous_standby_names '*'); sets $pg_url (both hosts, no
  # database) and $pg_bin
  pg_bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
  local as=()
  if [ "$(id -u)" = 0 ]; then
    as=(setpriv --reuid=postgres --regid=postgres --init-groups)
    chmod 755 "$work"
  fi
  mkdir -p "$work/pg"
  [ "$(id -u)" = 0 ] && chown postgres: "$work/pg"
  local p1 p2
  p1=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  p2=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  "${as[@]}" "$pg_bin/initdb" -D "$work/pg/primary" -U postgres -A trust --locale=C -E UTF8 >/dev/null
  "${as[@]}" "$pg_bin/postgres" -D "$work/pg/primary" -p "$p1" -k "$work/pg" \
    -c listen_addresses=127.0.0.1 -c "synchronous_standby_names=*" -c synchronous_commit=on \
    >"$work/pg/primary.log" 2>&1 &
  echo $! >>"$work/pids"
  for _ in $(seq 100); do "$pg_bin/pg_isready" -q -h 127.0.0.1 -p "$p1" && break; sleep 0.1; done
  "${as[@]}" "$pg_bin/pg_basebackup" -h 127.0.0.1 -p "$p1" -U postgres -D "$work/pg/standby" -R -X stream
  "${as[@]}" "$pg_bin/postgres" -D "$work/pg/standby" -p "$p2" -k "$work/pg" \
    -c listen_addresses=127.0.0.1 >"$work/pg/standby.log" 2>&1 &
  echo $! >>"$work/pids"
  for _ in $(seq 100); do
    [ "$("$pg_bin/psql" -h 127.0.0.1 -p "$p1" -U postgres -Atc \
      "select count(*) from pg_stat_replication where sync_state = 'sync'")" = 1 ] && break
    sleep 0.1
  done
  pg_admin=(-h 127.0.0.1 -p "$p1" -U postgres)
  pg_url="postgresql://postgres@127.0.0.1:$p1,127.0.0.1:$p2"
}

postgres_ha() { # starts a cluster under pg_auto_failover (Debian's pg-auto-failover-cli and
  # postgresql-N-auto-failover, installed when missing): a monitor and two data nodes in
  # $work/pg, as the postgres user when run as root, with the monitor's and keepers' timeouts
  # shortened (a failover in about 10 s; see the README's "Failover under an HA manager"); node1
  # is the primary, node2 its synchronous standby. Sets $pg_url (both nodes, no database; the
  # database lienthong exists), $pg_bin, $pg_admin (psql options for node1), $pg_monitor (the
  # monitor's URL) and $pg_ha_as (the command prefix that runs as the cluster's user).
  pg_bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
  local ver; ver=$(basename "$(dirname "$pg_bin")")
  if ! command -v pg_autoctl >/dev/null || [ ! -e "/usr/lib/postgresql/$ver/lib/pgautofailover.so" ]; then
    echo "installing pg_auto_failover (apt-get)" >&2
    local sudo=""; [ "$(id -u)" = 0 ] || sudo=sudo
    $sudo apt-get update -qq >/dev/null
    $sudo apt-get install -y -qq pg-auto-failover-cli "postgresql-$ver-auto-failover" >/dev/null
  fi
  local home="$work/pg/home"
  pg_ha_as=(env HOME="$home" XDG_CONFIG_HOME="$home/config" XDG_DATA_HOME="$home/data"
    XDG_RUNTIME_DIR="$home/run")
  if [ "$(id -u)" = 0 ]; then
    pg_ha_as=(setpriv --reuid=postgres --regid=postgres --init-groups "${pg_ha_as[@]}")
    chmod 755 "$work"
  fi
  mkdir -p "$home"
  [ "$(id -u)" = 0 ] && chown -R postgres: "$work/pg"
  local free='import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
  local pm p1 p2 common
  pm=$(python3 -c "$free"); p1=$(python3 -c "$free"); p2=$(python3 -c "$free")
  common=(--hostname 127.0.0.1 --listen 127.0.0.1 --auth trust --no-ssl --pgctl "$pg_bin/pg_ctl")
  "${pg_ha_as[@]}" pg_autoctl create monitor --pgdata "$work/pg/monitor" --pgport "$pm" "${common[@]}" \
    >"$work/pg/monitor.log" 2>&1
  # Each keeper in a process group of its own: its children rename themselves (pg_autoctl:
  # start/stop postgres …) and would outlive a kill of the keeper alone.
  setsid "${pg_ha_as[@]}" pg_autoctl run --pgdata "$work/pg/monitor" >>"$work/pg/monitor.log" 2>&1 &
  echo $! >>"$work/groups"
  disown
  for _ in $(seq 300); do "$pg_bin/pg_isready" -q -h 127.0.0.1 -p "$pm" && break; sleep 0.1; done
  pg_monitor="postgresql://autoctl_node@127.0.0.1:$pm/pg_auto_failover"
  # The monitor's health checks: every second, 1 s to answer, one retry after 0.5 s; a node is
  # unhealthy 3 s after its last report; a primary that does not answer is taken as demoted 8 s
  # after the failover starts. Defaults: 5 s, 5 s, 2 retries 2 s apart, 20 s, 30 s (kept when
  # LIENTHONG_HA_DEFAULTS=1, to measure them).
  if [ -z "${LIENTHONG_HA_DEFAULTS:-}" ]; then
    "$pg_bin/psql" -q -h 127.0.0.1 -p "$pm" -U postgres -d pg_auto_failover >/dev/null <<'SQL'
alter system set pgautofailover.health_check_period = 1000;
alter system set pgautofailover.health_check_timeout = 1000;
alter system set pgautofailover.health_check_max_retries = 1;
alter system set pgautofailover.health_check_retry_delay = 500;
alter system set pgautofailover.node_considered_unhealthy_timeout = 3000;
alter system set pgautofailover.primary_demote_timeout = 8000;
select pg_reload_conf();
SQL
  fi
  local n p
  for n in 1 2; do
    p=$p1; [ $n = 2 ] && p=$p2
    "${pg_ha_as[@]}" pg_autoctl create postgres --pgdata "$work/pg/node$n" --pgport "$p" --name "node$n" \
      --dbname lienthong --monitor "$pg_monitor" "${common[@]}" >"$work/pg/node$n.log" 2>&1
    # A primary cut off from the monitor and its standby stops taking writes after 5 s, before
    # the monitor promotes the standby (8 s and more): never two primaries. Default 20 s.
    [ -n "${LIENTHONG_HA_DEFAULTS:-}" ] ||
      "${pg_ha_as[@]}" pg_autoctl config set --pgdata "$work/pg/node$n" timeout.network_partition_timeout 5 >/dev/null
    setsid "${pg_ha_as[@]}" pg_autoctl run --pgdata "$work/pg/node$n" >>"$work/pg/node$n.log" 2>&1 &
    echo $! >"$work/pg/node$n.group"
    echo $! >>"$work/groups"
    disown
    if [ $n = 1 ]; then
      for _ in $(seq 600); do "$pg_bin/pg_isready" -q -h 127.0.0.1 -p "$p1" && break; sleep 0.1; done
    fi
  done
  local states=""
  for _ in $(seq 1200); do
    states=$("$pg_bin/psql" -h 127.0.0.1 -p "$pm" -U postgres -d pg_auto_failover -Atc \
      "select string_agg(nodename || '=' || reportedstate || '/' || goalstate, ' ' order by nodeid) from pgautofailover.node" 2>/dev/null || true)
    [ "$states" = "node1=primary/primary node2=secondary/secondary" ] && break
    sleep 0.1
  done
  [ "$states" = "node1=primary/primary node2=secondary/secondary" ] || {
    echo "pg_auto_failover did not reach a primary and a secondary within 120 s: $states" >&2
    tail -20 "$work/pg/"*.log >&2; exit 1; }
  pg_admin=(-h 127.0.0.1 -p "$p1" -U postgres)
  pg_url="postgresql://postgres@127.0.0.1:$p1,127.0.0.1:$p2"
}

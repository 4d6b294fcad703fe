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

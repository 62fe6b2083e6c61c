#!/usr/bin/env bash
# Starts or stops a throwaway PostgreSQL cluster for the tests.
#
#   pg_cluster.sh start CONNECTION_FILE   initdb into a new temporary folder,
#       start the server on a free port with its unix socket in that folder
#       (no TCP listener), create database `fhirsync_test`, and write the
#       libpq connection string into CONNECTION_FILE (the folder goes into
#       CONNECTION_FILE.dir). Fails loudly if any step fails.
#   pg_cluster.sh stop CONNECTION_FILE    stop the server, remove the folder
#       and both files.
#
# The server runs with fsync off unless PG_FSYNC=on (the benchmark sets it):
# the tests kill clients, never the server, so they do not need it.
#
# PostgreSQL refuses to run as root, so under root (CI) the server runs as
# the `postgres` system user through runuser; otherwise as the current user.
set -euo pipefail

PG_BIN="${PG_BIN:-/usr/lib/postgresql/15/bin}"
action="${1:-}"
conn_file="${2:-}"
if [[ -z "$action" || -z "$conn_file" ]]; then
  echo "usage: $0 start|stop CONNECTION_FILE" >&2
  exit 2
fi

as_owner() {
  if [[ "$(id -u)" == "0" ]]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

port_in_use() {
  ss -Hltn "sport = :$1" 2>/dev/null | grep -q . && return 0
  ss -Hlx 2>/dev/null | grep -q "\.s\.PGSQL\.$1\b" && return 0
  return 1
}

stop_cluster() {
  local dir
  [[ -f "$conn_file.dir" ]] || { rm -f "$conn_file"; return 0; }
  dir="$(cat "$conn_file.dir")"
  if [[ -n "$dir" && -d "$dir/data" ]]; then
    as_owner "$PG_BIN/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
  fi
  case "$dir" in
    */fhirsync-pg.*) rm -rf "$dir" ;;
  esac
  rm -f "$conn_file" "$conn_file.dir"
}

case "$action" in
  start)
    # A cluster left over from an interrupted run would leak; remove it.
    stop_cluster
    dir="$(mktemp -d "${TMPDIR:-/tmp}/fhirsync-pg.XXXXXX")"
    echo "$dir" > "$conn_file.dir"
    chmod 755 "$dir"
    if [[ "$(id -u)" == "0" ]]; then chown postgres: "$dir"; fi
    as_owner "$PG_BIN/initdb" -D "$dir/data" -A trust -U fhirsync -E UTF8 --locale=C \
      --no-sync >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; exit 1; }
    started=""
    for attempt in $(seq 1 20); do
      port=$(( 20000 + (RANDOM * 32768 + RANDOM) % 40000 ))
      port_in_use "$port" && continue
      if as_owner "$PG_BIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
          -o "-p $port -k $dir -c listen_addresses= -c fsync=${PG_FSYNC:-off} -c full_page_writes=${PG_FSYNC:-off} -c max_connections=200" \
          start >/dev/null 2>&1; then
        started=yes
        break
      fi
    done
    if [[ -z "$started" ]]; then
      echo "pg_cluster.sh: PostgreSQL did not start; server log:" >&2
      cat "$dir/server.log" >&2 || true
      exit 1
    fi
    as_owner "$PG_BIN/createdb" -h "$dir" -p "$port" -U fhirsync fhirsync_test
    echo "host=$dir port=$port dbname=fhirsync_test user=fhirsync" > "$conn_file.tmp"
    mv "$conn_file.tmp" "$conn_file"
    echo "PostgreSQL running: $(cat "$conn_file")"
    ;;
  stop)
    stop_cluster
    ;;
  *)
    echo "usage: $0 start|stop CONNECTION_FILE" >&2
    exit 2
    ;;
esac

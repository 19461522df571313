#!/usr/bin/env bash
# A PostgreSQL streaming read replica of the local server, as a second cluster on another
# port, for tests and local cluster runs (history reads go to it). Idempotent: `start`
# takes a base backup only when the replica directory does not hold one yet.
#
# usage: scripts/pg-replica.sh start|stop|status|destroy
# environment:
#   PRIMARY_HOST (127.0.0.1)  PRIMARY_PORT (5432)  PRIMARY_USER (postgres)
#   REPLICA_PORT (5433)       REPLICA_DIR (/var/lib/postgresql/bourse-replica)
#   PG_BIN (the newest /usr/lib/postgresql/*/bin)
set -euo pipefail

PRIMARY_HOST="${PRIMARY_HOST:-127.0.0.1}"
PRIMARY_PORT="${PRIMARY_PORT:-5432}"
PRIMARY_USER="${PRIMARY_USER:-postgres}"
REPLICA_PORT="${REPLICA_PORT:-5433}"
REPLICA_DIR="${REPLICA_DIR:-/var/lib/postgresql/bourse-replica}"
PG_BIN="${PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)}"
LOG_FILE="${REPLICA_DIR}.log"
# Seconds `start` waits for the replica to accept connections.
START_WAIT_SECONDS=30

if [[ -z "${PG_BIN}" || ! -x "${PG_BIN}/pg_ctl" ]]; then
  echo "pg-replica: no PostgreSQL binaries found (set PG_BIN)" >&2
  exit 1
fi

# The server runs as the postgres user; so do the replica's files and processes.
as_postgres() {
  if [[ "$(id -un)" == "postgres" ]]; then "$@"; else runuser -u postgres -- "$@"; fi
}

primary_sql() {
  psql -h "${PRIMARY_HOST}" -p "${PRIMARY_PORT}" -U "${PRIMARY_USER}" -d postgres -XAtqc "$1"
}

# pg_basebackup and streaming need a replication entry in the primary's pg_hba.conf
# (loopback only, trust like the rest of this development server). Added once, then reloaded.
allow_replication() {
  local hba
  hba="$(primary_sql 'show hba_file')"
  if ! grep -Eq '^host[[:space:]]+replication[[:space:]]+all[[:space:]]+127\.0\.0\.1/32' "${hba}"; then
    echo "pg-replica: allowing loopback replication connections in ${hba}"
    printf '# Added by bourse scripts/pg-replica.sh: local streaming replica.\nhost replication all 127.0.0.1/32 trust\n' >>"${hba}"
    primary_sql 'select pg_reload_conf()' >/dev/null
  fi
}

base_backup() {
  if [[ -f "${REPLICA_DIR}/standby.signal" ]]; then
    return
  fi
  echo "pg-replica: base backup of ${PRIMARY_HOST}:${PRIMARY_PORT} into ${REPLICA_DIR}"
  rm -rf "${REPLICA_DIR}"
  mkdir -p "$(dirname "${REPLICA_DIR}")"
  install -d -o postgres -g postgres -m 700 "${REPLICA_DIR}"
  # -R writes standby.signal and primary_conninfo; -X stream copies the WAL it needs.
  as_postgres "${PG_BIN}/pg_basebackup" -h "${PRIMARY_HOST}" -p "${PRIMARY_PORT}" -U "${PRIMARY_USER}" \
    -D "${REPLICA_DIR}" -R -X stream -c fast
  # Debian keeps configuration outside the data directory, so the copy has none: give the
  # replica its own minimal files.
  as_postgres tee "${REPLICA_DIR}/postgresql.conf" >/dev/null <<EOF
# Bourse local read replica (scripts/pg-replica.sh).
port = ${REPLICA_PORT}
listen_addresses = '127.0.0.1'
unix_socket_directories = '/tmp'
hot_standby = on
hot_standby_feedback = on
shared_buffers = 64MB
EOF
  as_postgres tee "${REPLICA_DIR}/pg_hba.conf" >/dev/null <<EOF
local all all trust
host all all 127.0.0.1/32 trust
EOF
  as_postgres touch "${REPLICA_DIR}/pg_ident.conf"
}

is_running() {
  as_postgres "${PG_BIN}/pg_ctl" -D "${REPLICA_DIR}" status >/dev/null 2>&1
}

start() {
  allow_replication
  base_backup
  if is_running; then
    echo "pg-replica: already running on 127.0.0.1:${REPLICA_PORT}"
    return
  fi
  touch "${LOG_FILE}" && chown postgres:postgres "${LOG_FILE}" 2>/dev/null || true
  as_postgres "${PG_BIN}/pg_ctl" -D "${REPLICA_DIR}" -l "${LOG_FILE}" -w -t "${START_WAIT_SECONDS}" start >/dev/null
  echo "pg-replica: running on 127.0.0.1:${REPLICA_PORT} (BOURSE_DATABASE_REPLICA_URL=postgres://postgres@127.0.0.1:${REPLICA_PORT}/<database>)"
}

stop() {
  if is_running; then
    as_postgres "${PG_BIN}/pg_ctl" -D "${REPLICA_DIR}" -m fast -w stop >/dev/null
    echo "pg-replica: stopped"
  else
    echo "pg-replica: not running"
  fi
}

status() {
  if ! is_running; then
    echo "pg-replica: not running (${REPLICA_DIR})"
    return 3
  fi
  local lag
  lag="$(psql -h 127.0.0.1 -p "${REPLICA_PORT}" -U postgres -d postgres -XAtqc \
    "select case when pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() then 0 else coalesce(extract(epoch from now() - pg_last_xact_replay_timestamp()), 0) end")"
  echo "pg-replica: running on 127.0.0.1:${REPLICA_PORT}, in recovery=$(psql -h 127.0.0.1 -p "${REPLICA_PORT}" -U postgres -d postgres -XAtqc 'select pg_is_in_recovery()'), lag=${lag}s"
}

destroy() {
  stop || true
  rm -rf "${REPLICA_DIR}" "${LOG_FILE}"
  echo "pg-replica: removed ${REPLICA_DIR}"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  destroy) destroy ;;
  *)
    echo "usage: $0 start|stop|status|destroy" >&2
    exit 2
    ;;
esac

# Shared by up.sh, down.sh and make-snapshot.sh (sourced, not run).
# shellcheck shell=bash

NB_HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
NB_REPO="$(cd "$NB_HERE/../../.." && pwd)"
LAB="${NBSYNC_LAB_DIR:-$NB_REPO/.lab}"
mkdir -p "$LAB"
LAB="$(cd "$LAB" && pwd)"
RUN="$LAB/run"
LOGS="$LAB/logs"
VENV="$LAB/netbox-venv"
NB_ROOT="$LAB/netbox"              # NETBOX_ROOT: conf/, media/, static/, secrets
SECRETS="$NB_ROOT/secrets.json"     # generated once, chmod 600
NB_PORT="${NBSYNC_NETBOX_PORT:-8000}"
NB_DB="${NBSYNC_NETBOX_DB:-netbox}"
# Redis databases: tasks = NB_REDIS_DB, caching = NB_REDIS_DB + 1 (0/1 on port 8000;
# a second instance on 8001 uses 2/3, so their rq queues stay apart).
NB_REDIS_DB=$(( (NB_PORT - 8000) * 2 ))
(( NB_REDIS_DB >= 0 && NB_REDIS_DB <= 14 )) || NB_REDIS_DB=0
# shellcheck disable=SC2034  # used by the scripts that source this file
NB_URL="http://127.0.0.1:$NB_PORT"
# shellcheck disable=SC2034
NB_HOSTPORT="127.0.0.1:$NB_PORT"
PG_VERSION=15
PG_CLUSTER=main
NB_HELPER="$NB_HERE/labnb.py"
NB_APT_PACKAGES=(postgresql redis-server gcc libpq-dev)

export NETBOX_ROOT="$NB_ROOT"
export DJANGO_SETTINGS_MODULE=netbox.settings

log() { printf 'netbox: %s\n' "$*" >&2; }
die() { printf 'netbox: ERROR: %s\n' "$*" >&2; exit 1; }

# pid from a pid file if that process is alive (and not a zombie), else nothing.
live_pid() {
    local f="$1" pid state
    [[ -s "$f" ]] || return 1
    pid="$(tr -dc '0-9' <"$f" 2>/dev/null)" || return 1
    [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null || return 1
    state="$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null || true)"
    [[ "$state" != Z ]] || return 1
    printf '%s\n' "$pid"
}

find_python312() {
    local p
    if [[ -n "${NBSYNC_PYTHON312:-}" ]]; then printf '%s\n' "$NBSYNC_PYTHON312"; return; fi
    # shellcheck disable=SC2012  # a glob of version directories, no odd file names
    p="$(ls -d "$HOME"/.pyenv/versions/3.12.*/bin/python3.12 2>/dev/null | sort -V | tail -n 1 || true)"
    if [[ -z "$p" ]]; then p="$(command -v python3.12 || true)"; fi
    [[ -n "$p" ]] || die "Python 3.12 not found (~/.pyenv/versions/3.12.*/bin/python3.12 or python3.12 on PATH; or set NBSYNC_PYTHON312)"
    printf '%s\n' "$p"
}

ensure_apt_packages() {
    local missing=() p
    for p in "${NB_APT_PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
    done
    [[ ${#missing[@]} -eq 0 ]] && return 0
    log "apt-get install ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    # Other lab scripts may run apt at the same time: wait for the dpkg lock.
    apt-get -o DPkg::Lock::Timeout=600 update -qq >>"$LOGS/netbox-apt.log" 2>&1 \
        || { tail -n 20 "$LOGS/netbox-apt.log" >&2; die "apt-get update failed"; }
    apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}" \
        >>"$LOGS/netbox-apt.log" 2>&1 \
        || { tail -n 20 "$LOGS/netbox-apt.log" >&2; die "apt-get install ${missing[*]} failed"; }
}

pg_running() { pg_ctlcluster "$PG_VERSION" "$PG_CLUSTER" status >/dev/null 2>&1; }

ensure_postgres() {
    if ! pg_running; then
        log "starting PostgreSQL $PG_VERSION/$PG_CLUSTER"
        pg_ctlcluster "$PG_VERSION" "$PG_CLUSTER" start || die "pg_ctlcluster $PG_VERSION $PG_CLUSTER start failed"
        : >"$RUN/netbox-postgres.started"
    fi
    local _
    for _ in $(seq 1 60); do
        pg_isready -q -h 127.0.0.1 -p 5432 && return 0
        sleep 0.5
    done
    die "PostgreSQL does not answer on 127.0.0.1:5432"
}

redis_ok() { [[ "$(redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null || true)" == PONG ]]; }

ensure_redis() {
    redis_ok && return 0
    log "starting Redis on 127.0.0.1:6379"
    mkdir -p "$NB_ROOT/redis"
    redis-server --daemonize yes --bind 127.0.0.1 --port 6379 \
        --pidfile "$RUN/netbox-redis.pid" --logfile "$LOGS/netbox-redis.log" \
        --dir "$NB_ROOT/redis" --save '' --appendonly no >/dev/null \
        || die "redis-server failed to start (see $LOGS/netbox-redis.log)"
    local _
    for _ in $(seq 1 50); do
        redis_ok && return 0
        sleep 0.2
    done
    die "Redis does not answer on 127.0.0.1:6379 (see $LOGS/netbox-redis.log)"
}

# psql as the superuser postgres (peer auth over the local socket); SQL on stdin.
psql_admin() { (cd / && runuser -u postgres -- psql -X -q -v ON_ERROR_STOP=1 "$@"); }

# psql as role netbox over TCP (password from the secrets file; never printed).
psql_netbox() {
    local db="$1"; shift
    PGPASSWORD="$(secret db_password)" psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p 5432 -U netbox -d "$db" "$@"
}

secret() { "$VENV/bin/python" -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$SECRETS" "$1"; }

# role netbox (password kept in sync with the secrets file) and database netbox.
ensure_db_role() {
    local exists
    exists="$(psql_admin -tAc "SELECT 1 FROM pg_roles WHERE rolname='netbox'")"
    if [[ "$exists" != 1 ]]; then
        log "creating PostgreSQL role netbox"
        psql_admin <<<"CREATE ROLE netbox LOGIN CREATEDB;"
    fi
    # The password is hex, so it needs no quoting; pass it on stdin, not argv.
    psql_admin <<<"ALTER ROLE netbox WITH LOGIN CREATEDB PASSWORD '$(secret db_password)';"
}

ensure_database() {
    local db="$1" exists
    exists="$(psql_admin -tAc "SELECT 1 FROM pg_database WHERE datname='$db'")"
    if [[ "$exists" != 1 ]]; then
        log "creating database $db"
        psql_admin <<<"CREATE DATABASE \"$db\" OWNER netbox ENCODING 'UTF8' TEMPLATE template0;"
    fi
}

ensure_venv() {
    local py stamp="$VENV/.nbsync-requirements"
    if [[ -x "$VENV/bin/python" ]] && cmp -s "$NB_HERE/requirements.txt" "$stamp" \
        && "$VENV/bin/python" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 12))' 2>/dev/null; then
        return 0
    fi
    py="$(find_python312)"
    if ! "$VENV/bin/python" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 12))' 2>/dev/null; then
        log "creating venv $VENV ($py)"
        rm -rf "$VENV"
        "$py" -m venv "$VENV" || die "cannot create venv with $py"
    fi
    log "pip install -r tests/lab/netbox/requirements.txt (first time: about 2 min; log: $LOGS/netbox-pip.log)"
    "$VENV/bin/python" -m pip install --disable-pip-version-check -q -r "$NB_HERE/requirements.txt" \
        >>"$LOGS/netbox-pip.log" 2>&1 \
        || { grep -v '^WARNING: Location' "$LOGS/netbox-pip.log" | tail -n 30 >&2; die "pip install failed"; }
    cp "$NB_HERE/requirements.txt" "$stamp"
}

# secrets file + configuration.py (both idempotent).
ensure_config() {
    mkdir -p "$NB_ROOT"
    chmod 700 "$NB_ROOT"
    "$VENV/bin/python" "$NB_HELPER" secrets "$SECRETS"
    "$VENV/bin/python" "$NB_HELPER" config "$SECRETS" "$NB_ROOT" "$NB_DB" "$NB_REDIS_DB"
}

snapshot_name() {
    local v
    read -r -a v <<<"$("$VENV/bin/python" "$NB_HELPER" versions)"
    printf 'netbox-%s-dns-%s.sql.gz\n' "${v[0]}" "${v[1]}"
}

# Everything up to (not including) the database contents and the processes.
prepare() {
    mkdir -p "$RUN" "$LOGS"
    ensure_apt_packages
    ensure_venv
    ensure_config
    ensure_postgres
    ensure_redis
    ensure_db_role
    ensure_database "$NB_DB"
}

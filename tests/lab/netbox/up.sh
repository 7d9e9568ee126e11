#!/usr/bin/env bash
# Start the lab's NetBox (4.7 + netbox-plugin-dns) on http://127.0.0.1:8000 with
# PostgreSQL 15 and Redis from Debian. Idempotent: a second call returns in seconds.
# Writes $NBSYNC_LAB_DIR/netbox.json (default <repo>/.lab). Needs root (apt, postgres).
#
# Environment:
#   NBSYNC_LAB_DIR          lab state directory (default <repo>/.lab)
#   NBSYNC_PYTHON312        Python 3.12 to build the venv with (default: pyenv 3.12.*, then PATH)
#   NBSYNC_NETBOX_TIMEOUT   readiness deadline in seconds (default 300)
#   NBSYNC_NETBOX_NO_SNAPSHOT=1   migrate from scratch even if a snapshot matches
#   NBSYNC_NETBOX_MIGRATE=1 run manage.py migrate even when the database is known to be
#                           current (restored from a matching snapshot, or stamped
#                           "nbsync-lab migrated netbox-<v>-dns-<v>" by an earlier up.sh)
#   NBSYNC_NETBOX_PORT      port on 127.0.0.1 (default 8000)
#   NBSYNC_NETBOX_DB        database name (default netbox); with NBSYNC_NETBOX_PORT and
#                           NBSYNC_LAB_DIR, a second, independent instance (the role
#                           "netbox" is shared: give it the same db_password in
#                           <lab>/netbox/secrets.json)
set -euo pipefail

# shellcheck source=lib.sh
source "$(cd "$(dirname "$0")" && pwd)/lib.sh"
TIMEOUT="${NBSYNC_NETBOX_TIMEOUT:-300}"
GUNICORN_PID="$RUN/netbox.pid"
RQ_PID="$RUN/netbox-rqworker.pid"
T0=$SECONDS

mkdir -p "$RUN" "$LOGS"

# Run a command detached (own session, cwd NETBOX_ROOT, output to a log); its pid
# (the same process after exec) goes to PIDFILE. Returns once the pid file exists.
spawn() {
    local pidfile="$1" logfile="$2" _
    shift 2
    rm -f "$pidfile"
    # shellcheck disable=SC2016  # the inner shell expands these, not this one
    setsid nohup bash -c 'cd "$1" && echo $$ >"$2" && shift 2 && exec "$@"' spawn \
        "$NB_ROOT" "$pidfile" "$@" >>"$logfile" 2>&1 </dev/null &
    for _ in $(seq 1 50); do
        [[ -s "$pidfile" ]] && return 0
        sleep 0.1
    done
    die "could not start $1 (see $logfile)"
}

start_rqworker() {
    live_pid "$RQ_PID" >/dev/null && return 0
    rm -f "$RQ_PID"
    log "starting rq worker (log: $LOGS/netbox-rqworker.log)"
    spawn "$RQ_PID" "$LOGS/netbox-rqworker.log" "$VENV/bin/netbox" rqworker high default low
}

# HMAC-SHA256(pepper 1, v2 secret): what NetBox stores for our v2 token.
v2_digest() {
    "$VENV/bin/python" -c 'import hashlib, hmac, json, sys
s = json.load(open(sys.argv[1]))
print(hmac.new(s["pepper"].encode(), s["token_v2_secret"].encode(), hashlib.sha256).hexdigest())' "$SECRETS"
}

write_json() {
    "$VENV/bin/python" "$NB_HELPER" json "$NB_URL" "$SECRETS" "$LAB/netbox.json"
}

# Fast path: NetBox already answers with our token.
if [[ -x "$VENV/bin/python" && -f "$SECRETS" ]] \
    && cmp -s "$NB_HERE/requirements.txt" "$VENV/.nbsync-requirements" \
    && "$VENV/bin/python" "$NB_HELPER" status "$NB_URL" "$SECRETS"; then
    start_rqworker
    write_json
    log "already running at $NB_URL ($((SECONDS - T0)) s)"
    exit 0
fi

prepare

# Something else (or a stale NetBox with other credentials) holds the port?
if ! live_pid "$GUNICORN_PID" >/dev/null \
    && (exec 3<>"/dev/tcp/127.0.0.1/$NB_PORT") 2>/dev/null; then
    die "port $NB_HOSTPORT is in use by a process the lab did not start (or a NetBox that rejects our token)"
fi

# Database contents: an empty database gets the committed snapshot for these exact
# versions (seconds) or, without one, a full migrate (about 6 min, much more on a
# busy machine). A database this lab already migrated (stamped with the versions in
# its COMMENT) is left alone; anything else gets manage.py migrate.
if ! live_pid "$GUNICORN_PID" >/dev/null; then
    snap_name="$(snapshot_name)"
    stamp="nbsync-lab migrated ${snap_name%.sql.gz}"
    ntables="$(psql_netbox "$NB_DB" -tAc "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")"
    dbstamp="$(psql_netbox "$NB_DB" -tAc "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = '$NB_DB'")"
    fresh_migrate=0
    need_migrate=1
    if [[ "$ntables" != 0 && "$dbstamp" == "$stamp" ]]; then
        need_migrate=0   # migrated by this lab with exactly these versions
    fi
    if [[ "$ntables" == 0 ]]; then
        snap=""
        if [[ "${NBSYNC_NETBOX_NO_SNAPSHOT:-0}" != 1 ]]; then
            for cand in "$NB_HERE/snapshot/$snap_name" "$NB_ROOT/snapshot/$snap_name"; do
                if [[ -f "$cand" ]]; then snap="$cand"; break; fi
            done
        fi
        if [[ -n "$snap" ]]; then
            log "empty database: restoring ${snap#"$NB_REPO"/}"
            t=$SECONDS
            gzip -dc "$snap" | psql_netbox "$NB_DB" --single-transaction -o /dev/null \
                >>"$LOGS/netbox-migrate.log" 2>&1 \
                || { tail -n 20 "$LOGS/netbox-migrate.log" >&2; die "restoring $snap failed"; }
            log "restored in $((SECONDS - t)) s"
            # The snapshot's name pins the exact versions, so migrate would be a no-op
            # (30-50 s of Django start-up): skip it unless NBSYNC_NETBOX_MIGRATE=1.
            need_migrate=0
        else
            log "empty database and no snapshot $snap_name: full migrate (about 6 min)"
            fresh_migrate=1
        fi
    fi
    if [[ "${NBSYNC_NETBOX_MIGRATE:-0}" == 1 ]]; then need_migrate=1; fi
    if [[ "$need_migrate" == 1 ]]; then
        log "manage.py migrate (log: $LOGS/netbox-migrate.log)"
        t=$SECONDS
        (cd "$NB_ROOT" && "$VENV/bin/netbox" migrate --no-input) >>"$LOGS/netbox-migrate.log" 2>&1 \
            || { tail -n 40 "$LOGS/netbox-migrate.log" >&2; die "migrate failed"; }
        log "migrate done in $((SECONDS - t)) s"
    fi
    psql_admin <<<"COMMENT ON DATABASE \"$NB_DB\" IS '$stamp';"
    if [[ "$fresh_migrate" == 1 ]]; then
        # Keep a local snapshot so that the next fresh database restores in seconds.
        mkdir -p "$NB_ROOT/snapshot"
        PGPASSWORD="$(secret db_password)" pg_dump -h 127.0.0.1 -U netbox -d "$NB_DB" \
            --no-owner --no-privileges | gzip -9 >"$NB_ROOT/snapshot/$snap_name.tmp"
        mv "$NB_ROOT/snapshot/$snap_name.tmp" "$NB_ROOT/snapshot/$snap_name"
        log "saved local snapshot .lab/netbox/snapshot/$snap_name (commit one with make-snapshot.sh)"
    fi

    # Superuser and API tokens (created if missing, stable across restarts). A quick
    # SQL look first: Django takes long to start, so only run it when something is missing.
    have_tokens="$(psql_netbox "$NB_DB" -tA <<SQL
SELECT count(*) FROM users_token t JOIN users_user u ON u.id = t.user_id
 WHERE u.username = 'admin' AND u.is_superuser AND u.is_active AND t.enabled
   AND ((t.version = 1 AND t.plaintext = '$(secret token_v1)')
     OR (t.version = 2 AND t.key = '$(secret token_v2_key)' AND t.pepper_id = 1
         AND t.hmac_digest = '$(v2_digest)'));
SQL
)"
    if [[ "$have_tokens" != 2 ]]; then
        log "creating the superuser admin and its API tokens"
        (cd "$NB_ROOT" && "$VENV/bin/python" "$NB_HELPER" users "$SECRETS") >>"$LOGS/netbox-migrate.log" 2>&1 \
            || { tail -n 40 "$LOGS/netbox-migrate.log" >&2; die "creating the superuser/tokens failed"; }
    fi

    rm -f "$GUNICORN_PID"
    log "starting gunicorn on $NB_HOSTPORT (log: $LOGS/netbox.log)"
    spawn "$GUNICORN_PID" "$LOGS/netbox.log" \
        "$VENV/bin/gunicorn" --preload --no-control-socket --bind "$NB_HOSTPORT" \
        --workers 3 --threads 4 --timeout 120 --graceful-timeout 10 --pid "$GUNICORN_PID" \
        --error-logfile - --access-logfile - netbox.wsgi
fi
start_rqworker

if ! "$VENV/bin/python" "$NB_HELPER" wait "$NB_URL" "$SECRETS" "$TIMEOUT" "$GUNICORN_PID"; then
    echo "----- last 40 lines of $LOGS/netbox.log -----" >&2
    tail -n 40 "$LOGS/netbox.log" >&2 || true
    die "NetBox did not become ready at $NB_URL/api/status/"
fi
write_json
log "ready at $NB_URL in $((SECONDS - T0)) s (credentials: $LAB/netbox.json)"

#!/usr/bin/env bash
# Stop what tests/lab/netbox/up.sh started: gunicorn, the rq worker, and Redis /
# PostgreSQL only if up.sh started them (recorded in $NBSYNC_LAB_DIR/run).
#   --keep-services   leave Redis and PostgreSQL running (faster next up.sh)
set -euo pipefail

# shellcheck source=lib.sh
source "$(cd "$(dirname "$0")" && pwd)/lib.sh"

KEEP_SERVICES=0
[[ "${1:-}" == --keep-services ]] && KEEP_SERVICES=1

# Stop the process (and its process group: gunicorn workers) named in a pid file.
stop_pidfile() {
    local f="$1" name pid _
    name="$(basename "$f" .pid)"
    if ! pid="$(live_pid "$f")"; then
        rm -f "$f"
        return 0
    fi
    log "stopping $name (pid $pid)"
    # TERM to the leader only: gunicorn's master stops its workers itself (at most
    # --graceful-timeout 10 s), rq's worker its scheduler.
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 150); do
        live_pid "$f" >/dev/null || break
        sleep 0.2
    done
    if live_pid "$f" >/dev/null; then
        log "$name did not stop in 30 s: SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
    fi
    # up.sh started it with setsid (its own process group): leftovers of that group go too.
    if [[ "$(ps -o pgid= -p "$pid" 2>/dev/null | tr -d ' ')" == "$pid" ]] || pgrep -g "$pid" >/dev/null 2>&1; then
        kill -KILL -- "-$pid" 2>/dev/null || true
    fi
    rm -f "$f"
}

[[ -d "$RUN" ]] || exit 0
# gunicorn (up to its 10 s graceful timeout) and the rq worker in parallel.
stop_pidfile "$RUN/netbox.pid" &
stop_pidfile "$RUN/netbox-rqworker.pid" &
wait
for f in "$RUN"/netbox*.pid; do
    [[ -e "$f" ]] || continue
    [[ "$f" == "$RUN/netbox-redis.pid" ]] && continue
    stop_pidfile "$f"
done

if [[ "$KEEP_SERVICES" == 0 ]]; then
    [[ -e "$RUN/netbox-redis.pid" ]] && stop_pidfile "$RUN/netbox-redis.pid"
    if [[ -e "$RUN/netbox-postgres.started" ]]; then
        if pg_running; then
            log "stopping PostgreSQL $PG_VERSION/$PG_CLUSTER"
            pg_ctlcluster "$PG_VERSION" "$PG_CLUSTER" stop -m fast || true
        fi
        rm -f "$RUN/netbox-postgres.started"
    fi
fi
exit 0

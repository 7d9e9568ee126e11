#!/usr/bin/env bash
# Stop the lab's bind9: only the pid recorded by up.sh, and only if that pid
# is still a named running with our configuration.  Zones, journals, the TSIG
# key and dns.json stay (rm -rf "$NBSYNC_LAB_DIR/dns" for fresh zones).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../../.." && pwd)"
LAB_DIR="${NBSYNC_LAB_DIR:-$ROOT/.lab}"
[ -d "$LAB_DIR" ] || { echo "dns: not running (no $LAB_DIR)"; exit 0; }
LAB_DIR="$(cd "$LAB_DIR" && pwd)"
CONF="$LAB_DIR/dns/named.conf"
PID_FILE="$LAB_DIR/run/dns.pid"

mkdir -p "$LAB_DIR/run"
exec 9>"$LAB_DIR/run/dns.lock"
flock -w 60 9 || { echo "dns: could not lock $LAB_DIR/run/dns.lock" >&2; exit 1; }

PID="$(cat "$PID_FILE" 2>/dev/null || true)"
if [ -z "$PID" ]; then
    echo "dns: not running (no pid file)"
    exit 0
fi
if ! kill -0 "$PID" 2>/dev/null \
        || ! tr '\0' ' ' <"/proc/$PID/cmdline" 2>/dev/null | grep -q -- "-c $CONF "; then
    echo "dns: not running (stale pid $PID; removed the pid file)"
    rm -f "$PID_FILE"
    exit 0
fi
kill -TERM "$PID"
for _ in $(seq 100); do
    kill -0 "$PID" 2>/dev/null || break
    sleep 0.1
done
if kill -0 "$PID" 2>/dev/null; then
    echo "dns: pid $PID ignored SIGTERM for 10 s; sending SIGKILL"
    kill -KILL "$PID" 2>/dev/null || true
fi
rm -f "$PID_FILE"
echo "dns: stopped (pid $PID)"

#!/usr/bin/env bash
# Stop the lab's bind9: only the pid recorded by up.sh, and only if that pid
# is still a named running with our configuration.  Removes .lab/dns.json (so
# tests skip instead of timing out); zones, journals and the TSIG key stay, so
# the next up.sh serves the same data with the same secret
# (rm -rf "$NBSYNC_LAB_DIR/dns" for fresh zones and a new key).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../../.." && pwd)"
LAB_DIR="${NBSYNC_LAB_DIR:-$ROOT/.lab}"
[ -d "$LAB_DIR" ] || { echo "dns: not running (no $LAB_DIR)"; exit 0; }
LAB_DIR="$(cd "$LAB_DIR" && pwd)"
CONF="$LAB_DIR/dns/named.conf"
PID_FILE="$LAB_DIR/run/dns.pid"
JSON="$LAB_DIR/dns.json"

mkdir -p "$LAB_DIR/run"
exec 9>"$LAB_DIR/run/dns.lock"
flock -w 60 9 || { echo "dns: could not lock $LAB_DIR/run/dns.lock" >&2; exit 1; }

PID="$(cat "$PID_FILE" 2>/dev/null || true)"
if [ -z "$PID" ]; then
    echo "dns: not running (no pid file)"
    rm -f "$JSON"
    exit 0
fi
CMD="$(tr '\0' ' ' <"/proc/$PID/cmdline" 2>/dev/null || true)"
if ! kill -0 "$PID" 2>/dev/null || [[ "$CMD" != *" -c $CONF "* ]]; then
    echo "dns: not running (stale pid $PID; removed the pid file)"
    rm -f "$PID_FILE" "$JSON"
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
rm -f "$PID_FILE" "$JSON"
echo "dns: stopped (pid $PID)"

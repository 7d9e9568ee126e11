#!/usr/bin/env bash
# Stop the lab's fake Proxmox VE if this lab started it (the pid in .lab/run/pve.pid). Idempotent.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../../.." && pwd)"
LAB_DIR="${NBSYNC_LAB_DIR:-$ROOT/.lab}"
PIDFILE="$LAB_DIR/run/pve.pid"

if [ ! -f "$PIDFILE" ]; then
  echo "pve: not running (no $PIDFILE)"
  exit 0
fi
PID="$(cat "$PIDFILE" 2>/dev/null || true)"
if [ -z "$PID" ] || ! kill -0 "$PID" 2>/dev/null; then
  echo "pve: not running (stale pid file)"
  rm -f "$PIDFILE"
  exit 0
fi
# Only stop it if it is our launcher.
if ! tr '\0' ' ' < "/proc/$PID/cmdline" 2>/dev/null | grep -q 'tests/lab/pve/launcher.py'; then
  echo "pve: pid $PID is not the lab launcher; leaving it alone and removing the pid file" >&2
  rm -f "$PIDFILE"
  exit 0
fi
kill "$PID"
for _ in $(seq 1 50); do
  kill -0 "$PID" 2>/dev/null || break
  sleep 0.1
done
if kill -0 "$PID" 2>/dev/null; then
  echo "pve: pid $PID did not stop on SIGTERM; sending SIGKILL" >&2
  kill -9 "$PID" 2>/dev/null || true
fi
rm -f "$PIDFILE"
echo "pve: stopped (pid $PID)"

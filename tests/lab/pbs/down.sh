#!/usr/bin/env bash
# Stop the fake PBS started by up.sh (only the pid it recorded).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)"
LAB="${NBSYNC_LAB_DIR:-$ROOT/.lab}"
PIDFILE="$LAB/run/pbs.pid"
if [[ ! -f "$PIDFILE" ]]; then
  echo "pbs: not running (no pid file)"
  exit 0
fi
PID="$(cat "$PIDFILE")"
if tr '\0' ' ' < "/proc/$PID/cmdline" 2>/dev/null | grep -q 'pbs/launcher.py'; then
  kill "$PID"
  for _ in $(seq 50); do kill -0 "$PID" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$PID" 2>/dev/null; then kill -9 "$PID" 2>/dev/null || true; fi
  echo "pbs: stopped (pid $PID)"
else
  echo "pbs: pid $PID is not our launcher (not running); nothing stopped"
fi
rm -f "$PIDFILE"

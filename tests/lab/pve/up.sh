#!/usr/bin/env bash
# Start the lab's fake Proxmox VE (LabPve) on https://127.0.0.2:8006, detached. Idempotent.
#   env: NBSYNC_LAB_DIR (default <root>/.lab), NBSYNC_PYTHON (default <root>/.venv/bin/python),
#        PVE_HOST, PVE_PORT, PVE_TIME_SCALE, PVE_START_TIMEOUT (seconds, default 30)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../../.." && pwd)"
LAB_DIR="${NBSYNC_LAB_DIR:-$ROOT/.lab}"
PY="${NBSYNC_PYTHON:-$ROOT/.venv/bin/python}"
HOST="${PVE_HOST:-127.0.0.2}"
PORT="${PVE_PORT:-8006}"
TIME_SCALE="${PVE_TIME_SCALE:-0.05}"
DEADLINE="${PVE_START_TIMEOUT:-30}"
STATE="$LAB_DIR/pve.json"
PIDFILE="$LAB_DIR/run/pve.pid"
LOG="$LAB_DIR/logs/pve.log"
export NBSYNC_LAB_DIR="$LAB_DIR"

mkdir -p "$LAB_DIR/run" "$LAB_DIR/logs"

# Exit 0 if the server answers GET /version with the token in the state file (and, given a pid, that pid wrote it).
probe() {
  "$PY" - "$STATE" "${1:-}" <<'PYEOF'
import json, sys
import requests
state_file, pid = sys.argv[1], sys.argv[2]
try:
    with open(state_file) as fh:
        s = json.load(fh)
except (OSError, ValueError):
    sys.exit(1)
if pid and str(s.get('pid')) != pid:
    sys.exit(1)
t = s['token']
try:
    auth = 'PVEAPIToken={0}!{1}={2}'.format(t['user'], t['token_id'], t['secret'])
    r = requests.get(s['url'] + '/api2/json/version', verify=s['ca_file'], timeout=2,
                     headers={'Authorization': auth})
    sys.exit(0 if r.status_code == 200 and r.json()['data'].get('version') else 1)
except Exception:
    sys.exit(1)
PYEOF
}

alive() { [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null; }

if [ -f "$PIDFILE" ]; then
  OLD="$(cat "$PIDFILE" 2>/dev/null || true)"
  if alive "$OLD"; then
    if probe "$OLD"; then
      echo "pve: already running (pid $OLD) at https://$HOST:$PORT"
      exit 0
    fi
    echo "pve: pid $OLD is alive but does not answer; stopping it" >&2
    kill "$OLD" 2>/dev/null || true
    for _ in $(seq 1 50); do alive "$OLD" || break; sleep 0.1; done
    alive "$OLD" && kill -9 "$OLD" 2>/dev/null || true
  fi
  rm -f "$PIDFILE"
fi

if [ ! -x "$PY" ]; then
  echo "pve: no python at $PY (set NBSYNC_PYTHON)" >&2
  exit 1
fi

echo "pve: starting at https://$HOST:$PORT (log $LOG)"
setsid nohup "$PY" "$HERE/launcher.py" --host "$HOST" --port "$PORT" --state-file "$STATE" \
  --time-scale "$TIME_SCALE" >>"$LOG" 2>&1 < /dev/null &
PID=$!
echo "$PID" > "$PIDFILE"

END=$(( $(date +%s) + DEADLINE ))
while :; do
  if ! alive "$PID"; then
    echo "pve: the server exited during start; last lines of $LOG:" >&2
    tail -n 40 "$LOG" >&2 || true
    rm -f "$PIDFILE"
    exit 1
  fi
  if probe "$PID"; then
    echo "pve: ready (pid $PID), described in $STATE"
    exit 0
  fi
  if [ "$(date +%s)" -ge "$END" ]; then
    echo "pve: not ready after ${DEADLINE}s; last lines of $LOG:" >&2
    tail -n 40 "$LOG" >&2 || true
    exit 1
  fi
  sleep 0.2
done

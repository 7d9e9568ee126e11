#!/usr/bin/env bash
# Start the fake PBS (idempotent): https://${PBS_HOST:-127.0.0.4}:${PBS_PORT:-8007}, state in $LAB/pbs.json.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)"
LAB="${NBSYNC_LAB_DIR:-$ROOT/.lab}"
PY="${NBSYNC_PYTHON:-$ROOT/.venv/bin/python}"
HOST="${PBS_HOST:-127.0.0.4}"
PORT="${PBS_PORT:-8007}"
SCALE="${PBS_TIME_SCALE:-1}"
PIDFILE="$LAB/run/pbs.pid"
LOG="$LAB/logs/pbs.log"
STATE="$LAB/pbs.json"
mkdir -p "$LAB/run" "$LAB/logs"

ours() {  # the pid file names a live process that is our launcher (pids get reused)
  [[ -f "$PIDFILE" ]] && tr '\0' ' ' < "/proc/$(cat "$PIDFILE")/cmdline" 2>/dev/null | grep -q 'pbs/launcher.py'
}

answers() {  # /version answers 200 to the token in the state file, over TLS verified by its CA
  [[ -f "$STATE" ]] && "$PY" - "$STATE" <<'PY'
import json, ssl, sys, urllib.request
try:
    with open(sys.argv[1]) as handle:
        lab = json.load(handle)
    tok = lab['token']
    req = urllib.request.Request(lab['url'] + '/api2/json/version', headers={
        'Authorization': 'PBSAPIToken=%s!%s:%s' % (tok['user'], tok['token_id'], tok['secret'])})
    ctx = ssl.create_default_context(cafile=lab['ca_file'])
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), urllib.request.HTTPSHandler(context=ctx))
    with opener.open(req, timeout=5) as resp:
        sys.exit(0 if resp.status == 200 else 1)
except Exception as exc:  # why, for the failure message (never the token: it is not in exc)
    print('probe: %s: %s' % (type(exc).__name__, exc), file=sys.stderr)
    sys.exit(1)
PY
}

if ours && answers; then
  echo "pbs: already running (pid $(cat "$PIDFILE")) on https://$HOST:$PORT"
  exit 0
fi
if ours; then
  echo "pbs: pid $(cat "$PIDFILE") alive but not answering; stopping it"
  kill "$(cat "$PIDFILE")" 2>/dev/null || true
  sleep 1
fi
setsid nohup "$PY" "$ROOT/tests/lab/pbs/launcher.py" --host "$HOST" --port "$PORT" \
  --state-file "$STATE" --time-scale "$SCALE" >>"$LOG" 2>&1 < /dev/null &
echo $! > "$PIDFILE"

deadline=$((SECONDS + ${PBS_START_TIMEOUT:-30}))
PROBE_LOG="$LAB/logs/pbs.probe.log"
until answers 2>"$PROBE_LOG"; do
  if ! kill -0 "$(cat "$PIDFILE")" 2>/dev/null || (( SECONDS >= deadline )); then
    echo "pbs: failed to start; last probe: $(tail -n 1 "$PROBE_LOG" 2>/dev/null); last log lines:" >&2
    tail -n 30 "$LOG" >&2 || true
    exit 1
  fi
  sleep 0.2
done
echo "pbs: running (pid $(cat "$PIDFILE")) on https://$HOST:$PORT, state $STATE"

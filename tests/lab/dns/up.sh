#!/usr/bin/env bash
# Start the lab's bind9 (authoritative only) on 127.0.0.5 port 5353, udp+tcp.
#
# Idempotent: when the named we started is alive and answers a SOA query this
# returns at once.  All state lives under $NBSYNC_LAB_DIR (default <repo>/.lab):
#   dns/         named.conf, tsig.key (secret, 0600), zone files + journals
#   run/dns.pid  pid of named          logs/dns.log  named's log (-g: stderr)
#   dns.json     the dns part of lab.json (contains the TSIG secret, 0600)
# Env: NBSYNC_LAB_DNS_SERVER (127.0.0.5), NBSYNC_LAB_DNS_PORT (5353),
#      NBSYNC_LAB_DNS_TIMEOUT (readiness deadline, seconds, 30).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../../.." && pwd)"
LAB_DIR="${NBSYNC_LAB_DIR:-$ROOT/.lab}"
ADDR="${NBSYNC_LAB_DNS_SERVER:-127.0.0.5}"
PORT="${NBSYNC_LAB_DNS_PORT:-5353}"
DEADLINE_S="${NBSYNC_LAB_DNS_TIMEOUT:-30}"
ZONE="lab.example."
REVERSE_ZONE="10.in-addr.arpa."
KEY_NAME="nbsync-key."
KEY_ALG="hmac-sha256"

mkdir -p "$LAB_DIR/run" "$LAB_DIR/logs" "$LAB_DIR/dns"
LAB_DIR="$(cd "$LAB_DIR" && pwd)"
DNS_DIR="$LAB_DIR/dns"
CONF="$DNS_DIR/named.conf"
KEY_FILE="$DNS_DIR/tsig.key"
PID_FILE="$LAB_DIR/run/dns.pid"
LOG="$LAB_DIR/logs/dns.log"
JSON="$LAB_DIR/dns.json"
chmod 700 "$DNS_DIR"
PATH="$PATH:/usr/sbin:/sbin"   # named, tsig-keygen, ip live in sbin
PY="$( [ -x /usr/bin/python3 ] && echo /usr/bin/python3 || command -v python3 || true)"  # system python: no pyenv shim delay
[ -n "$PY" ] || { echo "dns: python3 is required" >&2; exit 1; }

say() { echo "dns: $*"; }
MARKED=0      # set once this run wrote its "===" marker line to the log
mark() { echo "=== $(date -Is) dns/up.sh: $*" >>"$LOG"; MARKED=1; }
fail() {
    echo "dns: FAILED: $*" >&2
    # lab.py (NBSYNC_LAB_ORCHESTRATED=1) prints the log tail itself.
    if [ "$MARKED" = 1 ] && [ -z "${NBSYNC_LAB_ORCHESTRATED:-}" ]; then
        echo "dns: last lines of $LOG (this run):" >&2
        awk '/^=== /{n=0; delete l} {l[++n]=$0} END{s=n>25?n-24:1; for(i=s;i<=n;i++) print "    " l[i]}' "$LOG" >&2
    fi
    exit 1
}

# One up/down at a time (lab.py may run several services in parallel).
exec 9>"$LAB_DIR/run/dns.lock"
flock -w 900 9 || fail "could not lock $LAB_DIR/run/dns.lock"

# The pid in dns.pid is ours only if that process is a named using OUR config.
# (No "| grep -q" anywhere: with pipefail, grep's early exit can SIGPIPE the
# writer and turn a match into a failure.)
ours() {
    local pid="$1" cmd
    [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
    cmd="$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)" || return 1
    [[ "$cmd" == *" -c $CONF "* ]]
}
probe() { "$PY" -I "$HERE/probe.py" "$ADDR" "$PORT" "$ZONE" "${1:-1}" 2>/dev/null; }

write_json() {
    "$PY" - "$JSON" "$KEY_FILE" "$ADDR" "$PORT" "$ZONE" "$REVERSE_ZONE" "$KEY_NAME" "$KEY_ALG" <<'PYEOF'
import json, os, re, sys
path, key_file, addr, port, zone, rzone, name, alg = sys.argv[1:]
secret = re.search(r'secret\s+"([^"]+)"', open(key_file).read()).group(1)
data = {'server': addr, 'port': int(port), 'zone': zone, 'reverse_zone': rzone,
        'tsig_name': name, 'tsig_algorithm': alg, 'tsig_secret': secret}
tmp = path + '.tmp'
with os.fdopen(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), 'w') as out:
    json.dump(data, out, indent=2)
    out.write('\n')
os.chmod(tmp, 0o600)
os.replace(tmp, path)
PYEOF
}

# --- fast path: already running --------------------------------------------
OLD_PID="$(cat "$PID_FILE" 2>/dev/null || true)"
if ours "$OLD_PID"; then
    if probe || { sleep 1; probe 2; }; then
        [ -s "$JSON" ] || write_json
        say "already running on $ADDR:$PORT (pid $OLD_PID)"
        exit 0
    fi
    say "pid $OLD_PID is our named but does not answer; restarting it"
    kill "$OLD_PID" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$OLD_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$OLD_PID" 2>/dev/null || true
fi
rm -f "$PID_FILE"

# --- named installed? -------------------------------------------------------
find_named() { command -v named 2>/dev/null || { [ -x /usr/sbin/named ] && echo /usr/sbin/named; } || true; }
NAMED="$(find_named)"
if [ -z "$NAMED" ] || ! command -v ip >/dev/null 2>&1; then
    [ "$(id -u)" = 0 ] || fail "named or ip is missing; as root run: apt-get install bind9 bind9-utils iproute2"
    say "installing bind9 bind9-utils iproute2 (apt-get)"
    mark "apt-get install bind9 bind9-utils iproute2"
    export DEBIAN_FRONTEND=noninteractive
    APT=(apt-get -y -q -o DPkg::Lock::Timeout=600)
    if ! apt-cache show bind9 >/dev/null 2>&1; then
        "${APT[@]}" update >>"$LOG" 2>&1 || fail "apt-get update failed (see $LOG)"
    fi
    if ! "${APT[@]}" install --no-install-recommends bind9 bind9-utils iproute2 >>"$LOG" 2>&1; then
        "${APT[@]}" update >>"$LOG" 2>&1 || true
        "${APT[@]}" install --no-install-recommends bind9 bind9-utils iproute2 >>"$LOG" 2>&1 \
            || fail "apt-get install bind9 bind9-utils iproute2 failed (see $LOG)"
    fi
    NAMED="$(find_named)"
    [ -n "$NAMED" ] || fail "bind9 installed but no named binary found"
fi

# --- TSIG key (generated once, never printed) -------------------------------
if [ ! -s "$KEY_FILE" ]; then
    ( umask 077
      if command -v tsig-keygen >/dev/null 2>&1; then
          tsig-keygen -a "$KEY_ALG" "$KEY_NAME" >"$KEY_FILE.tmp"
      else
          "$PY" -c 'import base64,os,sys; print("key \"%s\" {\n\talgorithm %s;\n\tsecret \"%s\";\n};" % (sys.argv[1], sys.argv[2], base64.b64encode(os.urandom(32)).decode()))' \
              "$KEY_NAME" "$KEY_ALG" >"$KEY_FILE.tmp"
      fi
      mv "$KEY_FILE.tmp" "$KEY_FILE" )
fi
chmod 600 "$KEY_FILE"

# --- configuration and seed zones -------------------------------------------
render() {  # render TEMPLATE OUTPUT: replace @NAME@ placeholders
    "$PY" - "$1" "$2" "DNS_DIR=$DNS_DIR" "ADDR=$ADDR" "PORT=$PORT" "ZONE=$ZONE" \
        "REVERSE_ZONE=$REVERSE_ZONE" "KEY_NAME=$KEY_NAME" <<'PYEOF'
import os, sys
src, dst, pairs = sys.argv[1], sys.argv[2], sys.argv[3:]
text = open(src).read()
for pair in pairs:
    name, value = pair.split('=', 1)
    text = text.replace('@%s@' % name, value)
with open(dst + '.tmp', 'w') as out:
    out.write(text)
os.replace(dst + '.tmp', dst)
PYEOF
}
render "$HERE/named.conf.in" "$CONF"
for db in forward reverse; do
    if [ ! -s "$DNS_DIR/db.$db" ]; then
        rm -f "$DNS_DIR/db.$db.jnl"          # a journal without its zone file is stale
        render "$HERE/db.$db.in" "$DNS_DIR/db.$db"
    fi
done
CHECK="$(named-checkconf -z "$CONF" 2>&1)" || { mark "named-checkconf -z $CONF"; echo "$CHECK" >>"$LOG"; fail "named-checkconf rejected $CONF"; }

# --- loopback address ---------------------------------------------------------
# named listens only on addresses it finds on an interface (it scans them; it
# does not bind arbitrary 127/8 addresses the way aiohttp or gunicorn do), so
# 127.0.0.5 must exist on lo (needs root/CAP_NET_ADMIN).  Not persistent
# across reboots; down.sh leaves it (harmless: 127/8 is loopback anyway);
# run/dns.lo-addr records that we added it.
ADDRS=" $(ip -o -4 addr show 2>/dev/null | awk '{print $4}' | tr '\n' ' ')"
if [[ "$ADDRS" != *" $ADDR/"* ]]; then
    [ "$(id -u)" = 0 ] || fail "$ADDR is not configured on any interface; as root run: ip addr add $ADDR/32 dev lo"
    ip addr add "$ADDR/32" dev lo || fail "could not add $ADDR/32 to lo"
    echo "$ADDR/32" >"$LAB_DIR/run/dns.lo-addr"
    say "added $ADDR/32 to lo"
fi

# --- AppArmor: Debian's profile for /usr/sbin/named only allows /etc/bind,
# /var/cache/bind, /var/lib/bind...; our files live in .lab, so run unconfined.
PREFIX=()
if [ "$(cat /sys/module/apparmor/parameters/enabled 2>/dev/null)" = Y ] \
        && grep -qs '^named ' /sys/kernel/security/apparmor/profiles; then
    if command -v aa-exec >/dev/null 2>&1; then
        PREFIX=(aa-exec -p unconfined --)
    else   # the profile attaches by path: a copy of the binary is not confined
        cp -f "$NAMED" "$DNS_DIR/named"
        NAMED="$DNS_DIR/named"
    fi
fi

# --- start ------------------------------------------------------------------
# Something else (another lab dir's named, a system resolver) must not own the
# port: named would start without listening and the probe would hit the other.
if probe; then
    fail "another DNS server already answers on $ADDR:$PORT (not the one of $LAB_DIR); stop it first"
fi
START=$(date +%s.%N)
mark "starting $NAMED on $ADDR:$PORT"
# -g: foreground, log to stderr; no -u: runs as the invoking user (owns .lab).
# Our shell has no job control, so the child is not a group leader: setsid and
# nohup exec in place and $! is named's own pid.
setsid nohup "${PREFIX[@]}" "$NAMED" -g -n 2 -c "$CONF" </dev/null >>"$LOG" 2>&1 9>&- &
PID=$!
echo "$PID" >"$PID_FILE"

END=$(( $(date +%s) + DEADLINE_S ))
until probe; do
    kill -0 "$PID" 2>/dev/null || { rm -f "$PID_FILE"; fail "named exited during start-up"; }
    if [ "$(date +%s)" -ge "$END" ]; then
        kill "$PID" 2>/dev/null || true
        rm -f "$PID_FILE"
        fail "named did not answer a SOA query for $ZONE on $ADDR:$PORT within ${DEADLINE_S}s"
    fi
    sleep 0.2
done
ours "$PID" || fail "pid $PID is not the named we started (pid file mismatch)"
write_json
say "up on $ADDR:$PORT (pid $PID) in $(awk "BEGIN{printf \"%.1f\", $(date +%s.%N) - $START}")s"

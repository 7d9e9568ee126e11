"""Start, stop and inspect the test lab (see tests/lab/README.md).

    python tests/lab/lab.py up     [service ...]   # start (idempotent), in parallel
    python tests/lab/lab.py status [service ...]   # one line per service; rc 1 if any is down
    python tests/lab/lab.py down   [service ...]   # stop what the lab started

Services: netbox, pve, pbs, dns (default: all).  Each has ``tests/lab/<service>/
up.sh`` and ``down.sh``; ``up.sh`` is idempotent, writes ``.lab/<service>.json``,
its pids to ``.lab/run/<service>*.pid`` and its logs to ``.lab/logs/``.
A script's own output is streamed, prefixed, and kept in
``.lab/logs/<service>.<action>.out``.
``up`` then merges every ``.lab/<service>.json`` into ``.lab/lab.json`` (0600).

Standard library only; runs with any python3 (3.7+).  Never prints secrets.
Env: NBSYNC_LAB_DIR (default <repo>/.lab), NBSYNC_LAB_UP_TIMEOUT (seconds per
service for ``up``, default 1800).
"""

import argparse
import glob
import json
import os
import re
import signal
import socket
import ssl
import struct
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
LAB_DIR = os.path.abspath(os.environ.get('NBSYNC_LAB_DIR', os.path.join(ROOT, '.lab')))
RUN_DIR = os.path.join(LAB_DIR, 'run')
LOG_DIR = os.path.join(LAB_DIR, 'logs')
LAB_JSON = os.path.join(LAB_DIR, 'lab.json')

SERVICES = ('netbox', 'pve', 'pbs', 'dns')
WIDTH = max(len(s) for s in SERVICES)
HEARTBEAT_S = 30
PROBE_TIMEOUT_S = 3.0
SECRET_KEY_RE = re.compile(r'secret|password|token|key', re.I)

_print_lock = threading.Lock()


def say(service, text, stream=None):
    with _print_lock:
        out = stream or sys.stdout
        out.write('[%-*s] %s\n' % (WIDTH, service, text))
        out.flush()


def script_path(service, action):
    return os.path.join(HERE, service, '%s.sh' % action)


def service_json_path(service):
    return os.path.join(LAB_DIR, '%s.json' % service)


def load_service_json(service):
    """The service's .lab/<service>.json as a dict, or None when absent/invalid."""
    try:
        with open(service_json_path(service)) as handle:
            data = json.load(handle)
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def fmt_duration(seconds):
    if seconds < 10:
        return '%.1fs' % seconds
    seconds = int(round(seconds))
    return '%dm%02ds' % divmod(seconds, 60) if seconds >= 60 else '%ds' % seconds


# --- secrets: collected from the service files so they can be masked in output --

def _secret_values(node, key='', found=None):
    """String leaves whose own key names a secret (password, token, secret, ...)."""
    found = set() if found is None else found
    if isinstance(node, dict):
        for child_key, value in node.items():
            _secret_values(value, str(child_key), found)
    elif isinstance(node, list):
        for value in node:
            _secret_values(value, key, found)
    elif isinstance(node, str) and len(node) >= 6 and SECRET_KEY_RE.search(key) \
            and not node.startswith('/'):
        found.add(node)
    return found


def known_secrets():
    secrets = set()
    for path in glob.glob(os.path.join(LAB_DIR, '*.json')):
        try:
            with open(path) as handle:
                secrets |= _secret_values(json.load(handle))
        except (OSError, ValueError):
            pass
    return sorted(secrets, key=len, reverse=True)


def mask(text, secrets):
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, '***')
    return text


# --- logs ------------------------------------------------------------------------

def log_files(service):
    """The service's logs, most recently written first."""
    paths = set(glob.glob(os.path.join(LOG_DIR, '%s.log' % service)))
    paths |= set(glob.glob(os.path.join(LOG_DIR, '%s[-_.]*.log' % service)))
    return sorted((p for p in paths if os.path.isfile(p)), key=os.path.getmtime, reverse=True)


def tail(path, lines=25):
    try:
        with open(path, 'rb') as handle:
            handle.seek(0, os.SEEK_END)
            size = handle.tell()
            handle.seek(max(0, size - 64 * 1024))
            data = handle.read().decode('utf-8', 'replace')
    except OSError as exc:
        return ['(cannot read %s: %s)' % (path, exc)]
    return data.splitlines()[-lines:]


def print_log_tails(service, secrets, since=None, count=2, lines=25):
    """Tails of the service's newest logs; a log with '=== ' marker lines (one per
    start) is shown from its last marker only."""
    paths = log_files(service)
    if not paths:
        say(service, 'no log in %s/%s*.log' % (LOG_DIR, service), sys.stderr)
    for path in paths[:count]:
        stale = since is not None and os.path.getmtime(path) < since - 1  # coarse fs clock
        say(service, 'last lines of %s%s:' % (path, ' (not written by this run)' if stale else ''),
            sys.stderr)
        text = tail(path, lines)
        marks = [i for i, line in enumerate(text) if line.startswith('=== ')]
        for line in text[marks[-1]:] if marks else text:
            say(service, '    ' + mask(line, secrets), sys.stderr)


# --- up / down -------------------------------------------------------------------

class Run(object):
    """One service script running in its own session, output streamed with a prefix."""

    def __init__(self, service, action, secrets):
        self.service = service
        self.action = action
        self.secrets = secrets
        self.path = script_path(service, action)
        self.proc = None
        self.reader = None
        self.started = time.time()
        self.ended = None
        self.rc = None
        self.error = None

    def start(self):
        if not os.path.isfile(self.path):
            self.error = '%s does not exist (service %r has no %s script yet)' % (
                os.path.relpath(self.path, ROOT), self.service, self.action)
            self.rc = 127
            say(self.service, 'ERROR: ' + self.error, sys.stderr)
            return
        env = dict(os.environ, NBSYNC_LAB_DIR=LAB_DIR, NBSYNC_LAB_ORCHESTRATED='1')
        # The script writes to a file, not a pipe: a daemon it forgets to
        # redirect would otherwise die of SIGPIPE once lab.py exits.
        os.makedirs(LOG_DIR, exist_ok=True)
        self.out_path = os.path.join(LOG_DIR, '%s.%s.out' % (self.service, self.action))
        with open(self.out_path, 'wb') as out:
            self.proc = subprocess.Popen(
                ['bash', self.path], cwd=ROOT, env=env, stdin=subprocess.DEVNULL,
                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        self.reader = threading.Thread(target=self._stream, daemon=True)
        self.reader.start()

    def _emit(self, raw):
        line = raw.decode('utf-8', 'replace').rstrip()
        if line:
            say(self.service, mask(line, self.secrets))

    def _stream(self):
        """Follow the output file until the script has exited (then read it once more)."""
        pending = b''
        with open(self.out_path, 'rb') as handle:
            while True:
                finished = self.proc.poll() is not None
                chunk = handle.read()
                if chunk:
                    lines = (pending + chunk).split(b'\n')
                    pending = lines.pop()
                    for raw in lines:
                        self._emit(raw)
                if finished:
                    break
                if not chunk:
                    time.sleep(0.1)
        if pending:
            self._emit(pending)

    def poll(self):
        if self.rc is None and self.proc is not None:
            rc = self.proc.poll()
            if rc is not None:
                self.ended = time.time()
                self.reader.join(5)
                self.rc = rc
        return self.rc

    def kill(self):
        """Stop the script itself (its process group), not the daemons it detached."""
        if self.proc is not None and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
            except OSError:
                pass
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                except OSError:
                    pass
                self.proc.wait()

    @property
    def elapsed(self):
        return (self.ended or time.time()) - self.started


def run_scripts(services, action, timeout):
    """Run the action script of every service in parallel; return {service: Run}."""
    secrets = known_secrets()
    runs = {}
    for service in services:
        run = Run(service, action, secrets)
        say(service, '%s ...' % action)
        run.start()
        runs[service] = run
    next_beat = time.time() + HEARTBEAT_S
    try:
        announced = set()
        while True:
            states = [run.poll() for run in runs.values()]  # poll every run (no short-circuit)
            for run in runs.values():  # say at once when a script ends
                if run.rc is not None and run.service not in announced:
                    announced.add(run.service)
                    if run.proc is None:
                        continue  # missing script: already reported
                    if run.rc == 0 and run.error is None:
                        say(run.service, '%s.sh done (%s)' % (action, fmt_duration(run.elapsed)))
                    else:
                        say(run.service, '%s.sh FAILED: %s (%s)' % (
                            action, run.error or 'exit status %s' % run.rc,
                            fmt_duration(run.elapsed)), sys.stderr)
            if None not in states:
                break
            time.sleep(0.1)
            now = time.time()
            for run in runs.values():
                if run.rc is None and run.elapsed > timeout:
                    run.error = 'timed out after %s' % fmt_duration(timeout)
                    run.kill()
                    run.poll()
            if now >= next_beat:
                next_beat = now + HEARTBEAT_S
                for run in runs.values():
                    if run.rc is None:
                        say(run.service, 'still running (%s)' % fmt_duration(run.elapsed))
    except KeyboardInterrupt:
        for run in runs.values():
            run.kill()
        raise
    return runs


def merge_lab_json(exclude=()):
    """Write .lab/lab.json from every .lab/<service>.json (0600, atomic)."""
    merged = {}
    for service in SERVICES:
        if service in exclude:
            continue
        data = load_service_json(service)
        if data is not None:
            merged[service] = data
    tmp = '%s.%d.tmp' % (LAB_JSON, os.getpid())
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, 'w') as out:
        json.dump(merged, out, indent=2, sort_keys=True)
        out.write('\n')
    os.chmod(tmp, 0o600)
    os.replace(tmp, LAB_JSON)
    return sorted(merged)


def cmd_up(services, timeout):
    for path in (LAB_DIR, RUN_DIR, LOG_DIR):
        os.makedirs(path, exist_ok=True)
    started = time.time()
    runs = run_scripts(services, 'up', timeout)
    failed = []
    for service in services:
        run = runs[service]
        if run.rc == 0 and run.error is None and load_service_json(service) is None:
            run.error = 'up.sh succeeded but %s is missing or not valid JSON' % (
                service_json_path(service))
        if run.rc != 0 or run.error is not None:
            failed.append(service)
    secrets = known_secrets()
    for service in failed:
        run = runs[service]
        say(service, 'FAILED: %s' % (run.error or 'up.sh exited with status %s' % run.rc),
            sys.stderr)
        if run.proc is not None and run.rc != 0:
            print_log_tails(service, secrets, since=run.started)
    # lab.json always describes what is up: failed services are left out of it.
    merged = merge_lab_json(exclude=failed)
    print('lab: wrote %s (%s) in %s' % (os.path.relpath(LAB_JSON, ROOT),
                                        ', '.join(merged) or 'empty',
                                        fmt_duration(time.time() - started)))
    if failed:
        print('lab: FAILED: %s (the others stay up)' % ', '.join(failed), file=sys.stderr)
        return 1
    return 0


def cmd_down(services):
    # Stopping is quick; do it one at a time, in reverse start order.
    failed = []
    for service in reversed(services):
        runs = run_scripts([service], 'down', 300)
        run = runs[service]
        if run.rc != 0 or run.error is not None:
            failed.append(service)
    stopped = [s for s in services if s not in failed]
    if os.path.exists(LAB_JSON):  # lab.json describes what is up: drop what was stopped
        merge_lab_json(exclude=stopped)
    if failed:
        print('lab: FAILED to stop: %s' % ', '.join(failed), file=sys.stderr)
        return 1
    return 0


# --- status ----------------------------------------------------------------------

def pid_files(service):
    paths = set(glob.glob(os.path.join(RUN_DIR, '%s.pid' % service)))
    paths |= set(glob.glob(os.path.join(RUN_DIR, '%s-*.pid' % service)))
    paths |= set(glob.glob(os.path.join(RUN_DIR, '%s_*.pid' % service)))
    return sorted(paths)


def pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie is not alive
        with open('/proc/%d/stat' % pid) as handle:
            return handle.read().rsplit(')', 1)[1].split()[0] != 'Z'
    except (OSError, IndexError):
        return True


def read_pids(service):
    """[(name, pid or None, alive)] for every pid file of the service."""
    result = []
    for path in pid_files(service):
        name = os.path.basename(path)[:-len('.pid')]
        try:
            with open(path) as handle:
                pid = int(handle.read().split()[0])
        except (OSError, ValueError, IndexError):
            result.append((name, None, False))
            continue
        result.append((name, pid, pid_alive(pid)))
    return result


def probe_http(url, ca_file=None):
    """(ok, reason): any HTTP answer below 500 counts as ready."""
    if url.startswith('https:'):
        context = ssl.create_default_context(cafile=ca_file) if ca_file else \
            ssl.create_default_context()
    else:
        context = None
    handlers = [urllib.request.ProxyHandler({})]  # loopback: never via a proxy
    if context is not None:
        handlers.append(urllib.request.HTTPSHandler(context=context))
    opener = urllib.request.build_opener(*handlers)
    try:
        with opener.open(urllib.request.Request(url, method='GET'),
                         timeout=PROBE_TIMEOUT_S) as response:
            return True, 'HTTP %d' % response.status
    except urllib.error.HTTPError as exc:
        return exc.code < 500, 'HTTP %d' % exc.code
    except (urllib.error.URLError, OSError, ssl.SSLError) as exc:
        reason = getattr(exc, 'reason', exc)
        return False, str(reason) or exc.__class__.__name__


def probe_dns_soa(server, port, zone, timeout=PROBE_TIMEOUT_S):
    """(ok, reason) of a UDP SOA query for zone (authoritative answer expected)."""
    qid = struct.unpack('!H', os.urandom(2))[0]
    qname = b''.join(bytes([len(label)]) + label.encode('ascii')
                     for label in zone.rstrip('.').split('.') if label) + b'\x00'
    packet = struct.pack('!HHHHHH', qid, 0, 1, 0, 0, 0) + qname + struct.pack('!HH', 6, 1)
    family = socket.AF_INET6 if ':' in server else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_DGRAM)
    try:
        sock.settimeout(timeout)
        sock.connect((server, int(port)))  # connected: ICMP "refused" ends the wait at once
        sock.send(packet)
        deadline = time.time() + timeout
        while True:
            sock.settimeout(max(0.01, deadline - time.time()))
            data = sock.recv(4096)
            if len(data) >= 12 and struct.unpack('!H', data[:2])[0] == qid:
                break
    except OSError as exc:
        return False, 'no DNS answer (%s)' % (exc.__class__.__name__ if not str(exc) else exc)
    finally:
        sock.close()
    flags, ancount = struct.unpack('!H', data[2:4])[0], struct.unpack('!H', data[6:8])[0]
    if flags & 0x000F:
        return False, 'SOA query rcode %d' % (flags & 0x000F)
    if not ancount or not flags & 0x0400:
        return False, 'no authoritative SOA'
    return True, 'SOA ok'


def address_of(data):
    if not data:
        return '-'
    if data.get('url'):
        return data['url']
    if data.get('server'):
        return '%s:%s' % (data['server'], data.get('port', 53))
    if data.get('host'):
        return '%s:%s' % (data['host'], data.get('port', '?'))
    return '-'


def service_status(service):
    """(running, address, pid text, reason)."""
    data = load_service_json(service)
    pids = read_pids(service)
    pid_text = ', '.join(
        ('%s=%s' % (name, pid) if name != service else str(pid)) + ('' if alive else ' (dead)')
        for name, pid, alive in pids) or '-'
    if not os.path.isfile(script_path(service, 'up')):
        return False, address_of(data), pid_text, 'no %s' % os.path.relpath(
            script_path(service, 'up'), ROOT)
    if data is None:
        return False, '-', pid_text, 'no %s' % os.path.relpath(service_json_path(service), ROOT)
    if not pids:
        return False, address_of(data), pid_text, 'no pid file in %s' % os.path.relpath(
            RUN_DIR, ROOT)
    dead = [name for name, _pid, alive in pids if not alive]
    if dead:
        return False, address_of(data), pid_text, 'not alive: %s' % ', '.join(dead)
    if data.get('url'):
        ca_file = data.get('ca_file')
        if ca_file and not os.path.isfile(ca_file):
            return False, address_of(data), pid_text, 'ca_file %s is missing' % ca_file
        ok, reason = probe_http(data['url'], ca_file)
    elif data.get('server') and data.get('zone'):
        ok, reason = probe_dns_soa(data['server'], data.get('port', 53), data['zone'])
    else:
        ok, reason = True, 'pid alive (no probe known)'
    return ok, address_of(data), pid_text, reason


def cmd_status(services):
    all_ok = True
    results = {}
    threads = []

    def check(service):
        try:
            results[service] = service_status(service)
        except Exception as exc:  # a probe must never crash status
            results[service] = (False, '-', '-', 'status error: %s' % exc)

    for service in services:  # probe in parallel: each may wait up to its timeout
        thread = threading.Thread(target=check, args=(service,), daemon=True)
        thread.start()
        threads.append(thread)
    for thread in threads:
        thread.join()
    for service in services:
        ok, address, pid_text, reason = results[service]
        all_ok = all_ok and ok
        print('%-*s  %-7s  %-26s  pid %-12s  %s' % (
            WIDTH, service, 'running' if ok else 'stopped', address, pid_text, reason))
    return 0 if all_ok else 1


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog='lab.py', description='Start, stop and inspect the nbsync test lab.')
    parser.add_argument('action', choices=('up', 'down', 'status'))
    parser.add_argument('services', nargs='*', metavar='service',
                        help='any of: %s (default: all)' % ', '.join(SERVICES))
    args = parser.parse_args(argv)
    unknown = [s for s in args.services if s not in SERVICES]
    if unknown:
        parser.error('unknown service(s): %s (known: %s)' % (
            ', '.join(unknown), ', '.join(SERVICES)))
    services = [s for s in SERVICES if s in args.services] if args.services else list(SERVICES)
    if args.action == 'up':
        timeout = float(os.environ.get('NBSYNC_LAB_UP_TIMEOUT', '1800'))
        return cmd_up(services, timeout)
    if args.action == 'down':
        return cmd_down(services)
    return cmd_status(services)


if __name__ == '__main__':
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(130)

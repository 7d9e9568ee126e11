"""Integration fixtures: clients built from the lab description, and the lab's fault controls."""

import pytest
import requests


class LabControl:
    """The /_lab control API of the lab's fakes: faults and resets, driven from the test process."""

    def __init__(self, service):
        self.url = service['control_url'].rstrip('/')
        self.headers = {'X-Lab-Control': service['control_token']}
        self.verify = service['ca_file']

    def call(self, what, body=None):
        response = requests.post('{0}/{1}'.format(self.url, what), json=body or {}, headers=self.headers,
                                 verify=self.verify, timeout=30)
        assert response.status_code == 200, response.text
        return response.json()

    def fault(self, kind, **fields):
        return self.call('fault', dict(fields, kind=kind))

    def reset(self):
        return self.call('reset')

    def requests(self, last=10000):
        """The requests the lab PVE recorded, oldest first: [{method, path, body}] (secrets redacted)."""
        response = requests.get('{0}/requests'.format(self.url), params={'last': last}, headers=self.headers,
                                verify=self.verify, timeout=30)
        assert response.status_code == 200, response.text
        return response.json()

    def count(self, method, path_suffix):
        return sum(1 for r in self.requests() if r['method'] == method and r['path'].endswith(path_suffix))


@pytest.fixture(scope='session')
def pve_lab(lab):
    return lab['pve']


@pytest.fixture
def pve_control(pve_lab):
    """Fault control of the lab's PVE; the seeded state is restored after the test."""
    control = LabControl(pve_lab)
    yield control
    control.fault('clear')
    control.reset()


@pytest.fixture(scope='session')
def pbs_lab(lab):
    return lab['pbs']


@pytest.fixture
def pbs_control(pbs_lab):
    control = LabControl(pbs_lab)
    yield control
    control.fault('clear')
    control.reset()


@pytest.fixture(scope='session')
def pve_params(pve_lab):
    """Module-style parameters for PveClient.from_params, as the shared argument spec gives them."""
    def make(token='token', **overrides):
        tok = pve_lab[token]
        params = dict(api_host=pve_lab['host'], api_port=pve_lab['port'], api_user=tok['user'],
                      api_token_id=tok['token_id'], api_token_secret=tok['secret'], validate_certs=True,
                      ca_path=pve_lab['ca_file'], retries=4)
        params.update(overrides)
        return params
    return make


class CuttingProxy:
    """A TCP proxy in front of the lab NetBox that, once ``cut_writes`` is set, drops the connection at
    the first request that is not a GET and refuses everything after it: NetBox going away in the middle
    of a run (after the reads, at the first write), with real sockets rather than a mocked HTTP layer.

    Requests begin each chunk read from the client (a GET has no body and http.client sends a request's
    head in one write), so the method is the chunk's first word.
    """

    WRITES = (b'POST ', b'PUT ', b'PATCH ', b'DELETE ')
    # Taking the run's lock (a tag) is a write too, before the reads: it goes through, so the cut falls
    # where the test means it, at the first write after the reads.
    SPARED = (b'/api/extras/tags/',)

    def __init__(self, target_host, target_port):
        import socket
        import threading
        self.target = (target_host, target_port)
        self.cut_writes = False
        self.gone = threading.Event()
        self.dropped = []
        self.listener = socket.create_server(('127.0.0.1', 0))
        self.port = self.listener.getsockname()[1]
        self.url = 'http://127.0.0.1:{0}'.format(self.port)
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        import socket
        import threading
        while True:
            try:
                client, _addr = self.listener.accept()
            except OSError:
                return
            if self.gone.is_set():
                client.close()
                continue
            upstream = socket.create_connection(self.target)
            threading.Thread(target=self._pump, args=(client, upstream, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, False), daemon=True).start()

    def _pump(self, source, sink, from_client):
        try:
            while True:
                chunk = source.recv(65536)
                if not chunk:
                    break
                if from_client and (self.gone.is_set() or (self.cut_writes and chunk.startswith(self.WRITES)
                                                           and not chunk.split(b' ', 2)[1].startswith(self.SPARED))):
                    self.dropped.append(chunk.split(b' ', 2)[:2])
                    self.gone.set()
                    break
                sink.sendall(chunk)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                try:
                    sock.close()
                except OSError:
                    pass

    def close(self):
        self.listener.close()


@pytest.fixture
def netbox_cut_proxy(lab):
    from urllib.parse import urlsplit
    target = urlsplit(lab['netbox']['url'])
    proxy = CuttingProxy(target.hostname, target.port or 80)
    yield proxy
    proxy.close()


class CannedServer:
    """A plain-HTTP server (a thread) that answers every request with one canned answer and records what
    it got: what stands between a client and its API, for example a captive portal's login page (HTTP 200,
    HTML) or a redirect elsewhere; or, answering nothing useful, the place a redirect points to.
    ``hits`` holds (method, path, headers, body) per request."""

    def __init__(self, status=200, body='<html><head><title>Sign in</title></head><body>portal</body></html>',
                 content_type='text/html', headers=None):
        import http.server
        import threading
        canned = self
        self.status, self.body, self.content_type = status, body, content_type
        self.headers = dict(headers or {})
        self.hits = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def _answer(self):
                length = int(self.headers.get('Content-Length') or 0)
                canned.hits.append((self.command, self.path, dict(self.headers), self.rfile.read(length)))
                payload = canned.body.encode()
                self.send_response(canned.status)
                self.send_header('Content-Type', canned.content_type)
                self.send_header('Content-Length', str(len(payload)))
                for key, value in canned.headers.items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _answer

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = 'http://127.0.0.1:{0}'.format(self.port)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def canned_server():
    """canned_server(status=..., body=..., content_type=..., headers=...) -> a running CannedServer."""
    made = []

    def make(**kwargs):
        made.append(CannedServer(**kwargs))
        return made[-1]
    yield make
    for server in made:
        server.close()


# ------------------------------------------------------------------ netbox_vm_sync through ansible-playbook

SYNC_PLAYBOOK = """
- hosts: localhost
  connection: local
  gather_facts: false
  vars_files: [{vars_file}]
  tasks:
    - name: sync
      nbsync.proxmox.netbox_vm_sync:
        netbox_url: "{{{{ netbox_url }}}}"
        netbox_token: "{{{{ netbox_token }}}}"
        clusters: "{{{{ clusters }}}}"
        defaults: "{{{{ defaults }}}}"
        limit_clusters: "{{{{ limit_clusters | default(omit) }}}}"
        limit_names: "{{{{ limit_names | default(omit) }}}}"
        limit_tags: "{{{{ limit_tags | default(omit) }}}}"
        limit_roles: "{{{{ limit_roles | default(omit) }}}}"
        allow_delete: "{{{{ allow_delete | default(false) }}}}"
        shutdown_timeout: "{{{{ shutdown_timeout | default(omit) }}}}"
        force_stop: "{{{{ force_stop | default(omit) }}}}"
        lock_wait: "{{{{ lock_wait | default(omit) }}}}"
        timeout: 120
      register: result
    - name: keep the result
      check_mode: false
      ansible.builtin.copy:
        content: "{{{{ result | to_json }}}}"
        dest: "{result_file}"
        mode: "0600"
"""


class SyncRun:
    """One ansible-playbook run of netbox_vm_sync (started by ``start_sync``); ``finish()`` waits for it, checks
    that it ended well without a traceback or a secret in its output, and returns the module's result with
    ``by_name`` (keyed by ``key(vm name)``) and ``stdout``."""

    def __init__(self, proc, result_file, secrets, key):
        self.proc, self.result_file, self.secrets, self.key = proc, result_file, secrets, key

    def finish(self):
        import json
        out = self.proc.communicate(timeout=600)[0]
        assert self.proc.returncode == 0, out[-5000:]
        assert 'Traceback' not in out
        assert not [s for s in self.secrets if s in out]
        result = json.loads(self.result_file.read_text())
        result['by_name'] = dict((self.key(v['name']), v) for v in result['vms'])
        result['stdout'] = out
        return result


def start_sync(lab, tmp_path, variables, check=False, diff=False, key=lambda name: name):
    """Start netbox_vm_sync through ansible-playbook with these variables (kept in a 0600 vars file, as a
    user keeps them in a vault: never on the command line)."""
    import json
    import os
    import subprocess
    import sys
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    tmp_path.mkdir(parents=True, exist_ok=True)
    vars_file = tmp_path / 'vars.json'
    vars_file.write_text(json.dumps(dict((k, v) for k, v in variables.items() if v is not None)))
    os.chmod(vars_file, 0o600)
    result_file = tmp_path / 'result.json'
    if result_file.exists():
        result_file.unlink()
    playbook = tmp_path / 'sync.yml'
    playbook.write_text(SYNC_PLAYBOOK.format(vars_file=vars_file, result_file=result_file))
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=os.path.join(root, '.build', 'collections'),
               ANSIBLE_PYTHON_INTERPRETER=sys.executable, ANSIBLE_NOCOLOR='1', ANSIBLE_LOCALHOST_WARNING='0',
               ANSIBLE_INVENTORY_UNPARSED_WARNING='0')
    cmd = [os.path.join(os.path.dirname(sys.executable), 'ansible-playbook'), '-i', 'localhost,', str(playbook)]
    if check:
        cmd.append('--check')
    if diff:
        cmd.append('--diff')
    proc = subprocess.Popen(cmd, env=env, cwd=root, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    return SyncRun(proc, result_file, [lab['pve']['token']['secret'], lab['netbox']['token']], key)


class FlakyProxy:
    """A real HTTP reverse proxy (a thread) in front of the lab's NetBox that misbehaves ``times`` times for
    requests of one method, then forwards everything: ``fault='503'`` answers 503 Service Unavailable,
    ``fault='drop'`` closes the connection without an answer, before NetBox sees the request (what a client
    meets when the server closes a kept-alive connection at the instant it is reused). ``seen`` lists the
    methods of every request that reached the proxy."""

    def __init__(self, target_url, method, fault, times=1):
        import http.client
        import http.server
        import threading
        from urllib.parse import urlsplit
        proxy = self
        self.method, self.fault, self.left, self.seen = method, fault, times, []
        target = urlsplit(target_url)

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = 'HTTP/1.1'

            def _forward(self):
                length = int(self.headers.get('Content-Length') or 0)
                body = self.rfile.read(length) if length else None
                proxy.seen.append(self.command)
                if self.command == proxy.method and proxy.left > 0:
                    proxy.left -= 1
                    if proxy.fault == 'drop':
                        self.close_connection = True
                        self.connection.close()
                        return
                    self.send_response(503)
                    self.send_header('Content-Length', '0')
                    self.end_headers()
                    return
                upstream = http.client.HTTPConnection(target.hostname, target.port or 80, timeout=60)
                headers = dict((k, v) for k, v in self.headers.items() if k.lower() not in ('host', 'connection'))
                upstream.request(self.command, self.path, body=body, headers=headers)
                answer = upstream.getresponse()
                payload = answer.read()
                self.send_response(answer.status)
                for key, value in answer.getheaders():
                    if key.lower() not in ('transfer-encoding', 'connection', 'content-length'):
                        self.send_header(key, value)
                self.send_header('Content-Length', str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
                upstream.close()

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _forward

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), Handler)
        self.server.daemon_threads = True
        self.url = 'http://127.0.0.1:{0}'.format(self.server.server_address[1])
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def flaky_netbox(lab):
    """flaky_netbox(method, fault, times=1) -> a running FlakyProxy in front of the lab's NetBox."""
    made = []

    def make(method, fault, times=1):
        made.append(FlakyProxy(lab['netbox']['url'], method, fault, times))
        return made[-1]
    yield make
    for proxy in made:
        proxy.close()

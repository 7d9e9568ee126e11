"""No-change NetBox -> Proxmox sync over 1,000 VMs with a fixed latency on every request, side by side
with its read floor and with the peers' read phase (netbox.netbox, community.proxmox).

    make bench                       # or, with the Makefile's environment:
    .venv/bin/python benchmarks/run.py [--latency 0.020] [--repeat 3] [--no-peers] [--count 1000]

Needs: the lab's NetBox up and seeded (``benchmarks/seed.py``, once), and for the peers the separate
virtual environment .build/bench-peers-venv (PyPI ``ansible`` 14.x, proxmoxer; see README.md).

It starts, and stops again, two processes of its own: a fakepve (the lab's LabPve) on 127.0.0.41 with
state under /tmp/lab-bench, loaded with the 1,000 guests that match the seeded VMs, and ``nbproxy.py``
on 127.0.0.1:18000 in front of the lab's NetBox. Both add ``--latency`` seconds to every request.
The shared lab is only read.

Scenarios (each repeated; wall time min/median/max, API calls to each side):

* floor        the reads the run needs and nothing else, with the same clients' HTTP sessions:
               NetBox list calls (custom fields, clusters, VMs, interfaces, virtual disks, IP addresses,
               prefixes; page 1000, later pages 4 at a time), PVE /cluster/resources, then every
               guest's config, 4 at a time (the run's concurrency) on one keep-alive session per thread.
* ours         Reconciler.run() in-process, check_mode False (the no-change sync: read, plan, no writes).
* ours-play    the module netbox_vm_sync through ansible-playbook (whole process).
* peers        netbox.netbox nb_inventory (ansible-inventory) and nb_lookup (4 lookups) reading the same
               VMs with interfaces, IPs and disks; community.proxmox proxmox_vm_info (config: current)
               reading the same guests with their configs; each through its own ansible process.
"""

import argparse
import datetime
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import requests

import common

from ansible_collections.nbsync.proxmox.plugins.module_utils._netbox_client import NetBoxClient
from ansible_collections.nbsync.proxmox.plugins.module_utils._pve_client import PveClient
from ansible_collections.nbsync.proxmox.plugins.module_utils._reconcile import DEFAULT_CONCURRENCY, Reconciler

PEERS_VENV = os.path.join(common.ROOT, '.build', 'bench-peers-venv')
LAB_PYTHON = os.path.join(common.ROOT, '.venv', 'bin', 'python')   # has fakepve and aiohttp
LAB_DIR = os.environ.get('NBSYNC_BENCH_LAB_DIR', '/tmp/lab-bench')
PVE_HOST = os.environ.get('NBSYNC_BENCH_PVE_HOST', '127.0.0.41')
PVE_PORT = 8006
PROXY_PORT = int(os.environ.get('NBSYNC_BENCH_PROXY_PORT', '18000'))
FLOOR_PAGE = 1000
CONCURRENCY = DEFAULT_CONCURRENCY


STARTED = time.monotonic()


def log(msg):
    print('[{0:6.1f}s] {1}'.format(time.monotonic() - STARTED, msg), flush=True)


def wait_port(host, port, deadline=30.0):
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError('nothing listens on {0}:{1} after {2:g} s'.format(host, port, deadline))


# ---------------------------------------------------------------------------------------- servers

class BenchPve:
    """A private LabPve (fakepve + our extensions): time_scale 1, so latency is in real seconds."""

    def __init__(self, latency):
        self.latency = latency
        self.state_file = os.path.join(LAB_DIR, 'pve.json')
        self.proc = None
        self.state = None

    def start(self):
        os.makedirs(LAB_DIR, exist_ok=True)
        if os.path.exists(self.state_file):
            os.unlink(self.state_file)
        launcher = os.path.join(common.ROOT, 'tests', 'lab', 'pve', 'launcher.py')
        self.logfile = open(os.path.join(LAB_DIR, 'pve.log'), 'ab')
        self.proc = subprocess.Popen([LAB_PYTHON, launcher, '--host', PVE_HOST, '--port', str(PVE_PORT),
                                      '--state-file', self.state_file, '--time-scale', '1'],
                                     env=dict(os.environ, NBSYNC_LAB_DIR=LAB_DIR), stdout=self.logfile,
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
        end = time.monotonic() + 60
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                raise RuntimeError('the benchmark fakepve exited; see {0}/pve.log'.format(LAB_DIR))
            try:
                with open(self.state_file, encoding='utf-8') as handle:
                    state = json.load(handle)
                if state.get('pid') == self.proc.pid:
                    self.state = state
                    break
            except (OSError, ValueError):
                pass
            time.sleep(0.2)
        else:
            raise RuntimeError('the benchmark fakepve did not start in 60 s')
        self.session = requests.Session()
        self.session.headers['X-Lab-Control'] = self.state['control_token']
        self.session.verify = self.state['ca_file']
        tok = self.state['token']
        self.auth = 'PVEAPIToken={0}!{1}={2}'.format(tok['user'], tok['token_id'], tok['secret'])

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        if self.proc:
            self.logfile.close()

    def control(self, path, body=None, method='POST'):
        resp = self.session.request(method, self.state['control_url'] + path, json=body, timeout=120,
                                    verify=self.state['ca_file'])
        resp.raise_for_status()
        return resp.json()

    def load(self, count):
        self.control('/guests', {'guests': [common.guest_spec(i) for i in range(count)]})

    def set_latency(self, latency):
        if latency:
            self.control('/fault', {'kind': 'slow_network', 'latency': latency})
        else:
            self.control('/fault', {'kind': 'clear'})

    def client_params(self):
        tok = self.state['token']
        return dict(api_host=PVE_HOST, api_port=PVE_PORT, api_user=tok['user'], api_token_id=tok['token_id'],
                    api_token_secret=tok['secret'], ca_path=self.state['ca_file'])

    def mark(self):
        """A request that only marks a point in fakepve's request log (for counting other processes' calls)."""
        path = '/api2/json/nodes/bench-mark-{0}/status'.format(uuid.uuid4().hex[:10])
        self.session.get(self.state['url'] + path, headers={'Authorization': self.auth}, timeout=30,
                         verify=self.state['ca_file'])
        return path

    def count_since(self, marker):
        rows = self.control('/requests?last=10000', method='GET')
        paths = [r['path'] for r in rows]
        if marker not in paths:
            return None     # more than 10,000 requests since: fakepve's log no longer reaches back
        after = paths[paths.index(marker) + 1:]
        return sum(1 for p in after if not p.startswith('/_lab') and '/bench-mark-' not in p)

    def measure_latency(self, tries=10):
        url = self.state['url'] + '/api2/json/version'
        samples = []
        with requests.Session() as s:
            s.get(url, headers={'Authorization': self.auth}, verify=self.state['ca_file'], timeout=30)
            for _dummy in range(tries):
                t = time.perf_counter()
                s.get(url, headers={'Authorization': self.auth}, verify=self.state['ca_file'], timeout=30)
                samples.append(time.perf_counter() - t)
        return statistics.median(samples)


class NbProxy:
    def __init__(self, upstream, latency):
        self.upstream = upstream
        self.latency = latency
        self.url = 'http://127.0.0.1:{0}'.format(PROXY_PORT)
        self.proc = None

    def start(self):
        os.makedirs(LAB_DIR, exist_ok=True)
        self.logfile = open(os.path.join(LAB_DIR, 'nbproxy.log'), 'ab')
        self.proc = subprocess.Popen([LAB_PYTHON, os.path.join(common.HERE, 'nbproxy.py'), '--upstream', self.upstream,
                                      '--port', str(PROXY_PORT), '--latency', str(self.latency)],
                                     stdout=self.logfile, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                     start_new_session=True)
        wait_port('127.0.0.1', PROXY_PORT)
        self.stats()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        if self.proc:
            self.logfile.close()

    def stats(self):
        return requests.get(self.url + '/_bench/stats', timeout=10).json()

    def reset(self):
        requests.post(self.url + '/_bench/reset', timeout=10).raise_for_status()

    def measure_latency(self, token, tries=10):
        samples = {}
        for name, base in (('direct', self.upstream), ('proxied', self.url)):
            with requests.Session() as s:
                s.headers['Authorization'] = 'Token ' + token
                s.get(base + '/api/status/', timeout=30)
                times = []
                for _dummy in range(tries):
                    t = time.perf_counter()
                    s.get(base + '/api/virtualization/cluster-types/?brief=1', timeout=30)
                    times.append(time.perf_counter() - t)
                samples[name] = statistics.median(times)
        return samples


# -------------------------------------------------------------------------------------- scenarios

class CountingFactory:
    """pve_factory for the Reconciler that keeps every client it makes (to add up request_count)."""

    def __init__(self, params):
        self.params = params
        self.clients = []
        self.lock = threading.Lock()

    def __call__(self, _cluster):
        client = PveClient.from_params(self.params)
        with self.lock:
            self.clients.append(client)
        return client

    @property
    def request_count(self):
        return sum(c.transport.request_count for c in self.clients)


def floor(nb_url, token, pve_params):
    """The minimum reads of a no-change run, with the clients' own HTTP sessions and no processing."""
    nb = NetBoxClient(nb_url, token)
    headers = {'Authorization': 'Token ' + token, 'Accept': 'application/json'}

    def page(path, params):
        resp = nb.session.request('GET', '{0}/api/{1}'.format(nb.url, path), params=params, headers=headers)
        resp.raise_for_status()
        return resp.json()

    def paged(path, **params):
        first = page(path, dict(params, limit=FLOOR_PAGE))
        results = list(first['results'])
        if first.get('next'):
            offsets = range(len(results), first['count'], len(results))
            with ThreadPoolExecutor(max_workers=CONCURRENCY) as pool:
                for body in pool.map(lambda o: page(path, dict(params, limit=len(first['results']), offset=o)),
                                     offsets):
                    results.extend(body['results'])
        return results

    t0 = time.perf_counter()
    paged('extras/custom-fields/', name__isw='proxmox_')
    clusters = [c for c in paged('virtualization/clusters/', type=common.CLUSTER_TYPE) if c['name'] == common.CLUSTER]
    ids = [c['id'] for c in clusters]
    vms = paged('virtualization/virtual-machines/', cluster_id=ids)
    paged('virtualization/interfaces/', cluster_id=ids)
    paged('virtualization/virtual-disks/')
    paged('ipam/ip-addresses/', assigned_object_type='virtualization.vminterface')
    paged('ipam/prefixes/')
    t1 = time.perf_counter()

    local = threading.local()
    clients = []

    def client():
        if not hasattr(local, 'pve'):
            local.pve = PveClient.from_params(pve_params)
            clients.append(local.pve)
        return local.pve

    resources = client().cluster_resources('vm')
    wanted = set(int(v['custom_fields']['proxmox_vmid']) for v in vms)
    guests = [g for g in resources if int(g['vmid']) in wanted]
    with ThreadPoolExecutor(max_workers=CONCURRENCY) as pool:
        configs = list(pool.map(lambda g: client().guest_config(g['node'], g['type'], g['vmid'], current=False), guests))
    t2 = time.perf_counter()
    assert len(vms) == len(configs), (len(vms), len(configs))
    return {'wall': t2 - t0, 'nb_time': t1 - t0, 'pve_time': t2 - t1, 'nb_calls': nb.request_count,
            'pve_calls': sum(c.transport.request_count for c in clients), 'vms': len(vms)}


def ours(nb_url, token, pve_params, count):
    nb = NetBoxClient(nb_url, token)
    factory = CountingFactory(pve_params)
    rec = Reconciler(nb, factory, defaults=common.DEFAULTS, check_mode=False, concurrency=CONCURRENCY)
    phases = {}

    def timed(name, func):
        def wrapper(*args, **kwargs):
            t = time.perf_counter()
            try:
                return func(*args, **kwargs)
            finally:
                phases[name] = phases.get(name, 0.0) + time.perf_counter() - t
        return wrapper
    rec.reader.ensure_custom_fields = timed('nb', rec.reader.ensure_custom_fields)
    rec.reader.read = timed('nb', rec.reader.read)
    rec.plan = timed('pve', rec.plan)
    t0 = time.perf_counter()
    result = rec.run(clusters=[common.CLUSTER])
    wall = time.perf_counter() - t0
    check_result(result, count)
    return {'wall': wall, 'nb_time': phases.get('nb'), 'pve_time': phases.get('pve'), 'nb_calls': nb.request_count,
            'pve_calls': factory.request_count, 'pve_clients': len(factory.clients), 'vms': len(result['vms'])}


def check_result(result, count):
    summary = result['summary']
    if result['changed'] or summary['unchanged'] != count:
        bad = [v for v in result['vms'] if v['result'] != 'unchanged'][:3]
        raise RuntimeError('not a no-change run: changed={0} summary={1} e.g. {2}'.format(result['changed'], summary, bad))


PLAYBOOK_OURS = """
- hosts: localhost
  connection: local
  gather_facts: false
  vars_files: [{vars_file}]
  tasks:
    - name: no-change sync
      nbsync.proxmox.netbox_vm_sync:
        netbox_url: "{{{{ netbox_url }}}}"
        netbox_token: "{{{{ netbox_token }}}}"
        clusters: "{{{{ clusters }}}}"
        defaults: "{{{{ defaults }}}}"
        limit_clusters: ["{cluster}"]
      register: result
    - name: keep the result
      ansible.builtin.copy:
        content: "{{{{ result | to_json }}}}"
        dest: "{result_file}"
        mode: "0600"
"""

PLAYBOOK_VM_INFO = """
- hosts: localhost
  connection: local
  gather_facts: false
  vars_files: [{vars_file}]
  tasks:
    - name: read every qemu guest with its config
      community.proxmox.proxmox_vm_info:
        api_host: "{{{{ pve_host }}}}"
        api_port: "{{{{ pve_port }}}}"
        api_user: "{{{{ pve_user }}}}"
        api_token_id: "{{{{ pve_token_id }}}}"
        api_token_secret: "{{{{ pve_token_secret }}}}"
        ca_path: "{{{{ pve_ca }}}}"
        type: qemu
        config: current
      register: result
    - name: keep the count
      ansible.builtin.copy:
        content: "{{{{ {{'count': result.proxmox_vms | length, 'configs': result.proxmox_vms | selectattr('config', 'defined') | list | length}} | to_json }}}}"
        dest: "{result_file}"
        mode: "0600"
"""

PLAYBOOK_NB_LOOKUP = """
- hosts: localhost
  connection: local
  gather_facts: false
  vars_files: [{vars_file}]
  tasks:
    - name: read the VMs, interfaces, disks and IP addresses with nb_lookup
      ansible.builtin.set_fact:
        vms: "{{{{ query('netbox.netbox.nb_lookup', 'virtual-machines', api_filter='cluster={cluster}',
                 api_endpoint=netbox_url, token=netbox_token) }}}}"
        ifaces: "{{{{ query('netbox.netbox.nb_lookup', 'virtualization-interfaces', api_filter='cluster={cluster}',
                    api_endpoint=netbox_url, token=netbox_token) }}}}"
        disks: "{{{{ query('netbox.netbox.nb_lookup', 'virtual-disks', api_endpoint=netbox_url, token=netbox_token) }}}}"
        ips: "{{{{ query('netbox.netbox.nb_lookup', 'ip-addresses', api_filter='assigned_object_type=virtualization.vminterface',
                 api_endpoint=netbox_url, token=netbox_token) }}}}"
    - name: keep the count
      ansible.builtin.copy:
        content: "{{{{ {{'count': vms | length, 'interfaces': ifaces | length}} | to_json }}}}"
        dest: "{result_file}"
        mode: "0600"
"""

NB_INVENTORY = """plugin: netbox.netbox.nb_inventory
api_endpoint: {url}
token: {token}
validate_certs: false
config_context: false
interfaces: true
virtual_disks: true
services: false
site_data: false
prefixes: false
fetch_all: true
group_by: []
vm_query_filters:
  - cluster: {cluster}
device_query_filters:
  - id: 0
"""


class Subprocesses:
    """Runs ansible-playbook / ansible-inventory of our venv or the peers' venv in a private temp dir."""

    def __init__(self, tmp):
        self.tmp = tmp

    def env(self, venv):
        env = dict(os.environ, ANSIBLE_NOCOLOR='1', ANSIBLE_LOCALHOST_WARNING='0', ANSIBLE_INVENTORY_UNPARSED_FAILED='1',
                   ANSIBLE_PYTHON_INTERPRETER=os.path.join(venv, 'bin', 'python'), ANSIBLE_HOST_KEY_CHECKING='0',
                   ANSIBLE_CONFIG=os.path.join(self.tmp, 'ansible.cfg'))
        if venv == PEERS_VENV:
            # only the collections the ansible package bundles: neither ours nor the Makefile's path
            for key in ('ANSIBLE_COLLECTIONS_PATH', 'PYTHONPATH'):
                env.pop(key, None)
        else:
            env['ANSIBLE_COLLECTIONS_PATH'] = common.COLLECTIONS
            env['PYTHONPATH'] = common.COLLECTIONS
        return env

    def run(self, venv, tool, args, result_file=None):
        with open(os.path.join(self.tmp, 'ansible.cfg'), 'w', encoding='utf-8') as handle:
            handle.write('[defaults]\nstdout_callback = default\nretry_files_enabled = false\n')
        if result_file and os.path.exists(result_file):
            os.unlink(result_file)
        cmd = [os.path.join(venv, 'bin', tool)] + args
        t = time.perf_counter()
        proc = subprocess.run(cmd, env=self.env(venv), cwd=self.tmp, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True, timeout=900, check=False)
        wall = time.perf_counter() - t
        if proc.returncode != 0:
            raise RuntimeError('{0} failed:\n{1}'.format(' '.join(cmd), proc.stdout[-4000:]))
        result = None
        if result_file:
            with open(result_file, encoding='utf-8') as handle:
                result = json.load(handle)
        return wall, result

    def write(self, name, text, mode=0o600):
        path = os.path.join(self.tmp, name)
        with open(path, 'w', encoding='utf-8') as handle:
            handle.write(text)
        os.chmod(path, mode)
        return path


def vars_file(sub, nb_url, token, pve):
    tok = pve.state['token']
    variables = {
        'netbox_url': nb_url, 'netbox_token': token,
        'clusters': [dict(name=common.CLUSTER, **pve.client_params())],
        'defaults': common.DEFAULTS,
        'pve_host': PVE_HOST, 'pve_port': PVE_PORT, 'pve_user': tok['user'], 'pve_token_id': tok['token_id'],
        'pve_token_secret': tok['secret'], 'pve_ca': pve.state['ca_file'],
    }
    return sub.write('vars.json', json.dumps(variables))


def profile(path, func):
    from pyinstrument import Profiler  # pylint: disable=import-outside-toplevel
    profiler = Profiler(interval=0.001)
    profiler.start()
    row = func()
    profiler.stop()
    with open(path, 'w', encoding='utf-8') as handle:
        handle.write(profiler.output_html())
    log('profiled run: {0:.2f} s, written to {1}'.format(row['wall'], path))
    print(profiler.output_text(unicode=False, color=False, show_all=False))


# ------------------------------------------------------------------------------------------ report

def summarize(rows, floor_rows=None):
    walls = [r['wall'] for r in rows]
    out = {'n': len(rows), 'min': min(walls), 'median': statistics.median(walls), 'max': max(walls),
           'by_path': rows[-1].get('by_path')}
    if floor_rows:
        # the same round's floor: both saw the same machine load
        out['paired'] = statistics.median(r['wall'] / f['wall'] for r, f in zip(rows, floor_rows))
    for row in rows:
        if row.get('nb_server') is not None:
            row['rest'] = row['wall'] - row['nb_server']
    for key in ('nb_calls', 'pve_calls', 'nb_time', 'pve_time', 'pve_clients', 'nb_server', 'rest'):
        values = [r[key] for r in rows if r.get(key) is not None]
        if values:
            out[key] = statistics.median(values)
    return out


def fmt(value, digits=2):
    if value is None:
        return '-'
    if isinstance(value, float):
        return '{0:.{1}f}'.format(value, digits)
    return str(value)


def table(results, floor_median):
    lines = ['| scenario | what it does | wall s min / median / max | NetBox calls | PVE calls | '
             'NetBox busy s | wall - NetBox busy s | NetBox phase s | PVE phase s | median / floor | same-round ratio |',
             '|---|---|---|---|---|---|---|---|---|---|---|']
    for name, desc, s in results:
        if s.get('failed'):
            lines.append('| {0} | {1} | failed (see the log) |'.format(name, desc) + ' - |' * 8)
            continue
        lines.append('| {0} | {1} | {2} / **{3}** / {4} | {5} | {6} | {7} | {8} | {9} | {10} | {11} | {12} |'.format(
            name, desc, fmt(s['min']), fmt(s['median']), fmt(s['max']), fmt(s.get('nb_calls'), 0),
            fmt(s.get('pve_calls'), 0), fmt(s.get('nb_server')), fmt(s.get('rest')), fmt(s.get('nb_time')),
            fmt(s.get('pve_time')),
            '{0:.2f}x'.format(s['median'] / floor_median), '{0:.2f}x'.format(s['paired']) if 'paired' in s else '-'))
    return '\n'.join(lines)


# -------------------------------------------------------------------------------------------- main

def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--latency', type=float, default=0.020, help='seconds added to every request (default 0.020)')
    parser.add_argument('--repeat', type=int, default=3, help='runs of the floor and of ours in-process')
    parser.add_argument('--repeat-process', type=int, default=2, help='runs of ours through ansible-playbook')
    parser.add_argument('--repeat-peers', type=int, default=1, help='runs of each peer scenario')
    parser.add_argument('--count', type=int, default=common.COUNT)
    parser.add_argument('--no-peers', action='store_true', help='skip the peer collections')
    parser.add_argument('--no-playbook', action='store_true', help='skip the ansible-playbook runs')
    parser.add_argument('--output', help='results file (default benchmarks/results/<date>.md)')
    parser.add_argument('--profile', metavar='HTML', help='one more in-process run under pyinstrument, written to '
                        'HTML (pyinstrument is in the peers venv: run this script with its python)')
    args = parser.parse_args()

    lab = common.load_lab()
    token = lab['netbox']['token']
    peers = not args.no_peers
    if peers and not os.path.exists(os.path.join(PEERS_VENV, 'bin', 'ansible-playbook')):
        sys.exit('no peers venv at {0}: python3.12 -m venv {0} && {0}/bin/pip install "ansible>=14,<15" '
                 'proxmoxer pynetbox   (or run with --no-peers)'.format(PEERS_VENV))
    direct = NetBoxClient(lab['netbox']['url'], token)
    cluster = direct.get('virtualization.clusters', name=common.CLUSTER)
    seeded = len(direct.list('virtualization.virtual_machines', cluster_id=cluster['id'])) if cluster else 0
    if seeded != args.count:
        sys.exit('NetBox cluster {0} has {1} VMs, not {2}: run benchmarks/seed.py --count {2} first'.format(
            common.CLUSTER, seeded, args.count))

    pve, proxy = BenchPve(args.latency), NbProxy(lab['netbox']['url'], args.latency)
    tmp = tempfile.mkdtemp(prefix='nbsync-bench-')
    results, env_notes = [], {}
    try:
        log('starting the benchmark fakepve on {0}:{1} and the NetBox proxy on :{2}'.format(PVE_HOST, PVE_PORT, PROXY_PORT))
        pve.start()
        proxy.start()
        pve.load(args.count)
        base_pve = pve.measure_latency()
        pve.set_latency(args.latency)
        env_notes['pve_latency'] = (base_pve, pve.measure_latency())
        env_notes['nb_latency'] = proxy.measure_latency(token)
        log('latency check: PVE GET /version {0:.1f} ms -> {1:.1f} ms; NetBox direct {2:.1f} ms, proxied {3:.1f} ms'.format(
            env_notes['pve_latency'][0] * 1000, env_notes['pve_latency'][1] * 1000,
            env_notes['nb_latency']['direct'] * 1000, env_notes['nb_latency']['proxied'] * 1000))
        params = pve.client_params()

        # warm NetBox (its caches, the VM list's query plan) once, unmeasured
        direct.list('virtualization.virtual_machines', cluster_id=cluster['id'])

        rows = {'floor': [], 'ours': []}
        for i in range(args.repeat):
            for name, func in (('floor', lambda: floor(proxy.url, token, params)),
                               ('ours', lambda: ours(proxy.url, token, params, args.count))):
                proxy.reset()
                row = func()
                stats = proxy.stats()
                row['proxy_nb_calls'] = stats['count']
                row['nb_server'] = sum(v[1] for v in stats['by_path'].values())
                row['by_path'] = stats['by_path']
                rows[name].append(row)
                log('{0:5s} run {1}: {2:6.2f} s, NetBox {3} calls (proxy saw {4}; NetBox answered in {5:.2f} s), '
                    'PVE {6} calls'.format(name, i + 1, row['wall'], row['nb_calls'], row['proxy_nb_calls'],
                                           row['nb_server'], row['pve_calls']))
        if args.profile:
            profile(args.profile, lambda: ours(proxy.url, token, params, args.count))
        floor_s = summarize(rows['floor'])
        results.append(('floor', 'minimum reads, clients\' sessions, no processing', floor_s))
        results.append(('ours (in-process)', 'Reconciler.run(), check_mode false',
                        summarize(rows['ours'], rows['floor'])))

        sub = Subprocesses(tmp)
        vfile = vars_file(sub, proxy.url, token, pve)

        def process_rows(name, venv, tool, argv, result_file, check):
            out = []
            for i in range(args.repeat_peers if venv == PEERS_VENV else args.repeat_process):
                proxy.reset()
                marker = pve.mark()
                try:
                    wall, result = sub.run(venv, tool, argv, result_file)
                    check(result)
                except (RuntimeError, OSError, ValueError, KeyError, subprocess.TimeoutExpired) as exc:
                    # one failed scenario (a peer, a lab hiccup) is reported; the others still count
                    reason = [line for line in str(exc).splitlines() if line.strip()]
                    log('{0} run {1} FAILED: {2}'.format(name, i + 1, ' | '.join(reason[-3:])[:600]))
                    continue
                stats = proxy.stats()
                row = {'wall': wall, 'nb_calls': stats['count'], 'pve_calls': pve.count_since(marker),
                       'nb_server': sum(v[1] for v in stats['by_path'].values()), 'by_path': stats['by_path']}
                out.append(row)
                log('{0} run {1}: {2:6.2f} s, NetBox {3} calls, PVE {4} calls'.format(
                    name, i + 1, wall, row['nb_calls'], row['pve_calls']))
            return summarize(out) if out else {'failed': True}

        if not args.no_playbook:
            rfile = os.path.join(tmp, 'result.json')
            pb = sub.write('ours.yml', PLAYBOOK_OURS.format(vars_file=vfile, cluster=common.CLUSTER, result_file=rfile))
            results.append(('ours (ansible-playbook)', 'netbox_vm_sync module, whole process', process_rows(
                'ours-play', os.path.join(common.ROOT, '.venv'), 'ansible-playbook', ['-i', 'localhost,', pb], rfile,
                lambda r: check_result(r, args.count))))

        if peers:
            rfile = os.path.join(tmp, 'peer.json')
            inv = sub.write('bench.netbox.yml', NB_INVENTORY.format(url=proxy.url, token=token, cluster=common.CLUSTER))

            def inv_check(_result):
                with open(os.path.join(tmp, 'inventory.json'), encoding='utf-8') as handle:
                    hosts = json.load(handle).get('_meta', {}).get('hostvars', {})
                if len(hosts) != args.count:
                    raise RuntimeError('nb_inventory returned {0} hosts, not {1}'.format(len(hosts), args.count))
            results.append(('peer: netbox.netbox nb_inventory', 'ansible-inventory --list: VMs + interfaces + IPs + disks',
                            process_rows('nb_inventory', PEERS_VENV, 'ansible-inventory',
                                         ['-i', inv, '--list', '--output', os.path.join(tmp, 'inventory.json')],
                                         None, inv_check)))

            def count_check(key):
                def check(result):
                    if result[key] < args.count:
                        raise RuntimeError('peer read {0} {1}, fewer than {2}'.format(result[key], key, args.count))
                return check
            pb = sub.write('nb_lookup.yml', PLAYBOOK_NB_LOOKUP.format(vars_file=vfile, cluster=common.CLUSTER,
                                                                      result_file=rfile))
            results.append(('peer: netbox.netbox nb_lookup', '4 lookups: VMs, interfaces, disks, IPs',
                            process_rows('nb_lookup', PEERS_VENV, 'ansible-playbook', ['-i', 'localhost,', pb], rfile,
                                         count_check('count'))))
            pb = sub.write('vm_info.yml', PLAYBOOK_VM_INFO.format(vars_file=vfile, result_file=rfile))
            results.append(('peer: community.proxmox proxmox_vm_info', 'type qemu, config current',
                            process_rows('proxmox_vm_info', PEERS_VENV, 'ansible-playbook', ['-i', 'localhost,', pb],
                                         rfile, count_check('configs'))))
    finally:
        proxy.stop()
        pve.stop()
        shutil.rmtree(tmp, ignore_errors=True)

    report = render(args, results, floor_s, env_notes)
    print()
    print(report)
    out = args.output or os.path.join(common.HERE, 'results', '{0}.md'.format(datetime.date.today().isoformat()))
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(out, 'w', encoding='utf-8') as handle:
        handle.write(report + '\n')
    log('written to {0}'.format(os.path.relpath(out, common.ROOT)))
    if 'NOT met' in report:  # the target fails the command, not only the report
        sys.exit('benchmark target NOT met (see {0})'.format(os.path.relpath(out, common.ROOT)))


def render(args, results, floor_s, env_notes):
    ours_s = dict((name, s) for name, _d, s in results)
    ratio = ours_s['ours (in-process)']['median'] / floor_s['median']
    paired = ours_s['ours (in-process)']['paired']
    try:
        load = ' '.join('{0:.2f}'.format(x) for x in os.getloadavg())
    except OSError:
        load = '?'
    lines = [
        '# netbox_vm_sync no-change benchmark, {0}'.format(datetime.datetime.now().strftime('%Y-%m-%d %H:%M')),
        '',
        '{0} VMs (NetBox cluster `{1}`) against as many matching fakepve guests; {2:.0f} ms added to every request '
        'on both sides; concurrency {3}. Machine: {4} CPUs, load average before the report {5}; Python {6}.'.format(
            args.count, common.CLUSTER, args.latency * 1000, CONCURRENCY, os.cpu_count(), load, platform.python_version()),
        '',
        'Latency check (median of 10): PVE `GET /version` {0:.1f} ms without, {1:.1f} ms with the added latency; '
        'NetBox small list {2:.1f} ms direct, {3:.1f} ms through the proxy.'.format(
            env_notes['pve_latency'][0] * 1000, env_notes['pve_latency'][1] * 1000,
            env_notes['nb_latency']['direct'] * 1000, env_notes['nb_latency']['proxied'] * 1000),
        '',
        table(results, floor_s['median']),
        '',
        'NetBox busy: the time NetBox took to answer, summed over the calls (seen at the proxy, without the added '
        'latency); on a shared machine it is the noisiest part, so "wall - NetBox busy" (medians of per-run '
        'differences) shows the client side and PVE without it. Phases (in-process only): NetBox = custom fields + '
        'NetBoxReader.read (to_specs included); PVE = Reconciler.plan (/cluster/resources, configs, planning).',
        '',
        'Target (issue): the no-change run within 2x of the floor: in-process {0:.2f}x (medians), {1:.2f}x '
        '(median of same-round ratios) -> {2}.'.format(ratio, paired, 'met' if max(ratio, paired) <= 2.0 else 'NOT met'),
    ]
    lines.append('PVE clients (each its own HTTPS connection) the Reconciler made per run: {0:.0f}.'.format(
        ours_s['ours (in-process)'].get('pve_clients', 0)))
    lines += ['', '## NetBox calls by path (last run of each scenario: calls, seconds NetBox took)', '']
    for name, _desc, s in results:
        if s.get('by_path'):
            paths = ', '.join('`{0}` {1[0]} / {1[1]:.2f} s'.format(p, v) for p, v in sorted(s['by_path'].items()))
            lines.append('* {0}: {1}'.format(name, paths))
    return '\n'.join(lines)


if __name__ == '__main__':
    main()

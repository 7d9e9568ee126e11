"""The lab's PVE extensions are stateful: LabPve served in-process on a random loopback port.

Run: .venv/bin/python -m pytest tests/lab/pve/test_labpve.py
"""

import asyncio
import os
import sys
import threading
import time

import pytest
import requests

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from fakepve.certs import make_cert
from fakepve.server import settle
from labpve import LabPve, make_creds

HOST = '127.0.0.1'


class Served:
    """A seeded LabPve on its own event loop in a daemon thread, with a requests helper."""

    def __init__(self, certfile, keyfile, time_scale=0.0):
        self.creds = make_creds()
        self.pve = LabPve(password=self.creds['password'], host=HOST, port=0, creds=self.creds,
                          time_scale=time_scale).seed()
        self.ca = certfile
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        self._call(self.pve.start(certfile, keyfile))
        self.url = self.pve.url
        self.root = {'Authorization': 'PVEAPIToken=root@pam!lab={}'.format(self.creds['token_secret'])}
        self.limited = {'Authorization': 'PVEAPIToken=ansible@pve!limited={}'.format(self.creds['limited_secret'])}
        self.control = {'X-Lab-Control': self.pve.control_token}

    def _run(self):
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    def _call(self, coro):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(30)

    def stop(self):
        self._call(settle())
        self._call(self.pve.stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(30)

    def api(self, method, path, headers=None, **kwargs):
        """(status, data, per-field errors or else the message) of an API call.

        verify= is given per request: REQUESTS_CA_BUNDLE must not win.
        """
        r = requests.request(method, self.url + '/api2/json' + path, headers=headers or self.root,
                             verify=self.ca, timeout=10, **kwargs)
        body = r.json()
        return r.status_code, body.get('data'), body.get('errors') or body.get('message')

    def ok(self, method, path, **kwargs):
        status, data, message = self.api(method, path, **kwargs)
        assert status == 200, (status, message)
        return data

    def lab(self, method, path, json=None, headers=None):
        r = requests.request(method, self.url + '/_lab' + path, json=json, verify=self.ca, timeout=10,
                             headers=self.control if headers is None else headers)
        return r.status_code, r.json()

    def wait(self, upid, timeout=10):
        """The exit status of a task, once it stopped."""
        node = upid.split(':')[1]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            task = self.ok('GET', f'/nodes/{node}/tasks/{upid}/status')
            if task['status'] == 'stopped':
                return task['exitstatus']
            time.sleep(0.02)
        raise AssertionError(f'task {upid} still running after {timeout}s')

    def log(self, upid):
        node = upid.split(':')[1]
        return [line['t'] for line in self.ok('GET', f'/nodes/{node}/tasks/{upid}/log')]


@pytest.fixture(scope='module')
def pki(tmp_path_factory):
    return make_cert(str(tmp_path_factory.mktemp('labpve-pki')), hosts=(HOST,))[:2]


@pytest.fixture(scope='module')
def served(pki):
    serving = Served(*pki)
    yield serving
    serving.stop()


@pytest.fixture
def lab(served):
    """The module's server, reset to the seeded state before each test."""
    status, body = served.lab('POST', '/reset')
    assert status == 200 and body['ok']
    return served


@pytest.fixture
def slow(pki):
    """A server whose tasks take real time (time_scale 0.01: a clone takes about 60 ms)."""
    serving = Served(*pki, time_scale=0.01)
    yield serving
    serving.stop()


# --------------------------------------------------------------------------- seed


def test_seeded_objects(lab):
    assert [n['node'] for n in lab.ok('GET', '/nodes')] == ['pve1', 'pve2', 'pve3']
    storages = {s['storage']: s for s in lab.ok('GET', '/storage')}
    assert storages['local']['type'] == 'dir' and 'snippets' in storages['local']['content']
    assert storages['local-lvm']['type'] == 'lvmthin'
    assert storages['ceph-rbd']['type'] == 'rbd' and storages['ceph-rbd']['shared'] == 1
    assert storages['pbs-store']['type'] == 'pbs'
    resources = {r['vmid']: r for r in lab.ok('GET', '/cluster/resources', params={'type': 'vm'})}
    assert resources[9000]['name'] == 'debian12-cloudinit' and resources[9000]['template'] == 1
    assert resources[9001]['name'] == 'ubuntu2404-cloudinit'
    assert resources[9100]['type'] == 'lxc' and resources[9100]['name'] == 'debian12-lxc'
    assert all(resources[v]['pool'] == 'lab' for v in (9000, 9001, 9100))
    config = lab.ok('GET', '/nodes/pve1/qemu/9000/config')
    assert config['ide2'] == 'local-lvm:vm-9000-cloudinit,media=cdrom'
    assert config['scsi0'].startswith('local-lvm:base-9000-disk-0,')
    assert config['net0'].startswith('virtio=') and 'bridge=vmbr0' in config['net0']
    assert config['agent'] == 'enabled=1' and config['template'] == 1 and config['cores'] == 2


def test_limited_token_is_least_privilege(lab):
    status, _data, message = lab.api('POST', '/nodes/pve1/qemu/9000/clone', headers=lab.limited, data={'newid': 150})
    assert status == 403
    upid = lab.ok('POST', '/nodes/pve1/qemu/9000/clone', headers=lab.limited, data={'newid': 150, 'pool': 'lab'})
    assert lab.wait(upid) == 'OK'
    status, _data, message = lab.api('POST', '/nodes/pve1/ceph/pool', headers=lab.limited, data={'name': 'x'})
    assert status == 403 and message == 'Permission check failed (/, Sys.Modify)\n'
    lab.lab('POST', '/guests', {'vmid': 200, 'name': 'outside'})
    status, _data, message = lab.api('POST', '/nodes/pve1/qemu/200/status/start', headers=lab.limited)
    assert status == 403 and message == 'Permission check failed (/vms/200, VM.PowerMgmt)\n'


# --------------------------------------------------------------------- ceph pools


def test_ceph_pool_crud(lab):
    names = [p['pool_name'] for p in lab.ok('GET', '/nodes/pve1/ceph/pool')]
    assert names == ['.mgr', 'rbd']
    upid = lab.ok('POST', '/nodes/pve1/ceph/pool',
                  data={'name': 'vmdata', 'size': 2, 'pg_num': 64, 'pg_autoscale_mode': 'on',
                        'target_size': '100G', 'add_storages': 1})
    assert upid.startswith('UPID:pve1:') and ':cephcreatepool:vmdata:' in upid
    assert lab.wait(upid) == 'OK'
    listed = {p['pool_name']: p for p in lab.ok('GET', '/nodes/pve1/ceph/pool')}
    pool = listed['vmdata']
    # set_pool compares with the properties read before `size` reset min_size (2 - 2 // 2 = 1), so the
    # default min_size=2 is skipped as unchanged: PVE's own behaviour (Ceph/Tools.pm set_pool).
    assert (pool['size'], pool['min_size'], pool['pg_num'], pool['pg_autoscale_mode']) == (2, 1, 64, 'on')
    assert pool['target_size'] == 100 * 1024 ** 3 and pool['application_metadata'] == {'rbd': {}}
    assert pool['crush_rule_name'] == 'replicated_rule' and pool['type'] == 'replicated'
    # add_storages made an RBD storage of the same name.
    storage = lab.ok('GET', '/storage/vmdata')
    assert storage['type'] == 'rbd' and storage['pool'] == 'vmdata'
    assert lab.ok('GET', '/nodes/pve1/ceph/pool/vmdata') == [{'name': 'status'}]
    status = lab.ok('GET', '/nodes/pve2/ceph/pool/vmdata/status', params={'verbose': 1})
    assert status['crush_rule'] == 'replicated_rule' and status['application_list'] == ['rbd']
    # Update: size first (resets min_size), unchanged settings skipped, failures listed.
    upid = lab.ok('PUT', '/nodes/pve1/ceph/pool/vmdata', data={'size': 3, 'pg_num': 64, 'target_size_ratio': 0.2})
    assert ':cephsetpool:vmdata:' in upid and lab.wait(upid) == 'OK'
    assert "skipping 'pg_num', did not change" in lab.log(upid)
    status = lab.ok('GET', '/nodes/pve1/ceph/pool/vmdata/status')
    assert (status['size'], status['min_size'], status['target_size_ratio']) == (3, 2, 0.2)
    upid = lab.ok('PUT', '/nodes/pve1/ceph/pool/vmdata', data={'min_size': 3, 'crush_rule': 'nosuchrule'})
    assert lab.wait(upid) == 'Could not set: crush_rule'
    assert lab.ok('GET', '/nodes/pve1/ceph/pool/vmdata/status')['min_size'] == 3
    upid = lab.ok('PUT', '/nodes/pve1/ceph/pool/vmdata', data={'min_size': 4})
    assert lab.wait(upid) == 'Could not set: min_size'
    # A pool with images on its storage is refused unless forced.
    lab.lab('POST', '/guests', {'vmid': 300, 'storage': 'vmdata'})
    upid = lab.ok('DELETE', '/nodes/pve1/ceph/pool/vmdata')
    assert lab.wait(upid) == "ceph pool 'vmdata' still in use by storage 'vmdata'"
    upid = lab.ok('DELETE', '/nodes/pve1/ceph/pool/vmdata', params={'force': 1, 'remove_storages': 1})
    assert ':cephdestroypool:vmdata:' in upid and lab.wait(upid) == 'OK'
    assert 'vmdata' not in [p['pool_name'] for p in lab.ok('GET', '/nodes/pve1/ceph/pool')]
    assert lab.api('GET', '/storage/vmdata')[0] == 500
    code, _data, message = lab.api('GET', '/nodes/pve1/ceph/pool/vmdata/status')
    assert code == 500 and message == "error with 'osd pool get': mon_cmd failed - unrecognized pool 'vmdata'\n"


def test_ceph_pool_parameters_validated(lab):
    status, _data, errors = lab.api('POST', '/nodes/pve1/ceph/pool', data={'name': 'p', 'size': 9})
    assert status == 400 and 'size' in errors
    status, _data, errors = lab.api('POST', '/nodes/pve1/ceph/pool', data={'name': 'p', 'pg_autoscale_mode': 'auto'})
    assert status == 400 and 'pg_autoscale_mode' in errors
    upid = lab.ok('DELETE', '/nodes/pve1/ceph/pool/nosuchpool')
    assert 'unrecognized pool' in lab.wait(upid)


# -------------------------------------------------------------------- backup jobs


def test_backup_job_crud(lab):
    assert lab.ok('GET', '/cluster/backup') == []
    assert lab.ok('POST', '/cluster/backup', data={
        'id': 'nightly', 'schedule': '21:00', 'storage': 'pbs-store', 'vmid': '100,101', 'mode': 'snapshot',
        'prune-backups': 'keep-last=3,keep-daily=7', 'comment': 'lab job'}) is None
    job = lab.ok('GET', '/cluster/backup/nightly')
    assert job['id'] == 'nightly' and job['type'] == 'vzdump' and job['enabled'] == 1
    assert job['vmid'] == '100,101' and job['prune-backups'] == {'keep-last': '3', 'keep-daily': '7'}
    assert isinstance(job['next-run'], int)
    assert [j['id'] for j in lab.ok('GET', '/cluster/backup')] == ['nightly']
    status, _data, message = lab.api('POST', '/cluster/backup', data={'id': 'nightly', 'schedule': 'daily', 'all': 1})
    assert status == 500 and message == "error with cfs lock 'jobs.cfg': Job 'nightly' already exists\n"
    # Update: switching to a pool drops vmid; delete removes options.
    lab.ok('PUT', '/cluster/backup/nightly', data={'pool': 'lab', 'vmid': None, 'delete': 'comment', 'enabled': 0})
    job = lab.ok('GET', '/cluster/backup/nightly')
    assert job['pool'] == 'lab' and 'vmid' not in job and 'comment' not in job and job['enabled'] == 0
    lab.ok('PUT', '/cluster/backup/nightly', data={'vmid': '9000'})
    job = lab.ok('GET', '/cluster/backup/nightly')
    assert job['vmid'] == '9000' and 'pool' not in job
    assert lab.ok('DELETE', '/cluster/backup/nightly') is None
    status, _data, errors = lab.api('GET', '/cluster/backup/nightly')
    assert status == 400 and errors == {'id': "No such job 'nightly'"}
    status, _data, message = lab.api('PUT', '/cluster/backup/nightly', data={'comment': 'x'})
    assert status == 500 and message.endswith('no such vzdump job\n')


def test_backup_job_validation(lab):
    status, _data, errors = lab.api('POST', '/cluster/backup', data={'id': 'j1', 'all': 1})
    assert status == 400 and errors == {'schedule': "neither 'starttime' nor 'schedule' were set"}
    status, _data, errors = lab.api('POST', '/cluster/backup', data={'id': 'j1', 'schedule': 'daily'})
    assert status == 400 and errors == {'vmid': 'property is missing'}
    status, _data, errors = lab.api('POST', '/cluster/backup', data={'id': 'j1', 'schedule': 'daily', 'all': 1,
                                                                     'vmid': '100'})
    assert status == 400 and errors == {'all': "option conflicts with option 'vmid'"}
    status, _data, errors = lab.api('POST', '/cluster/backup', data={'id': 'j1', 'schedule': 'daily', 'all': 1,
                                                                     'prune-backups': 'keep-fortnightly=2'})
    assert status == 400 and 'prune-backups' in errors
    status, _data, message = lab.api('POST', '/cluster/backup', data={'id': 'j1', 'schedule': 'daily', 'pool': 'nope'})
    assert status == 403 and message == "Permission check failed (pool 'nope' does not exist)\n"
    # The deprecated starttime and dow become a schedule.
    lab.ok('POST', '/cluster/backup', data={'id': 'legacy', 'starttime': '02:30', 'dow': 'sat,sun', 'all': 1})
    assert lab.ok('GET', '/cluster/backup/legacy')['schedule'] == 'sat,sun 02:30'


# ------------------------------------------------------------------------- resize


def test_qemu_resize_grows_and_refuses_shrink(lab):
    upid = lab.ok('POST', '/nodes/pve1/qemu/9000/clone', data={'newid': 101, 'name': 'web1', 'full': 1})
    assert lab.wait(upid) == 'OK'
    upid = lab.ok('PUT', '/nodes/pve1/qemu/101/resize', data={'disk': 'scsi0', 'size': '+2G'})
    assert upid.startswith('UPID:pve1:') and ':resize:101:' in upid
    assert lab.wait(upid) == 'OK'
    assert 'size=10G' in lab.ok('GET', '/nodes/pve1/qemu/101/config')['scsi0']
    upid = lab.ok('PUT', '/nodes/pve1/qemu/101/resize', data={'disk': 'scsi0', 'size': '16G'})
    assert lab.wait(upid) == 'OK'
    assert 'size=16G' in lab.ok('GET', '/nodes/pve1/qemu/101/config')['scsi0']
    maxdisk = next(r for r in lab.ok('GET', '/cluster/resources', params={'type': 'vm'}) if r['vmid'] == 101)
    assert maxdisk['maxdisk'] == 16 * 1024 ** 3
    # A shrink is a task error with PVE's words; the config keeps its size.
    upid = lab.ok('PUT', '/nodes/pve1/qemu/101/resize', data={'disk': 'scsi0', 'size': '8G'})
    assert lab.wait(upid) == 'shrinking disks is not supported'
    assert 'size=16G' in lab.ok('GET', '/nodes/pve1/qemu/101/config')['scsi0']
    upid = lab.ok('PUT', '/nodes/pve1/qemu/101/resize', data={'disk': 'ide2', 'size': '+1G'})
    assert lab.wait(upid) == "you can't resize a cdrom"
    upid = lab.ok('PUT', '/nodes/pve1/qemu/101/resize', data={'disk': 'scsi5', 'size': '+1G'})
    assert lab.wait(upid) == "disk 'scsi5' does not exist"


def test_lxc_resize(lab):
    upid = lab.ok('POST', '/nodes/pve1/lxc/9100/clone', data={'newid': 201, 'hostname': 'ct1', 'full': 1})
    assert lab.wait(upid) == 'OK'
    upid = lab.ok('PUT', '/nodes/pve1/lxc/201/resize', data={'disk': 'rootfs', 'size': '+1G'})
    assert lab.wait(upid) == 'OK'
    assert 'size=5G' in lab.ok('GET', '/nodes/pve1/lxc/201/config')['rootfs']
    status, _data, message = lab.api('PUT', '/nodes/pve1/lxc/201/resize', data={'disk': 'rootfs', 'size': '2G'})
    assert status == 500 and message == 'unable to shrink disk size\n'


# ----------------------------------------------------------------- fidelity fixes


def test_config_merges_pending_and_is_typed(lab):
    lab.lab('POST', '/guests', {'vmid': 110, 'name': 'run1', 'status': 'running'})
    lab.ok('PUT', '/nodes/pve1/qemu/110/config', data={'cores': '4', 'onboot': 'true', 'cipassword': 'secret'})
    merged = lab.ok('GET', '/nodes/pve1/qemu/110/config')
    current = lab.ok('GET', '/nodes/pve1/qemu/110/config', params={'current': 1})
    assert merged['cores'] == 4 and current['cores'] == 2
    assert merged['onboot'] == 1 and merged['memory'] == '2048'
    assert merged['cipassword'] == '**********'
    pending = {p['key']: p for p in lab.ok('GET', '/nodes/pve1/qemu/110/pending')}
    assert pending['cores'] == {'key': 'cores', 'value': 2, 'pending': 4}


def test_clone_recreates_cloudinit_and_refuses_local_cross_node(lab):
    upid = lab.ok('POST', '/nodes/pve1/qemu/9000/clone', data={'newid': 102, 'full': 1})
    assert lab.wait(upid) == 'OK'
    config = lab.ok('GET', '/nodes/pve1/qemu/102/config')
    assert config['ide2'] == 'local-lvm:vm-102-cloudinit,media=cdrom'
    template = lab.ok('GET', '/nodes/pve1/qemu/9000/config')
    assert config['net0'].split(',')[0] != template['net0'].split(',')[0]
    status, _data, message = lab.api('POST', '/nodes/pve1/qemu/9000/clone',
                                     data={'newid': 103, 'full': 1, 'target': 'pve2', 'storage': 'ceph-rbd'})
    assert status == 500 and message == "can't clone VM to node 'pve2' (VM uses local storage)\n"
    upid = lab.ok('POST', '/nodes/pve1/qemu/9001/clone', data={'newid': 104, 'full': 1, 'target': 'pve2'})
    assert lab.wait(upid) == 'OK'
    assert lab.ok('GET', '/nodes/pve2/qemu/104/config')['ide2'] == 'ceph-rbd:vm-104-cloudinit,media=cdrom'


def test_net_without_mac_gets_one(lab):
    lab.lab('POST', '/guests', {'vmid': 111})
    lab.ok('PUT', '/nodes/pve1/qemu/111/config', data={'net1': 'virtio,bridge=vmbr0'})
    assert lab.ok('GET', '/nodes/pve1/qemu/111/config')['net1'].startswith('virtio=BC:24:11:')


# ------------------------------------------------------------------- control API


def test_control_needs_the_token(lab):
    assert lab.lab('POST', '/reset', headers={})[0] == 403
    assert lab.lab('POST', '/reset', headers={'X-Lab-Control': 'wrong'})[0] == 403
    assert lab.lab('POST', '/fault', {'kind': 'nonsense'})[0] == 400


def test_reset_restores_seeded_state(lab):
    upid = lab.ok('POST', '/nodes/pve1/qemu/9000/clone', data={'newid': 105, 'full': 1})
    assert lab.wait(upid) == 'OK'
    lab.ok('POST', '/cluster/backup', data={'id': 'job1', 'schedule': 'daily', 'all': 1})
    upid = lab.ok('POST', '/nodes/pve1/ceph/pool', data={'name': 'scratch'})
    assert lab.wait(upid) == 'OK'
    lab.lab('POST', '/fault', {'kind': 'lose_quorum'})
    status, body = lab.lab('POST', '/reset')
    assert status == 200 and body['seconds'] < 0.5
    vmids = sorted(r['vmid'] for r in lab.ok('GET', '/cluster/resources', params={'type': 'vm'}))
    assert vmids == [9000, 9001, 9100]
    assert lab.ok('GET', '/cluster/backup') == []
    assert [p['pool_name'] for p in lab.ok('GET', '/nodes/pve1/ceph/pool')] == ['.mgr', 'rbd']
    assert lab.ok('GET', '/cluster/status')[0]['quorate'] == 1
    state = lab.lab('GET', '/state')[1]
    assert state['failures'] == [] and [g['vmid'] for g in state['guests']] == [9000, 9001, 9100]


def test_faults(lab):
    lab.lab('POST', '/fault', {'kind': 'node_offline', 'node': 'pve2'})
    status, _data, message = lab.api('GET', '/nodes/pve2/qemu')
    assert status == 595
    assert [n['status'] for n in lab.ok('GET', '/nodes')] == ['online', 'offline', 'online']
    lab.lab('POST', '/fault', {'kind': 'lose_quorum'})
    status, _data, message = lab.api('POST', '/nodes/pve1/qemu/9000/clone', data={'newid': 106})
    assert status == 500 and message == 'cluster not ready - no quorum?\n'
    lab.lab('POST', '/fault', {'kind': 'clear'})
    assert lab.api('GET', '/nodes/pve2/qemu')[0] == 200
    lab.lab('POST', '/fault', {'kind': 'lock', 'vmid': 9000, 'lock': 'backup'})
    status, _data, message = lab.api('POST', '/nodes/pve1/qemu/9000/clone', data={'newid': 106})
    assert status == 500 and message == 'VM is locked (backup)\n'
    lab.lab('POST', '/fault', {'kind': 'unlock', 'vmid': 9000})
    lab.lab('POST', '/fault', {'kind': 'fail', 'method': 'GET', 'path': '/cluster/resources', 'status': 503,
                               'message': 'service unavailable', 'times': 1})
    assert lab.api('GET', '/cluster/resources')[0] == 503
    assert lab.api('GET', '/cluster/resources')[0] == 200
    lab.lab('POST', '/fault', {'kind': 'fail', 'method': 'POST', 'path': '/nodes/{node}/qemu/{vmid}/status/start',
                               'error': 'no_quorum'})
    assert lab.api('POST', '/nodes/pve1/qemu/9000/status/start')[2] == 'cluster not ready - no quorum?\n'
    status, body = lab.lab('POST', '/guests', {'guests': [{'vmid': 400, 'name': 'a'},
                                                          {'vmid': 401, 'type': 'lxc', 'name': 'b', 'node': 'pve3'}]})
    assert status == 200 and body['added'] == [400, 401]
    assert lab.lab('POST', '/guests', {'vmid': 400})[0] == 409


def test_redirect_and_fail_after_faults(lab):
    """What stands between client and PVE: a redirect answered in front of PVE (PVE never sees the request),
    and a gateway error after PVE did the request."""
    lab.lab('POST', '/fault', {'kind': 'redirect', 'method': 'GET', 'path': '/version', 'location': 'http://x.invalid/',
                               'times': 1})
    seen = len(lab.pve.requests)
    r = requests.get(lab.url + '/api2/json/version', headers=lab.root, verify=lab.ca, timeout=10, allow_redirects=False)
    assert r.status_code == 307 and r.headers['Location'] == 'http://x.invalid/'
    assert len(lab.pve.requests) == seen
    assert lab.api('GET', '/version')[0] == 200                      # times=1: gone
    assert lab.lab('POST', '/fault', {'kind': 'redirect', 'method': 'GET', 'path': '/version'})[0] == 400
    lab.lab('POST', '/fault', {'kind': 'fail_after', 'method': 'PUT', 'path': '/nodes/{node}/qemu/{vmid}/config',
                               'times': 1})
    status, _data, message = lab.api('PUT', '/nodes/pve1/qemu/9000/config', data={'description': 'done anyway'})
    assert status == 503 and 'Service Unavailable' in message
    assert lab.ok('GET', '/nodes/pve1/qemu/9000/config')['description'] == 'done anyway'
    lab.lab('POST', '/fault', {'kind': 'fail_after', 'method': 'PUT', 'path': '/nodes/pve1/qemu/9000/config',
                               'drop': True})
    with pytest.raises(requests.exceptions.ConnectionError):
        lab.api('PUT', '/nodes/pve1/qemu/9000/config', data={'description': 'dropped'})
    lab.lab('POST', '/fault', {'kind': 'clear'})
    assert lab.ok('GET', '/nodes/pve1/qemu/9000/config')['description'] == 'dropped'


def test_ticket_ttl(lab):
    lab.lab('POST', '/fault', {'kind': 'ticket_ttl', 'seconds': 0})
    r = requests.post(lab.url + '/api2/json/access/ticket', verify=lab.ca, timeout=10,
                      data={'username': 'root@pam', 'password': lab.creds['password']})
    ticket = r.json()['data']['ticket']
    r = requests.get(lab.url + '/api2/json/version', verify=lab.ca, timeout=10, cookies={'PVEAuthCookie': ticket})
    assert r.status_code == 401


def test_task_durations_and_hang(slow):
    upid = slow.ok('POST', '/nodes/pve1/qemu/9000/clone', data={'newid': 107, 'full': 1})
    assert slow.ok('GET', f'/nodes/pve1/tasks/{upid}/status')['status'] == 'running'
    config = slow.ok('GET', '/nodes/pve1/qemu/107/config')
    assert config['lock'] == 'clone'
    assert slow.wait(upid) == 'OK'
    assert 'lock' not in slow.ok('GET', '/nodes/pve1/qemu/107/config')
    status, _body = slow.lab('POST', '/fault', {'kind': 'task_hang', 'type': 'qmclone'})
    assert status == 200
    upid = slow.ok('POST', '/nodes/pve1/qemu/9000/clone', data={'newid': 108, 'full': 1})
    time.sleep(0.3)
    assert slow.ok('GET', f'/nodes/pve1/tasks/{upid}/status')['status'] == 'running'
    slow.lab('POST', '/fault', {'kind': 'task_release'})
    assert slow.wait(upid) == 'OK'

"""Tests of the fake PBS itself, run in-process over HTTPS with plain requests."""

import importlib.util
import os
import sys
import time
import urllib.parse

import pytest
import requests

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, HERE)

import pki  # noqa: E402
from pbs_schema import next_event, parse_calendar_event  # noqa: E402

# load server.py under a unique module name: other lab parts may have a 'server' module too
_spec = importlib.util.spec_from_file_location('nbsync_lab_fakepbs', os.path.join(HERE, 'server.py'))
_server = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_server)
FakePbs = _server.FakePbs


@pytest.fixture(scope='module')
def pbs(tmp_path_factory):
    pki_dir = str(tmp_path_factory.mktemp('pki'))
    saved, pki.PKI_DIR = pki.PKI_DIR, pki_dir
    try:
        certfile, keyfile, ca_file = pki.ensure_server_cert('pbs', ['127.0.0.1'])
    finally:
        pki.PKI_DIR = saved
    server = FakePbs('127.0.0.1', 0, certfile, keyfile, time_scale=0.02).start_in_thread()
    server.ca_file = ca_file
    yield server
    server.stop_in_thread()


class Client:
    """Minimal PBS client: verify= passed on every call (REQUESTS_CA_BUNDLE is set on this machine)."""

    def __init__(self, server, token=None, fmt='json'):
        self.server, self.base = server, f'{server.url}/api2/{fmt}'
        self.session = requests.Session()
        if token:
            self.session.headers['Authorization'] = 'PBSAPIToken=%s:%s' % (token, server.secrets[token])

    def __call__(self, method, path, **kw):
        return self.session.request(method, self.base + path, verify=self.server.ca_file, timeout=10, **kw)

    def data(self, method, path, **kw):
        resp = self(method, path, **kw)
        assert resp.status_code == 200, resp.text
        return resp.json()['data']

    def wait(self, upid, timeout=5):
        path = '/nodes/localhost/tasks/%s/status' % urllib.parse.quote(upid, safe='')
        deadline = time.time() + timeout
        while time.time() < deadline:
            status = self.data('GET', path)
            if status['status'] == 'stopped':
                return status
            time.sleep(0.02)
        raise AssertionError(f'task {upid} still running')


@pytest.fixture
def api(pbs):
    lab('POST', pbs, 'reset')
    return Client(pbs, 'root@pam!lab')


@pytest.fixture
def ro(pbs):
    return Client(pbs, 'audit@pbs!ro')


def lab(method, server, what, **kw):
    resp = requests.request(method, f'{server.url}/_lab/{what}', verify=server.ca_file, timeout=10,
                            headers={'X-Lab-Control': server.control_token}, **kw)
    assert resp.status_code == 200, resp.text
    return resp.json()


def test_version_and_formats(api):
    resp = api('GET', '/version')
    assert resp.headers['Content-Type'].startswith('application/json')
    assert set(resp.json()['data']) == {'version', 'release', 'repoid'}


def test_auth_failures(pbs):
    anon = Client(pbs)
    resp = anon('GET', '/version')
    assert (resp.status_code, resp.text) == (401, 'authentication failed')
    resp = anon('GET', '/version', headers={'Authorization': 'PBSAPIToken=root@pam!lab:wrong'})
    assert resp.status_code == 401
    resp = anon('GET', '/version', headers={'Authorization': 'PBSAPIToken=nobody@pbs!x:' + pbs.secrets['root@pam!lab']})
    assert resp.status_code == 401


def test_ticket_login_and_csrf(pbs, api):
    anon = Client(pbs)
    assert anon('POST', '/access/ticket', data={'username': 'root@pam', 'password': 'nope'}).status_code == 401
    ticket = anon.data('POST', '/access/ticket', data={'username': 'root@pam', 'password': pbs.passwords['root@pam']})
    assert ticket['username'] == 'root@pam' and ticket['ticket'].startswith('PBS:root@pam:')
    anon.session.cookies.set('PBSAuthCookie', urllib.parse.quote(ticket['ticket']))
    assert anon('GET', '/config/datastore').status_code == 200
    body = {'id': 'verify-two', 'store': 'store2'}
    assert anon('POST', '/config/verify', data=body).status_code == 401  # no CSRF token
    resp = anon('POST', '/config/verify', data=body, headers={'CSRFPreventionToken': ticket['CSRFPreventionToken']})
    assert resp.status_code == 200, resp.text


def test_permissions_readonly_token(api, ro):
    assert [d['name'] for d in ro.data('GET', '/config/datastore')] == ['store1', 'store2']
    assert ro.data('GET', '/config/remote') == []  # filtered: no Remote.Audit
    resp = ro('POST', '/config/datastore', data={'name': 'store3', 'path': '/backup/store3'})
    assert (resp.status_code, resp.text) == (403, 'permission check failed')
    resp = ro('PUT', '/config/datastore/store1', data={'comment': 'x'})
    assert resp.status_code == 403
    resp = ro('POST', '/config/verify', data={'id': 'v-ro', 'store': 'store1'})
    assert (resp.status_code, resp.text) == (400, "missing permissions 'Datastore.Verify' on '/datastore/store1'")
    resp = ro('POST', '/config/sync', data={'id': 'sync-ro', 'store': 'store1', 'remote-store': 'store2'})
    assert (resp.status_code, resp.text) == (400, 'permission check failed')
    resp = ro('POST', '/admin/verify/verify-store1/run')
    assert resp.status_code == 400 and 'Datastore.Verify' in resp.text
    assert ro.data('GET', '/admin/datastore/store1/status')['total'] > 0


def test_datastore_crud(api):
    upid = api.data('POST', '/config/datastore', data={'name': 'store3', 'path': '/backup/store3',
                                                       'prune-schedule': 'daily', 'keep-last': '3'})
    assert upid.startswith('UPID:') and ':create-datastore:store3:root@pam!lab:' in upid
    assert api.wait(upid)['exitstatus'] == 'OK'
    resp = api('GET', '/config/datastore/store3')
    store, digest = resp.json()['data'], resp.json()['digest']
    assert store == {'name': 'store3', 'path': '/backup/store3'}
    prune = [j for j in api.data('GET', '/config/prune') if j['store'] == 'store3']
    assert prune[0]['keep-last'] == 3 and prune[0]['id'].startswith('default-store3-')
    assert api('PUT', '/config/datastore/store3', data={'comment': 'new', 'digest': digest}).status_code == 200
    resp = api('PUT', '/config/datastore/store3', data={'comment': 'again', 'digest': digest})
    assert resp.status_code == 400 and 'detected modified configuration' in resp.text
    api.data('PUT', '/config/datastore/store3', data={'delete': 'comment', 'gc-schedule': 'sat 03:00'})
    assert api.data('GET', '/config/datastore/store3') == {'name': 'store3', 'path': '/backup/store3',
                                                           'gc-schedule': 'sat 03:00'}
    resp = api('POST', '/config/datastore', data={'name': 'store3', 'path': '/x'})
    assert resp.status_code == 400 and "'name': datastore 'store3' already exists." in resp.text
    assert api.wait(api.data('DELETE', '/config/datastore/store3'))['exitstatus'] == 'OK'
    resp = api('GET', '/config/datastore/store3')
    assert (resp.status_code, resp.text) == (400, "no such datastore 'store3'")
    assert api('DELETE', '/config/datastore/store3').status_code == 404
    assert [d['store'] for d in api.data('GET', '/admin/datastore')] == ['store1', 'store2']


def test_remote_crud(api):
    api.data('POST', '/config/remote', json={'name': 'remote2', 'host': 'pbs2.example.com', 'port': 8007,
                                             'auth-id': 'sync@pbs!tok', 'password': 'secret'})
    remote = api.data('GET', '/config/remote/remote2')
    assert 'password' not in remote and remote['port'] == 8007
    assert all('password' not in r for r in api.data('GET', '/config/remote'))
    api.data('PUT', '/config/remote/remote2', data={'password': 'rotated', 'delete': 'port'})
    assert 'port' not in api.data('GET', '/config/remote/remote2')
    resp = api('POST', '/config/remote', data={'name': 'bad', 'host': 'not a host', 'auth-id': 'nouser',
                                               'password': 'x'})
    assert resp.status_code == 400
    assert "'host': value does not match the regex pattern" in resp.text and "'auth-id'" in resp.text
    api.data('POST', '/config/sync', data={'id': 'sync-r2', 'store': 'store1', 'remote': 'remote2',
                                           'remote-store': 'store9'})
    resp = api('DELETE', '/config/remote/remote2')
    assert resp.status_code == 400 and "is used by sync job 'sync-r2'" in resp.text
    api.data('DELETE', '/config/sync/sync-r2')
    api.data('DELETE', '/config/remote/remote2')
    assert api('DELETE', '/config/remote/remote2').status_code == 404


def test_sync_crud(api):
    body = {'id': 'sync-1', 'store': 'store1', 'remote': 'pbs-remote', 'remote-store': 'store2',
            'schedule': 'hourly', 'remove-vanished': True, 'group-filter': ['type:vm', 'exclude:group:ct/100'],
            'rate-in': '10 MiB', 'transfer-last': 5, 'ns': 'a/b', 'max-depth': 2}
    api.data('POST', '/config/sync', json=body)
    assert api.data('GET', '/config/sync/sync-1') == body
    resp = api('POST', '/config/sync', json=body)
    assert resp.status_code == 400 and "'id': job 'sync-1' already exists." in resp.text
    digest = api('GET', '/config/sync').json()['digest']
    api.data('PUT', '/config/sync/sync-1', data=[('delete', 'group-filter'), ('delete', 'rate-in'),
                                                 ('comment', 'nightly'), ('digest', digest)])
    job = api.data('GET', '/config/sync/sync-1')
    assert 'group-filter' not in job and 'rate-in' not in job and job['comment'] == 'nightly'
    resp = api('PUT', '/config/sync/sync-1', data={'max-depth': '7'})
    assert resp.status_code == 400 and 'depth and recursion depth exceed limit' in resp.text
    resp = api('POST', '/config/sync', data={'id': 'sync-same', 'store': 'store1', 'remote-store': 'store1'})
    assert (resp.status_code, resp.text) == (400, "source and target datastore can't be the same")
    api.data('DELETE', '/config/sync/sync-1')
    resp = api('DELETE', '/config/sync/sync-1')
    assert (resp.status_code, resp.text) == (404, "job 'sync-1' does not exist.")
    resp = api('GET', '/config/sync/sync-1')
    assert (resp.status_code, resp.text) == (400, "no such sync 'sync-1'")


def test_verify_and_prune_crud(api):
    assert api.data('GET', '/config/verify')[0]['id'] == 'verify-store1'
    api.data('POST', '/config/verify', data={'id': 'verify-2', 'store': 'store2', 'schedule': 'sun 02:00',
                                             'ignore-verified': '1', 'outdated-after': '7'})
    assert api.data('GET', '/config/verify/verify-2')['outdated-after'] == 7
    api.data('PUT', '/config/verify/verify-2', data={'delete': 'outdated-after', 'max-depth': '3'})
    assert api.data('GET', '/config/verify/verify-2') == {'id': 'verify-2', 'store': 'store2',
                                                          'schedule': 'sun 02:00', 'ignore-verified': True,
                                                          'max-depth': 3}
    api.data('DELETE', '/config/verify/verify-2')
    resp = api('POST', '/config/prune', data={'id': 'prune-1', 'store': 'store1'})
    assert resp.status_code == 400 and "'schedule': parameter is missing and it is not optional." in resp.text
    api.data('POST', '/config/prune', json={'id': 'prune-1', 'store': 'store1', 'schedule': 'daily',
                                            'keep-daily': 7, 'keep-weekly': 4, 'disable': False})
    api.data('PUT', '/config/prune/prune-1', json={'keep-daily': 14, 'delete': ['keep-weekly']})
    assert api.data('GET', '/config/prune/prune-1') == {'id': 'prune-1', 'store': 'store1', 'schedule': 'daily',
                                                        'keep-daily': 14, 'disable': False}
    resp = api('PUT', '/config/prune/prune-1', json={'keep-daily': 0})
    assert "'keep-daily': value must have a minimum value of 1 (got 0)" in resp.text
    api.data('DELETE', '/config/prune/prune-1')
    resp = api('DELETE', '/config/prune/prune-1')
    assert (resp.status_code, resp.text) == (400, "no such prune 'prune-1'")


@pytest.mark.parametrize('field,value,message', [
    ('schedule', 'every blue moon', "'schedule': unable to parse calendar event at 'every blue moon'"),
    ('schedule', '25:00', "'schedule': unable to parse calendar event at '25:00' - time value too large"),
    ('id', 'bad id!', "'id': value does not match the regex pattern"),
    ('id', 'ab', "'id': value must be at least 3 characters long"),
    ('ns', 'a//b', "'ns': value does not match the regex pattern"),
    ('max-depth', '9', "'max-depth': value must have a maximum value of 7 (got 9)"),
    ('remove-vanished', 'maybe', "'remove-vanished': Unable to parse boolean option."),
    ('owner', 'root', "'owner': value does not match the regex pattern"),
    ('group-filter', 'kind:vm', "'group-filter': expected 'group', 'type' or 'regex' prefix, got 'kind'"),
    ('colour', 'blue', "'colour': schema does not allow additional properties."),
])
def test_validation_errors(api, field, value, message):
    body = {'id': 'sync-v', 'store': 'store1', 'remote-store': 'store2', 'remote': 'pbs-remote', field: value}
    resp = api('POST', '/config/sync', data=body)
    assert resp.status_code == 400
    assert resp.text.startswith('parameter verification failed - ') and message in resp.text


def test_validation_errors_json_and_extjs(pbs, api):
    body = {'id': 'x', 'store': 'store1', 'remote-store': 'store2', 'schedule': 'every blue moon',
            'max-depth': '3', 'remove-vanished': 1}
    resp = api('POST', '/config/sync', json=body)
    assert resp.status_code == 400 and resp.text.startswith('parameter verification failed:\n- ')
    extjs = Client(pbs, 'root@pam!lab', fmt='extjs')
    reply = extjs('POST', '/config/sync', json=body).json()
    assert reply['success'] is False and reply['status'] == 400
    assert set(reply['errors']) == {'id', 'schedule', 'max-depth', 'remove-vanished'}
    assert reply['errors']['max-depth'] == 'Expected integer value.'
    assert reply['errors']['remove-vanished'] == 'Expected boolean value.'


def test_run_sync_job_ok(api):
    api.data('POST', '/config/sync', data={'id': 'sync-run', 'store': 'store1', 'remote': 'pbs-remote',
                                           'remote-store': 'store2', 'schedule': 'daily'})
    upid = api.data('POST', '/admin/sync/sync-run/run')
    assert upid.startswith('UPID:pbs:') and ':syncjob:pbs\\x2dremote\\x3astore2\\x3astore1\\x3a\\x3async\\x2drun:' in upid
    status = api.wait(upid)
    assert status['exitstatus'] == 'OK' and status['type'] == 'syncjob' and status['user'] == 'root@pam'
    assert status['tokenid'] == 'lab'
    quoted = urllib.parse.quote(upid, safe='')
    log = api('GET', f'/nodes/localhost/tasks/{quoted}/log').json()
    assert log['data'][-1]['t'] == 'TASK OK' and log['total'] == len(log['data'])
    job = api.data('GET', '/admin/sync')[0]
    assert job['last-run-state'] == 'OK' and job['last-run-upid'] == upid and job['next-run'] > time.time()
    tasks = api.data('GET', '/nodes/localhost/tasks', params={'typefilter': 'syncjob'})
    assert tasks[0]['upid'] == upid and tasks[0]['status'] == 'OK'


def test_run_verify_prune_and_gc(api):
    assert api.wait(api.data('POST', '/admin/verify/verify-store1/run'))['exitstatus'] == 'OK'
    api.data('POST', '/config/prune', data={'id': 'prune-r', 'store': 'store2', 'schedule': 'daily',
                                            'keep-last': '1'})
    upid = api.data('POST', '/admin/prune/prune-r/run')
    assert ':prunejob:store2:' in upid and api.wait(upid)['exitstatus'] == 'OK'
    upid = api.data('POST', '/admin/datastore/store1/gc')
    assert ':garbage_collection:store1:' in upid and api.wait(upid)['exitstatus'] == 'OK'
    assert api.data('GET', '/admin/datastore/store1/gc')['upid'] == upid
    resp = api('POST', '/admin/datastore/nostore/gc')
    assert (resp.status_code, resp.text) == (400, "no such datastore 'nostore'")


def test_task_failure_fault(pbs, api):
    lab('POST', pbs, 'fault', json={'kind': 'task_fail', 'message': 'connection refused (os error 111)'})
    upid = api.data('POST', '/admin/verify/verify-store1/run')
    status = api.wait(upid)
    assert status['exitstatus'] == 'connection refused (os error 111)'
    quoted = urllib.parse.quote(upid, safe='')
    log = api.data('GET', f'/nodes/localhost/tasks/{quoted}/log')
    assert log[-1]['t'] == 'TASK ERROR: connection refused (os error 111)'
    assert api.data('GET', '/admin/verify')[0]['last-run-state'] == 'connection refused (os error 111)'
    assert api.data('GET', '/nodes/localhost/tasks', params={'errors': 1})[0]['upid'] == upid
    assert api.wait(api.data('POST', '/admin/verify/verify-store1/run'))['exitstatus'] == 'OK'  # one-shot


def test_task_hang_fault_and_stop(pbs, api):
    lab('POST', pbs, 'fault', json={'kind': 'task_hang'})
    upid = api.data('POST', '/admin/verify/verify-store1/run')
    quoted = urllib.parse.quote(upid, safe='')
    time.sleep(0.2)
    assert api.data('GET', f'/nodes/localhost/tasks/{quoted}/status')['status'] == 'running'
    resp = api('POST', '/admin/verify/verify-store1/run')
    assert resp.status_code == 400 and 'Unable to acquire lock' in resp.text
    assert api.data('GET', '/nodes/localhost/tasks', params={'running': 1})[0]['upid'] == upid
    api.data('DELETE', f'/nodes/localhost/tasks/{quoted}')
    assert api.wait(upid)['exitstatus'] == 'task aborted'


def test_lab_control(pbs, api):
    resp = requests.post(f'{pbs.url}/_lab/reset', verify=pbs.ca_file, timeout=10)
    assert resp.status_code == 403
    api.data('DELETE', '/config/verify/verify-store1')
    assert lab('GET', pbs, 'state')['config']['verification'] == {}
    state = lab('POST', pbs, 'reset')
    assert list(state['config']['verification']) == ['verify-store1']
    assert state['config']['remote']['pbs-remote']['auth-id'] == 'sync@pbs'
    secret = lab('POST', pbs, 'token', json={'auth_id': 'ops@pbs!t', 'acl': [['/datastore/store2', 'DatastoreAdmin']]})
    ops = requests.get(f'{pbs.url}/api2/json/config/datastore', verify=pbs.ca_file, timeout=10,
                       headers={'Authorization': f"PBSAPIToken=ops@pbs!t:{secret['secret']}"})
    assert [d['name'] for d in ops.json()['data']] == ['store2']


def test_http_faults_in_front_and_after(pbs, api):
    """Refused before acting; an HTML page or a redirect as a proxy would send; an error or a closed
    connection after PBS did the request."""
    lab('POST', pbs, 'fault', json={'kind': 'http', 'method': 'GET', 'path': '/config/datastore', 'status': 200,
                                    'html': True, 'message': '<title>Sign in</title>', 'times': 1})
    resp = api('GET', '/config/datastore')
    assert resp.status_code == 200 and resp.headers['Content-Type'].startswith('text/html')
    assert 'Sign in' in resp.text
    lab('POST', pbs, 'fault', json={'kind': 'http', 'method': 'GET', 'path': '/version',
                                    'location': 'https://portal.invalid/', 'times': 1})
    resp = api('GET', '/version', allow_redirects=False)
    assert resp.status_code == 307 and resp.headers['Location'] == 'https://portal.invalid/'
    lab('POST', pbs, 'fault', json={'kind': 'http', 'method': 'PUT', 'path': '/config/verify/verify-store1',
                                    'after': True, 'times': 1})
    resp = api('PUT', '/config/verify/verify-store1', data={'comment': 'done anyway'})
    assert resp.status_code == 503
    assert api.data('GET', '/config/verify/verify-store1')['comment'] == 'done anyway'
    lab('POST', pbs, 'fault', json={'kind': 'http', 'method': 'PUT', 'path': '/config/verify/verify-store1',
                                    'after': True, 'drop': True, 'times': 1})
    with pytest.raises(requests.exceptions.ConnectionError):
        api('PUT', '/config/verify/verify-store1', data={'comment': 'dropped'})
    assert api.data('GET', '/config/verify/verify-store1')['comment'] == 'dropped'


def test_unknown_path_and_bad_upid(api):
    assert api('GET', '/config/nothing').status_code == 404
    resp = api('GET', '/nodes/localhost/tasks/UPID%3Ajunk/status')
    assert resp.status_code == 400 and "'upid'" in resp.text


@pytest.mark.parametrize('text', ['daily', 'hourly', 'mon..fri 08:00', '*:0/15', 'sat 02:00', '2030-01-01',
                                  '*-*-01 03:00', 'mon,wed,fri 03:00:30', 'weekly UTC', '0/2:00', 'quarterly'])
def test_calendar_valid(text):
    event = parse_calendar_event(text)
    assert next_event(event, time.time()) is not None


@pytest.mark.parametrize('text', ['every blue moon', '', '24:00', '12:60', 'mon..funday', 'daily at noon',
                                  '5..3:00'])
def test_calendar_invalid(text):
    with pytest.raises(ValueError, match='unable to parse calendar event'):
        parse_calendar_event(text)


def test_next_event_values():
    base = 1767225600  # 2026-01-01 00:00:00 UTC, a Thursday
    assert next_event(parse_calendar_event('daily UTC'), base) == base + 86400
    assert next_event(parse_calendar_event('*:0/15 UTC'), base) == base + 900
    assert next_event(parse_calendar_event('sat 02:00 UTC'), base) == base + 2 * 86400 + 7200


def _proximo_pbs_rows():
    """PBS API rows from the proximo-proxmox package's data file (Apache-2.0), if installed; not imported."""
    import gzip
    import json
    spec = importlib.util.find_spec('proximo')
    if spec is None or not spec.submodule_search_locations:
        pytest.skip('proximo-proxmox not installed (optional schema cross-check)')
    path = os.path.join(spec.submodule_search_locations[0], 'core', 'proximo.json.gz')
    with gzip.open(path) as handle:
        return {(r['method'], r['path']): r['params'] for r in json.load(handle)['rows'] if r['product'] == 'pbs'}


def test_schema_matches_pbs_api_viewer(pbs):
    """Every route we serve exists in PBS, with the same parameter names and required set."""
    import re
    rows = _proximo_pbs_rows()
    for method, pattern, _handler, schema, required, _perm in pbs._routes:
        path = re.sub(r'\(\?P<(\w+)>\[\^/\]\+\)', r'{\1}', pattern)
        assert (method, path) in rows, (method, path)
        real = rows[(method, path)]
        assert set(schema) == set(real), (method, path, set(schema) ^ set(real))
        assert required == {k for k, v in real.items() if not v['optional']}, (method, path)

"""The Proxmox VE client against the lab's fakepve: auth, TLS, tasks, retries, typed errors."""

import os
import time

import pytest

from ansible_collections.nbsync.proxmox.plugins.module_utils import _errors as E
from ansible_collections.nbsync.proxmox.plugins.module_utils._pve_client import PveClient

TEMPLATE = 9000


@pytest.fixture
def client(pve_params):
    return lambda _lab=None, **overrides: PveClient.from_params(pve_params(**overrides))


def test_token_auth_reads_the_cluster(pve_lab, client):
    pve = client(pve_lab)
    assert pve.version()['version']
    assert sorted(n['node'] for n in pve.nodes()) == ['pve1', 'pve2', 'pve3']
    template = pve.find_guest(vmid=TEMPLATE)
    assert template['name'] == 'debian12-cloudinit' and template['node'] == 'pve1'


def test_one_string_token_form(pve_lab, client):
    tok = pve_lab['token']
    pve = PveClient.from_params(dict(api_host=pve_lab['host'], api_port=pve_lab['port'], ca_path=pve_lab['ca_file'],
                                     api_token='{user}!{token_id}={secret}'.format(**tok)))
    assert pve.version()['version']


def test_wrong_token_is_a_clear_error_without_the_secret(pve_lab, client):
    wrong = 'deadbeef-0000-4000-8000-00000000c0de'
    with pytest.raises(E.AuthenticationFailed) as info:
        client(pve_lab, api_token_secret=wrong).version()
    text = str(info.value) + repr(info.value.to_dict())
    assert '{user}!{token_id}'.format(**pve_lab['token']) in text
    assert wrong not in text and pve_lab['token']['secret'] not in text


def test_password_auth_renews_an_expired_ticket(pve_lab, pve_control, client):
    pve = client(pve_lab, api_token_id=None, api_token_secret=None, api_user=pve_lab['user'],
                 api_password=pve_lab['password'])
    assert pve.version()
    pve_control.fault('ticket_ttl', seconds=1)
    pve.transport.auth._ticket = None   # take a ticket that lives one second
    assert pve.nodes()
    time.sleep(1.2)
    assert pve.nodes()   # the server answered 401 (expired); the client logged in again


def test_wrong_password_names_the_user_only(pve_lab, client):
    with pytest.raises(E.AuthenticationFailed) as info:
        client(pve_lab, api_token_id=None, api_token_secret=None, api_user='root@pam',
               api_password='not-the-password-123').version()
    assert 'root@pam' in str(info.value) and 'not-the-password-123' not in str(info.value)


# ------------------------------------------------------------------------------------------------ TLS

def test_tls_is_verified_by_default(pve_lab, client):
    """No ca_path: the system bundle does not trust the lab CA, so the call must fail."""
    with pytest.raises(E.TLSError) as info:
        client(pve_lab, ca_path=None).version()
    assert 'ca_path' in str(info.value)


def test_ca_file_wins_over_requests_ca_bundle(pve_lab, monkeypatch, client):
    """requests lets REQUESTS_CA_BUNDLE override Session.verify; our ca_path must still be used."""
    monkeypatch.setenv('REQUESTS_CA_BUNDLE', os.path.join(os.path.dirname(pve_lab['ca_file']), 'wrong-ca.pem'))
    assert client(pve_lab).version()


def test_wrong_ca_fails_clearly(pve_lab, client):
    wrong = os.path.join(os.path.dirname(pve_lab['ca_file']), 'wrong-ca.pem')
    with pytest.raises(E.TLSError) as info:
        client(pve_lab, ca_path=wrong).version()
    assert 'certificate verify failed' in str(info.value)


def test_fingerprint_pinning(pve_lab, client):
    assert client(pve_lab, ca_path=None, fingerprint=pve_lab['fingerprint']).version()
    other = 'AB:' * 31 + 'CD'
    with pytest.raises(E.TLSError) as info:
        client(pve_lab, ca_path=None, fingerprint=other).version()
    assert 'fingerprint' in str(info.value)


def test_validate_certs_false_connects(pve_lab, client):
    assert client(pve_lab, ca_path=None, validate_certs=False).version()


# ---------------------------------------------------------------------------------------------- tasks

def _clone(pve, newid, **extra):
    data = dict(newid=newid, name='it-clone-{0}'.format(newid), full=1)
    data.update(extra)
    return pve.post('/nodes/pve1/qemu/{0}/clone'.format(TEMPLATE), data=data)


def test_clone_task_is_waited_on_by_upid(pve_lab, pve_control, client):
    pve = client(pve_lab)
    upid = _clone(pve, 4101)
    assert upid.startswith('UPID:pve1:')
    assert pve.find_guest(vmid=4101) is None or pve.find_guest(vmid=4101).get('lock')   # still cloning
    status = pve.wait_for_task(upid, timeout=30)
    assert status['exitstatus'] == 'OK'
    assert pve.find_guest(vmid=4101)['name'] == 'it-clone-4101'


def test_failing_task_raises_with_its_exit_status(pve_lab, pve_control, client):
    pve = client(pve_lab)
    pve_control.call('guests', {'vmid': 4102, 'name': 'it-broken', 'type': 'qemu'})
    pve_control.fault('start_error', vmid=4102, message='kvm: cannot allocate memory')
    upid = pve.post('/nodes/pve1/qemu/4102/status/start')
    with pytest.raises(E.TaskFailed) as info:
        pve.wait_for_task(upid, timeout=30)
    assert 'kvm: cannot allocate memory' in info.value.exitstatus
    assert 'kvm: cannot allocate memory' in str(info.value)
    assert any('TASK ERROR' in line for line in info.value.log_tail)


def test_stuck_task_times_out_at_its_deadline(pve_lab, pve_control, client):
    pve = client(pve_lab)
    pve_control.fault('task_hang', type='qmclone')
    upid = _clone(pve, 4103)
    started = time.monotonic()
    with pytest.raises(E.TaskTimeout) as info:
        pve.wait_for_task(upid, timeout=1.5)
    elapsed = time.monotonic() - started
    assert 1.5 <= elapsed < 2.5, elapsed
    assert info.value.upid == upid and 'still running after 1.5 s' in str(info.value)
    pve_control.fault('task_release', type='qmclone')


# --------------------------------------------------------------------------------- retries and errors

def test_lock_contention_is_retried_then_succeeds(pve_lab, pve_control, client):
    pve = client(pve_lab)
    path = '/nodes/pve1/qemu/{0}/config'.format(TEMPLATE)
    pve_control.fault('fail', method='PUT', path=path, error='config_lock_timeout', times=2)
    pve.transport.backoff = 0.05
    before = pve.transport.request_count
    pve.put(path, data={'description': 'retried'})
    assert pve.transport.request_count - before == 3          # two refusals, then success
    assert pve.guest_config('pve1', 'qemu', TEMPLATE)['description'] == 'retried'


def test_lock_contention_gives_up_after_retries(pve_lab, pve_control, client):
    pve = client(pve_lab, retries=2)
    path = '/nodes/pve1/qemu/{0}/config'.format(TEMPLATE)
    pve_control.fault('fail', method='PUT', path=path, error='config_lock_timeout')
    pve.transport.backoff = 0.01
    with pytest.raises(E.Locked) as info:
        pve.put(path, data={'description': 'never'})
    assert 'got timeout' in str(info.value)


def test_create_is_not_retried_after_a_gateway_error(pve_lab, pve_control, client):
    pve = client(pve_lab)
    pve_control.fault('fail', method='POST', path='/nodes/pve1/qemu/{0}/clone'.format(TEMPLATE), status=502,
                      message='Bad Gateway', times=1)
    before = pve.transport.request_count
    with pytest.raises(E.Unavailable):
        _clone(pve, 4104)
    assert pve.transport.request_count - before == 1


def test_permission_denied_names_privilege_and_path(pve_lab, pve_control, client):
    pve_control.call('guests', {'vmid': 4105, 'name': 'outside-pool', 'type': 'qemu'})
    limited = client(pve_lab, token='limited_token')
    with pytest.raises(E.PermissionDenied) as info:
        limited.post('/nodes/pve1/qemu/4105/status/start')
    assert (info.value.acl_path, info.value.privilege) == ('/vms/4105', 'VM.PowerMgmt')
    assert 'grant VM.PowerMgmt on /vms/4105' in str(info.value)


def test_missing_guest_is_not_found(pve_lab, client):
    with pytest.raises(E.NotFound):
        client(pve_lab).guest_config('pve1', 'qemu', 999999)
    assert client(pve_lab).find_guest(vmid=999999) is None


def test_offline_node_is_unavailable(pve_lab, pve_control, client):
    pve = client(pve_lab, retries=1)
    pve.transport.backoff = 0.01
    pve_control.fault('node_offline', node='pve3')
    with pytest.raises(E.Unavailable) as info:
        pve.node_status('pve3')
    assert 'No route to host' in str(info.value)
    with pytest.raises(E.Unavailable) as info:
        pve.require_node_online('pve3')
    assert 'pve3' in str(info.value)


def test_a_transient_gateway_error_on_a_read_is_retried_then_succeeds(pve_lab, pve_control, client):
    pve = client(pve_lab)
    pve_control.fault('fail', method='GET', path='/version', status=503, message='Service Unavailable', times=2)
    pve.transport.backoff = 0.05
    before = pve.transport.request_count
    assert pve.version()['version']
    assert pve.transport.request_count - before == 3          # two 503s, then the answer


# ----------------------------------------------------------------- what stands between (proxies, portals)

PORTAL_PAGE = '<html><head><title>Sign in to the guest network</title></head><body>portal</body></html>'


def test_a_login_page_instead_of_json_is_an_error_not_an_empty_cluster(pve_lab, pve_control, client):
    """A proxy's or captive portal's page with HTTP 200 is no answer of PVE's: read as 'no data', the
    cluster would look empty (and a sync would plan to create every guest)."""
    pve = client(pve_lab)
    pve_control.fault('fail', method='GET', path='/cluster/resources', status=200, message=PORTAL_PAGE, html=True)
    with pytest.raises(E.UnexpectedResponse) as info:
        pve.guests()
    text = str(info.value)
    assert isinstance(info.value, E.ServerError)
    assert 'Proxmox VE' in text and '{0}:{1}'.format(pve_lab['host'], pve_lab['port']) in text
    assert 'GET /cluster/resources' in text and 'Sign in to the guest network' in text
    assert 'proxy' in text and 'api_host' in text


def test_a_redirect_is_not_followed_with_the_login_form(pve_lab, pve_control, client, canned_server):
    """A 307 answer to the login would make requests POST the user and password to wherever it points."""
    elsewhere = canned_server(status=200, body='{"data": {"ticket": "stolen", "CSRFPreventionToken": "x"}}',
                              content_type='application/json')
    pve_control.fault('redirect', method='POST', path='/access/ticket', status=307,
                      location=elsewhere.url + '/api2/json/access/ticket')
    pve = client(pve_lab, api_token_id=None, api_token_secret=None, api_user=pve_lab['user'],
                 api_password=pve_lab['password'])
    with pytest.raises(E.UnexpectedResponse) as info:
        pve.version()
    assert elsewhere.hits == []                              # nothing, password least of all, went there
    text = str(info.value)
    assert 'POST /access/ticket' in text and 'HTTP 307' in text and elsewhere.url in text
    assert 'not followed' in text and pve_lab['password'] not in text
    assert info.value.location.startswith(elsewhere.url)


def test_a_redirect_is_not_followed_with_the_ticket(pve_lab, pve_control, client, canned_server):
    elsewhere = canned_server(status=200, body='{"data": []}', content_type='application/json')
    pve = client(pve_lab, api_token_id=None, api_token_secret=None, api_user=pve_lab['user'],
                 api_password=pve_lab['password'])
    assert pve.version()                                      # logged in: a ticket cookie is held
    pve_control.fault('redirect', method='GET', path='/nodes', status=302, location=elsewhere.url + '/nodes')
    with pytest.raises(E.UnexpectedResponse) as info:
        pve.nodes()
    assert elsewhere.hits == []                              # the ticket cookie went nowhere
    assert 'HTTP 302' in str(info.value) and 'GET /nodes' in str(info.value)


def test_a_wrong_password_is_tried_once(pve_lab, pve_control, client):
    """fail2ban and PVE's own delay count failed logins: a refused login is not repeated."""
    before = pve_control.count('POST', '/access/ticket')
    with pytest.raises(E.AuthenticationFailed):
        client(pve_lab, api_token_id=None, api_token_secret=None, api_user='root@pam',
               api_password='not-the-password-123').version()
    assert pve_control.count('POST', '/access/ticket') - before == 1


# ------------------------------------------------------------------------------------ task deadlines

def test_a_task_deadline_holds_while_the_status_read_is_refused(pve_lab, pve_control, client):
    """A status read that meets 503s is retried with backoff (0.5, 1, 2, 4 s): the wait's deadline bounds
    those retries too, so the TaskTimeout comes at the deadline, not seconds after it."""
    pve = client(pve_lab)                     # retries=4, default backoff
    pve_control.fault('task_hang', type='qmclone')
    upid = _clone(pve, 4107)
    pve_control.fault('fail', method='GET', path='/nodes/{node}/tasks/{upid}/status', status=503,
                      message='Service Unavailable')
    started = time.monotonic()
    with pytest.raises(E.TaskTimeout) as info:
        pve.wait_for_task(upid, timeout=1)
    elapsed = time.monotonic() - started
    assert 1.0 <= elapsed < 2.0, elapsed
    assert info.value.upid == upid and 'Service Unavailable' in str(info.value)   # why it is not known
    pve_control.fault('task_release', type='qmclone')


def test_a_task_deadline_holds_when_the_status_read_hangs(pve_lab, pve_control, client):
    """A status read that gets no answer waits the read timeout (60 s) unless the deadline cuts it short."""
    pve = client(pve_lab)
    pve_control.fault('task_hang', type='qmclone')
    upid = _clone(pve, 4108)
    pve_control.fault('flaky_network', hang_rate=1.0, hang_secs=200)   # 10 s at the lab's time scale
    started = time.monotonic()
    with pytest.raises(E.TaskTimeout) as info:
        pve.wait_for_task(upid, timeout=1)
    elapsed = time.monotonic() - started
    assert 1.0 <= elapsed < 2.0, elapsed
    assert info.value.upid == upid

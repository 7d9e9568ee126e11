"""The Proxmox Backup Server client against the lab's PBS fake."""

import os

import pytest

from ansible_collections.nbsync.proxmox.plugins.module_utils import _errors as E
from ansible_collections.nbsync.proxmox.plugins.module_utils._pbs_client import PbsClient


@pytest.fixture(scope='session')
def pbs_params(pbs_lab):
    def make(token='token', **overrides):
        tok = pbs_lab[token]
        params = dict(pbs_api_host=pbs_lab['host'], pbs_api_port=pbs_lab['port'], pbs_api_user=tok['user'],
                      pbs_api_token_id=tok['token_id'], pbs_api_token_secret=tok['secret'],
                      pbs_ca_path=pbs_lab['ca_file'], retries=2)
        params.update(overrides)
        return params
    return make


def test_token_auth_lists_datastores(pbs_params):
    pbs = PbsClient.from_params(pbs_params())
    assert pbs.version()['version']
    assert {'store1', 'store2'} <= {d['name'] for d in pbs.datastores()}


def test_one_string_token_form(pbs_lab, pbs_params):
    tok = pbs_lab['token']
    params = pbs_params(pbs_api_token_id=None, pbs_api_token_secret=None, pbs_api_user=None,
                        pbs_api_token='{user}!{token_id}:{secret}'.format(**tok))
    assert PbsClient.from_params(params).datastores()


def test_password_login(pbs_lab, pbs_params):
    params = pbs_params(pbs_api_token_id=None, pbs_api_token_secret=None, pbs_api_user=pbs_lab['user'],
                        pbs_api_password=pbs_lab['password'])
    assert PbsClient.from_params(params).datastores()


def test_wrong_token_is_clear_and_secret_free(pbs_lab, pbs_params):
    wrong = 'not-the-secret-1234'
    with pytest.raises(E.AuthenticationFailed) as info:
        PbsClient.from_params(pbs_params(pbs_api_token_secret=wrong)).datastores()
    assert '{user}!{token_id}'.format(**pbs_lab['token']) in str(info.value)
    assert wrong not in str(info.value)


def test_tls_default_on_and_wrong_ca(pbs_lab, pbs_params):
    with pytest.raises(E.TLSError):
        PbsClient.from_params(pbs_params(pbs_ca_path=None)).version()
    wrong = os.path.join(os.path.dirname(pbs_lab['ca_file']), 'wrong-ca.pem')
    with pytest.raises(E.TLSError):
        PbsClient.from_params(pbs_params(pbs_ca_path=wrong)).version()
    assert PbsClient.from_params(pbs_params(pbs_ca_path=None, pbs_fingerprint=pbs_lab['fingerprint'])).version()


def test_missing_datastore_is_not_found(pbs_params):
    with pytest.raises(E.NotFound) as info:
        PbsClient.from_params(pbs_params()).get('/config/datastore/nope')
    assert "no such datastore 'nope'" in str(info.value)


def test_read_only_token_is_denied_with_privilege(pbs_params, pbs_control):
    ro = PbsClient.from_params(pbs_params(token='readonly_token'))
    with pytest.raises(E.PermissionDenied) as info:
        ro.post('/config/verify', data={'id': 'it-verify-ro', 'store': 'store1'})
    assert info.value.privilege == 'Datastore.Verify'
    assert info.value.acl_path == '/datastore/store1'
    assert 'grant Datastore.Verify on /datastore/store1' in str(info.value)


def test_invalid_schedule_carries_pbs_message(pbs_params, pbs_control):
    pbs = PbsClient.from_params(pbs_params())
    with pytest.raises(E.InvalidRequest) as info:
        pbs.post('/config/verify', data={'id': 'it-bad', 'store': 'store1', 'schedule': 'every blue moon'})
    assert 'schedule' in str(info.value) and 'every blue moon' in str(info.value)


def test_job_run_is_waited_on_and_digest_read(pbs_params, pbs_control):
    pbs = PbsClient.from_params(pbs_params())
    pbs.post('/config/verify', data={'id': 'it-verify', 'store': 'store1', 'schedule': 'daily'})
    data, digest = pbs.transport.get_with_digest('/config/verify/it-verify')
    assert data['store'] == 'store1' and len(digest) == 64
    upid = pbs.post('/admin/verify/it-verify/run')
    assert pbs.wait_for_task(upid, timeout=30)['exitstatus'] == 'OK'


def test_failing_task_raises_with_exit_status(pbs_params, pbs_control):
    pbs = PbsClient.from_params(pbs_params())
    pbs_control.fault('task_fail', message='verification failed - chunk missing')
    upid = pbs.post('/admin/verify/verify-store1/run')
    with pytest.raises(E.TaskFailed) as info:
        pbs.wait_for_task(upid, timeout=30)
    assert 'chunk missing' in info.value.exitstatus


def test_stuck_task_times_out(pbs_params, pbs_control):
    import time
    pbs = PbsClient.from_params(pbs_params())
    pbs_control.fault('task_hang')
    upid = pbs.post('/admin/verify/verify-store1/run')
    started = time.monotonic()
    with pytest.raises(E.TaskTimeout):
        pbs.wait_for_task(upid, timeout=1.0)
    assert 1.0 <= time.monotonic() - started < 2.0


def test_a_config_lock_refusal_is_retried_then_the_create_goes_through(pbs_params, pbs_control):
    """PBS refuses a config write while another writer holds its lock ('Unable to acquire lock ...'): the
    request did nothing, so even a create is repeated; the third attempt makes the job, once."""
    pbs = PbsClient.from_params(pbs_params())
    pbs.transport.backoff = 0.05
    pbs_control.fault('http', method='POST', path='/config/verify', status=400, times=2,
                      message='Unable to acquire lock "/etc/proxmox-backup/.verify.lck" - Interrupted system call')
    before = pbs.transport.request_count
    pbs.post('/config/verify', data={'id': 'it-locked', 'store': 'store1'})
    assert pbs.transport.request_count - before == 3
    assert [j['id'] for j in pbs.get('/config/verify') if j['id'] == 'it-locked'] == ['it-locked']


def test_a_gateway_error_on_a_read_is_retried_but_not_on_a_create(pbs_params, pbs_control):
    pbs = PbsClient.from_params(pbs_params())
    pbs.transport.backoff = 0.05
    pbs_control.fault('http', method='GET', path='/config/datastore', status=503, times=1,
                      message='Service Unavailable')
    assert pbs.get('/config/datastore')                            # retried, answered
    pbs_control.fault('http', method='POST', path='/config/verify', status=503, times=1,
                      message='Service Unavailable')
    before = pbs.transport.request_count
    with pytest.raises(E.Unavailable):
        pbs.post('/config/verify', data={'id': 'it-once', 'store': 'store1'})
    assert pbs.transport.request_count - before == 1                # a create that may have acted: once


# ----------------------------------------------------------------- what stands between (proxies, portals)

def test_a_login_page_instead_of_json_is_an_error_not_an_empty_list(pbs_lab, pbs_params, pbs_control):
    pbs = PbsClient.from_params(pbs_params())
    pbs_control.fault('http', method='GET', path='/config/datastore', status=200, html=True,
                      message='<html><head><title>Captive portal</title></head></html>')
    with pytest.raises(E.UnexpectedResponse) as info:
        pbs.datastores()
    text = str(info.value)
    assert 'Proxmox Backup Server' in text and '{0}:{1}'.format(pbs_lab['host'], pbs_lab['port']) in text
    assert 'GET /config/datastore' in text and 'Captive portal' in text
    assert 'proxy' in text and 'pbs_api_host' in text


def test_a_redirect_of_the_login_is_not_followed(pbs_lab, pbs_params, pbs_control, canned_server):
    elsewhere = canned_server(status=200, body='{"data": {"ticket": "x", "CSRFPreventionToken": "y"}}',
                              content_type='application/json')
    pbs_control.fault('http', method='POST', path='/access/ticket', status=308,
                      location=elsewhere.url + '/api2/json/access/ticket')
    params = pbs_params(pbs_api_token_id=None, pbs_api_token_secret=None, pbs_api_user=pbs_lab['user'],
                        pbs_api_password=pbs_lab['password'])
    with pytest.raises(E.UnexpectedResponse) as info:
        PbsClient.from_params(params).datastores()
    assert elsewhere.hits == []                              # the password went nowhere else
    assert 'HTTP 308' in str(info.value) and elsewhere.url in str(info.value) and 'not followed' in str(info.value)


# ------------------------------------------------------------------- writes with a digest are done once

@pytest.mark.parametrize('action', ['update', 'delete'])
@pytest.mark.parametrize('gateway', [{'status': 503}, {'status': 504}, {'drop': True}], ids=['503', '504', 'dropped'])
def test_a_write_with_a_digest_is_not_repeated_once_it_may_have_been_done(pbs_params, pbs_control, action, gateway):
    """PBS did the write, then the answer was lost (a gateway error, a connection broken after sending).
    Repeated, the write would meet its own change: PBS refuses the stale digest ('detected modified
    configuration'), which would read as someone else's change. So it is sent once and the error says what
    happened."""
    from ansible_collections.nbsync.proxmox.plugins.module_utils._pbs_jobs import ensure_job
    pbs = PbsClient.from_params(pbs_params(retries=4))
    pbs.transport.backoff = 0.05
    pbs.post('/config/verify', data={'id': 'it-digest', 'store': 'store1', 'schedule': 'daily'})
    method = 'PUT' if action == 'update' else 'DELETE'
    pbs_control.fault('http', method=method, path='/config/verify/it-digest', after=True, times=1, **gateway)
    before = pbs.transport.request_count
    with pytest.raises(E.Unavailable) as info:
        if action == 'update':
            ensure_job(pbs, 'verify', 'it-digest', {'schedule': 'hourly'})
        else:
            ensure_job(pbs, 'verify', 'it-digest', {}, state='absent')
    assert "verify job 'it-digest'" in str(info.value)
    assert pbs.transport.request_count - before == 2          # the read, and the write once
    jobs = dict((j['id'], j) for j in pbs.get('/config/verify'))
    if action == 'update':
        assert jobs['it-digest']['schedule'] == 'hourly'        # done, once
    else:
        assert 'it-digest' not in jobs


def test_a_write_with_a_digest_refused_for_the_lock_is_repeated(pbs_params, pbs_control):
    """A config-lock refusal did nothing: that one is repeated, digest and all."""
    from ansible_collections.nbsync.proxmox.plugins.module_utils._pbs_jobs import ensure_job
    pbs = PbsClient.from_params(pbs_params())
    pbs.transport.backoff = 0.05
    pbs.post('/config/verify', data={'id': 'it-digest-lock', 'store': 'store1', 'schedule': 'daily'})
    pbs_control.fault('http', method='PUT', path='/config/verify/it-digest-lock', status=400, times=1,
                      message='Unable to acquire lock "/etc/proxmox-backup/.verify.lck" - Interrupted system call')
    result = ensure_job(pbs, 'verify', 'it-digest-lock', {'schedule': 'hourly'})
    assert result['changed'] and result['job']['schedule'] == 'hourly'

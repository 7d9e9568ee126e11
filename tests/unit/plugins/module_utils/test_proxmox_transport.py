"""Pure logic of the transport: error typing, retry policy, task deadline. No server needed."""

import pytest

from ansible_collections.nbsync.proxmox.plugins.module_utils import _errors as E
from ansible_collections.nbsync.proxmox.plugins.module_utils._proxmox_transport import (
    ProxmoxTransport, TaskWaiter, TokenAuth, normalize_fingerprint, upid_node,
)
from ansible_collections.nbsync.proxmox.plugins.module_utils._pve_client import pve_auth, split_token
from ansible_collections.nbsync.proxmox.plugins.module_utils import _pbs_client

SECRET = '0b7f1c52-1111-4222-8333-944455556666'


def transport(**kwargs):
    auth = TokenAuth('PVEAPIToken', '=', 'root@pam', 'lab', SECRET)
    return ProxmoxTransport('127.0.0.1', 8006, auth, **kwargs)


@pytest.mark.parametrize('status, message, expected', [
    (400, 'Parameter verification failed.', E.InvalidRequest),
    (401, 'authentication failure', E.AuthenticationFailed),
    (403, 'Permission check failed (/vms/100, VM.Clone)', E.PermissionDenied),
    (500, "Configuration file 'nodes/pve1/qemu-server/100.conf' does not exist", E.NotFound),
    (500, "can't lock file '/var/lock/qemu-server/lock-100.conf' - got timeout", E.Locked),
    (500, 'VM is locked (snapshot)', E.Locked),
    (400, 'Unable to acquire lock "/etc/proxmox-backup/.sync.lck" - Interrupted system call', E.Locked),   # PBS
    (500, 'cluster not ready - no quorum?', E.Unavailable),
    (595, 'No route to host', E.Unavailable),
    (503, 'Service Unavailable', E.Unavailable),
    (500, 'something else broke', E.ServerError),
])
def test_classify_types_every_answer(status, message, expected):
    err = transport().classify(status, message, None, 'GET', '/nodes/pve1/qemu/100/config')
    assert type(err) is expected  # pylint: disable=unidiomatic-typecheck  # exactly that class, not a subclass
    assert '/nodes/pve1/qemu/100/config' in str(err)


def test_permission_denied_names_path_and_privilege():
    err = transport().classify(403, 'Permission check failed (/vms/100, VM.Clone)', None, 'POST', '/x')
    assert (err.acl_path, err.privilege) == ('/vms/100', 'VM.Clone')
    assert 'grant VM.Clone on /vms/100' in str(err)


def test_bad_request_carries_field_errors():
    err = transport().classify(400, 'Parameter verification failed.', {'memory': 'value must be >= 16\n'}, 'PUT', '/x')
    assert err.field_errors == {'memory': 'value must be >= 16'}
    assert 'memory: value must be >= 16' in str(err)


def test_auth_error_names_token_never_secret():
    err = transport().classify(401, 'authentication failure', None, 'GET', '/version')
    assert 'root@pam!lab' in str(err)
    assert SECRET not in str(err) and SECRET not in repr(err.to_dict())
    assert SECRET not in repr(transport().auth)


def test_retry_policy():
    lock = transport().classify(500, "can't lock file '/var/lock/qemu-server/lock-1.conf' - got timeout", None,
                                'POST', '/x')
    held = transport().classify(500, 'VM is locked (backup)', None, 'PUT', '/x')
    gateway = transport().classify(502, 'Bad Gateway', None, 'POST', '/x')
    tls = E.TLSError('bad cert')
    refused = E.Unavailable('refused')
    refused.not_sent = True
    assert ProxmoxTransport._may_retry(lock, retry_safe=False)          # refused before acting: safe even for POST
    assert not ProxmoxTransport._may_retry(held, retry_safe=True)       # a held lock is a state, not a glitch
    assert not ProxmoxTransport._may_retry(gateway, retry_safe=False)   # a POST that may have created: never
    assert ProxmoxTransport._may_retry(gateway, retry_safe=True)
    assert ProxmoxTransport._may_retry(refused, retry_safe=False)
    assert not ProxmoxTransport._may_retry(tls, retry_safe=True)


def test_token_forms():
    assert split_token('ansible@pve!ci=' + SECRET) == ('ansible@pve', 'ci', SECRET)
    with pytest.raises(E.ConfigurationError) as info:
        split_token('ansible@pve:' + SECRET)
    assert SECRET not in str(info.value)
    assert _pbs_client.split_token('sync@pbs!job:' + SECRET) == ('sync@pbs', 'job', SECRET)
    auth = pve_auth(api_user='a@pve', api_token_id='a@pve!t', api_token_secret=SECRET)
    assert auth.token_id == 't'
    with pytest.raises(E.ConfigurationError):
        pve_auth(api_user='a@pve')


def test_fingerprint_forms():
    fp = 'AB:' * 31 + 'CD'
    assert normalize_fingerprint(fp) == ('ab' * 31) + 'cd'
    with pytest.raises(E.ConfigurationError):
        normalize_fingerprint('AB:CD')


def test_upid_node():
    assert upid_node('UPID:pve2:0000A1B2:00C3D4E5:6543210F:qmclone:100:root@pam:') == 'pve2'
    with pytest.raises(ValueError):
        upid_node('nonsense')


class _Clock:
    def __init__(self):
        self.now = 1000.0
        self.sleeps = []

    def __call__(self):
        return self.now

    def sleep(self, secs):
        self.sleeps.append(secs)
        self.now += secs


class _TaskApi:
    """Stands in for the transport's get(): a task that stops after `polls` polls (or never)."""

    def __init__(self, polls=None, exitstatus='OK'):
        self.polls = polls
        self.exitstatus = exitstatus
        self.calls = 0

    def get(self, path, params=None, deadline=None):
        if path.endswith('/log'):
            return [{'n': i, 't': 'line {0}'.format(i)} for i in range(30)] + [{'n': 30, 't': 'TASK ERROR: boom'}]
        self.calls += 1
        if self.polls is not None and self.calls >= self.polls:
            return {'status': 'stopped', 'exitstatus': self.exitstatus, 'type': 'qmclone'}
        return {'status': 'running', 'type': 'qmclone'}


UPID = 'UPID:pve1:00001234:00005678:65432100:qmclone:9000:root@pam:'


def test_wait_returns_when_task_stops_ok():
    clock = _Clock()
    api = _TaskApi(polls=4)
    assert TaskWaiter(api, clock=clock, sleep=clock.sleep).wait(UPID, 30)['exitstatus'] == 'OK'
    assert clock.sleeps == [0.05, 0.1, 0.2]   # backoff, not a fixed sleep


def test_wait_raises_task_failed_with_exit_status_and_log():
    clock = _Clock()
    with pytest.raises(E.TaskFailed) as info:
        TaskWaiter(_TaskApi(polls=2, exitstatus='clone failed: no space'), clock=clock, sleep=clock.sleep).wait(UPID, 30)
    assert info.value.exitstatus == 'clone failed: no space'
    assert info.value.log_tail[-1] == 'TASK ERROR: boom' and len(info.value.log_tail) == 10
    assert 'clone failed: no space' in str(info.value)


def test_wait_stops_at_the_deadline_not_later():
    clock = _Clock()
    with pytest.raises(E.TaskTimeout) as info:
        TaskWaiter(_TaskApi(polls=None), clock=clock, sleep=clock.sleep).wait(UPID, 7.5)
    assert clock.now - 1000.0 == pytest.approx(7.5)
    assert max(clock.sleeps) <= 2.0
    assert info.value.upid == UPID


def test_warnings_exit_status_is_success():
    clock = _Clock()
    assert TaskWaiter(_TaskApi(polls=1, exitstatus='WARNINGS: 2'), clock=clock, sleep=clock.sleep).wait(UPID, 5)

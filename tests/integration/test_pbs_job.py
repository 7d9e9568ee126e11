"""pbs_job / pbs_datastore_info logic against the lab's PBS: what a playbook cannot easily show
(API-call counts, optimistic locking with the digest, the wait deadline)."""

import time

import pytest

from ansible_collections.nbsync.proxmox.plugins.module_utils import _errors as E
from ansible_collections.nbsync.proxmox.plugins.module_utils import _pbs_jobs as J
from ansible_collections.nbsync.proxmox.plugins.module_utils._pbs_client import PbsClient


@pytest.fixture
def pbs(pbs_lab, pbs_control):
    tok = pbs_lab['token']
    return PbsClient.from_params(dict(pbs_api_host=pbs_lab['host'], pbs_api_port=pbs_lab['port'],
                                      pbs_api_user=tok['user'], pbs_api_token_id=tok['token_id'],
                                      pbs_api_token_secret=tok['secret'], pbs_ca_path=pbs_lab['ca_file'], retries=2))


def opts(**kw):
    out = dict((k, None) for k in J.FIELDS)
    out.update(kw)
    return out


def test_datastore_facts_use_bulk_calls_whatever_the_store_count(pbs):
    for i in range(3):   # more stores must not mean more calls
        upid = pbs.post('/config/datastore', data={'name': 'bulk{0}'.format(i), 'path': '/backup/bulk{0}'.format(i)})
        pbs.wait_for_task(upid, 30)
    before = pbs.transport.request_count
    facts = J.datastore_facts(pbs, job_types=['sync', 'verify', 'prune'])
    assert pbs.transport.request_count - before == 2 + 3
    assert len(facts) == 5 and all(f['usage'] is not None for f in facts)
    before = pbs.transport.request_count
    J.datastore_facts(pbs)
    assert pbs.transport.request_count - before == 2


def test_unchanged_job_is_one_read(pbs):
    before = pbs.transport.request_count
    result = J.ensure_job(pbs, 'verify', 'verify-store1', opts(schedule='daily', outdated_after='30'))
    assert not result['changed']
    assert pbs.transport.request_count - before == 1


def test_a_concurrent_change_is_not_overwritten(pbs):
    actual, digest = J.read_job(pbs, 'verify', 'verify-store1')
    plan = J.plan_job('verify', 'verify-store1', opts(schedule='hourly'), actual=actual)
    pbs.put('/config/verify/verify-store1', data={'comment': 'changed by someone else'})
    with pytest.raises(E.NbsyncError) as info:
        J.apply_plan(pbs, plan, digest)
    assert 'detected modified configuration' in str(info.value)
    assert "verify job 'verify-store1'" in str(info.value)
    now, _digest = J.read_job(pbs, 'verify', 'verify-store1')
    assert now['schedule'] == 'daily' and now['comment'] == 'changed by someone else'


def test_run_now_waits_on_a_deadline(pbs, pbs_control):
    pbs_control.fault('task_hang')
    start = time.monotonic()
    with pytest.raises(E.TaskTimeout) as info:
        J.ensure_job(pbs, 'verify', 'verify-store1', opts(), run_now=True, timeout=1.5)
    elapsed = time.monotonic() - start
    assert 1.5 <= elapsed < 4, elapsed
    assert info.value.upid and ':verificationjob:' in info.value.upid

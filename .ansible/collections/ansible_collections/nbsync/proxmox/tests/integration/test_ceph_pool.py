"""ceph_pool's logic against the lab's PVE: what a playbook can't easily show (API-call counts, task deadlines)."""

import time

import pytest

from ansible_collections.nbsync.proxmox.plugins.module_utils import _errors as E
from ansible_collections.nbsync.proxmox.plugins.module_utils._ceph import run_info, run_pool
from ansible_collections.nbsync.proxmox.plugins.module_utils._pve_client import PveClient


@pytest.fixture
def client(pve_params, pve_control):
    """A root-token client; pve_control resets the lab after the test."""
    return PveClient.from_params(pve_params())


def _params(**over):
    base = dict(name='countpool', state='present', node=None, add_storages=False, force=False, timeout=60)
    base.update(over)
    return base


def test_an_unchanged_run_costs_three_reads(client):
    run_pool(client, _params(size=3, min_size=2, pg_num=32, pg_autoscale_mode='warn'))
    before = client.transport.request_count
    result = run_pool(client, _params(size=3, min_size=2, pg_num=32, pg_autoscale_mode='warn'))
    assert result['changed'] is False
    assert client.transport.request_count - before == 3   # /nodes, the pool list, /storage


def test_info_is_three_calls_however_many_pools(client):
    for i in range(6):
        run_pool(client, _params(name='many{0}'.format(i), pg_num=8, pg_autoscale_mode='off'))
    before = client.transport.request_count
    info = run_info(client, {})
    assert client.transport.request_count - before == 3
    assert len([p for p in info['pools'] if p['name'].startswith('many')]) == 6


def test_a_hung_create_stops_at_the_deadline(client, pve_control):
    pve_control.fault('task_hang', type='cephcreatepool')
    started = time.monotonic()
    with pytest.raises(E.TaskTimeout) as err:
        run_pool(client, _params(name='hungpool', timeout=2))
    elapsed = time.monotonic() - started
    assert 2 <= elapsed < 8
    assert 'cephcreatepool' in err.value.upid
    pve_control.fault('task_release')


def test_ceph_down_is_one_clear_error_before_any_write(client, pve_control):
    pve_control.fault('ceph_down')
    before = client.transport.request_count
    with pytest.raises(E.NbsyncError) as err:
        run_pool(client, _params(name='downpool', size=3))
    assert 'rados_connect failed' in str(err.value)
    assert client.transport.request_count - before == 2   # /nodes, then the pool list fails; nothing written

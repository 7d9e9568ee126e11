"""proxmox_snapshot's module_utils against the lab: what a playbook cannot easily show (API calls, timing)."""

import threading
import time

import pytest
import requests

from ansible_collections.nbsync.proxmox.plugins.module_utils._errors import Locked
from ansible_collections.nbsync.proxmox.plugins.module_utils._pve_client import PveClient
from ansible_collections.nbsync.proxmox.plugins.module_utils._snapshot import SnapshotRunner, plan


@pytest.fixture
def guests(pve_control):
    pve_control.call('guests', {'guests': [
        {'vmid': 300, 'name': 'snap-count', 'type': 'qemu', 'status': 'running'},
        {'vmid': 301, 'name': 'snap-lock', 'type': 'lxc'},
    ]})
    return pve_control


def recorded(pve_lab):
    response = requests.get(pve_lab['control_url'].rstrip('/') + '/requests', params={'last': 1000},
                            headers={'X-Lab-Control': pve_lab['control_token']}, verify=pve_lab['ca_file'],
                            timeout=30)
    assert response.status_code == 200, response.text
    return response.json()


def test_by_name_reads_the_cluster_once_and_lists_once(guests, pve_lab, pve_params):
    runner = SnapshotRunner(PveClient.from_params(pve_params()), timeout=60)
    before = len(recorded(pve_lab))
    guest = runner.resolve(name='snap-count')
    snapshots, parent = runner.snapshots(guest)
    actions = plan({'state': 'present', 'snapname': 'counted', 'retention': None}, snapshots, parent)[0]
    runner.apply(guest, actions)
    calls = recorded(pve_lab)[before:]
    paths = [(c['method'], c['path'].split('?')[0]) for c in calls]
    assert paths.count(('GET', '/api2/json/cluster/resources')) == 1
    assert paths.count(('GET', '/api2/json/nodes/pve1/qemu/300/snapshot')) == 1
    assert paths.count(('POST', '/api2/json/nodes/pve1/qemu/300/snapshot')) == 1
    # nothing per guest beyond the snapshot calls and the task polls
    others = [p for p in paths if '/qemu/300/snapshot' not in p[1] and '/tasks/' not in p[1]
              and p[1] != '/api2/json/cluster/resources']
    assert others == []
    assert 'counted' in [s['name'] for s in runner.snapshots(guest)[0]]


def test_lock_released_midway_is_waited_for(guests, pve_params):
    guests.fault('lock', vmid=301, lock='backup')
    timer = threading.Timer(2.0, guests.fault, args=('unlock',), kwargs={'vmid': 301})
    timer.start()
    try:
        runner = SnapshotRunner(PveClient.from_params(pve_params()), timeout=30)
        guest = runner.resolve(vmid=301)
        started = time.monotonic()
        runner.apply(guest, plan({'state': 'present', 'snapname': 'waited'}, [], kind='lxc')[0])
        took = time.monotonic() - started
    finally:
        timer.cancel()
    assert 2.0 <= took < 12.0
    assert [s['name'] for s in runner.snapshots(guest)[0]] == ['waited']


def test_lock_that_stays_fails_at_the_deadline_not_later(guests, pve_lab, pve_params):
    guests.fault('lock', vmid=301, lock='snapshot-delete')
    runner = SnapshotRunner(PveClient.from_params(pve_params()), timeout=5)
    guest = runner.resolve(vmid=301)
    before = len(recorded(pve_lab))
    started = time.monotonic()
    with pytest.raises(Locked) as err:
        runner.apply(guest, plan({'state': 'present', 'snapname': 'never'}, [], kind='lxc')[0])
    took = time.monotonic() - started
    assert 3.0 <= took <= 5.5
    assert 'snapshot-delete' in str(err.value) and 'pct unlock 301' in str(err.value)
    posts = [c for c in recorded(pve_lab)[before:] if c['method'] == 'POST']
    assert 2 <= len(posts) <= 6          # backoff, not a busy loop

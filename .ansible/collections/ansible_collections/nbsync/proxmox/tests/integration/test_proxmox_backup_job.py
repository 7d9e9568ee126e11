"""proxmox_backup_job against the lab, for what a playbook cannot easily show: the API calls it makes.

The server's own request log (``/_lab/requests``) is the witness: a bad storage costs one ``/storage``
read and no write; an unchanged job costs one list read; a create is one POST and one read-back.
"""

import pytest
import requests

from ansible_collections.nbsync.proxmox.plugins.module_utils._backup_jobs import ensure_job
from ansible_collections.nbsync.proxmox.plugins.module_utils._errors import InvalidRequest, NotFound
from ansible_collections.nbsync.proxmox.plugins.module_utils._pve_client import PveClient


def server_log(pve_lab):
    response = requests.get(pve_lab['control_url'].rstrip('/') + '/requests', params={'last': 1000},
                            headers={'X-Lab-Control': pve_lab['control_token']}, verify=pve_lab['ca_file'], timeout=30)
    assert response.status_code == 200, response.text
    return [(r['method'], r['path'].split('/api2/json', 1)[-1]) for r in response.json()]


def job(**kw):
    base = dict(id='nbsync-calls', state='present', unset=[])
    base.update(kw)
    return base


@pytest.fixture
def client(pve_params, pve_control):
    pve_control.reset()   # empties the request log too
    return PveClient.from_params(pve_params())


def test_bad_storage_costs_one_storage_read_and_no_write(client, pve_lab):
    with pytest.raises(NotFound, match="storage 'no-such-store' does not exist"):
        ensure_job(client, job(schedule='daily', all=True, storage='no-such-store'))
    with pytest.raises(InvalidRequest, match="storage 'local-lvm' does not hold backups"):
        ensure_job(client, job(schedule='daily', all=True, storage='local-lvm'))
    assert server_log(pve_lab) == [('GET', '/cluster/backup'), ('GET', '/storage')] * 2


def test_create_then_unchanged_calls(client, pve_lab):
    ensure_job(client, job(schedule='21:00', vmids=[9000], storage='pbs-store', retention=dict(keep_last=2)))
    assert server_log(pve_lab) == [('GET', '/cluster/backup'), ('GET', '/storage'), ('POST', '/cluster/backup'),
                                   ('GET', '/cluster/backup')]
    before = len(server_log(pve_lab))
    result = ensure_job(client, job(schedule='21:00', vmids=[9000], storage='pbs-store', retention=dict(keep_last=2)))
    assert not result['changed']
    assert server_log(pve_lab)[before:] == [('GET', '/cluster/backup')]


def test_local_refusal_makes_no_call(client, pve_lab):
    with pytest.raises(InvalidRequest, match='vmids and all: true cannot both be set'):
        ensure_job(client, job(schedule='daily', vmids=[9000], all=True))
    assert server_log(pve_lab) == []

"""proxmox_vm_clone's writes against the lab PVE: a write that allocates is not repeated after it may have been done."""

import pytest

from ansible_collections.nbsync.proxmox.plugins.module_utils import _errors as E
from ansible_collections.nbsync.proxmox.plugins.module_utils._pve_client import PveClient
from ansible_collections.nbsync.proxmox.plugins.module_utils._vm_clone import GuestManager


@pytest.fixture
def pve(pve_params):
    client = PveClient.from_params(pve_params())
    client.transport.backoff = 0.05
    return client


@pytest.mark.parametrize('gateway', [{'status': 503}, {'status': 502}, {'drop': True}], ids=['503', '502', 'dropped'])
def test_a_container_config_that_allocates_a_volume_is_sent_once(pve, pve_control, gateway):
    """PUT .../lxc/{vmid}/config with mp0=local-lvm:2 allocates a volume; PVE did it, then the answer was
    lost. Repeated, the PUT would allocate a second volume and leave the first behind on the storage."""
    pve_control.call('guests', {'vmid': 4301, 'name': 'it-ct-mp', 'type': 'lxc'})
    pve_control.fault('fail_after', method='PUT', path='/nodes/{node}/lxc/{vmid}/config', times=1, **gateway)
    before = pve_control.count('PUT', '/lxc/4301/config')
    params = dict(vmid=4301, type='lxc', state='present', timeout=60,
                  disks=[{'name': 'mp0', 'size': '2G', 'mp': '/srv', 'storage': 'local-lvm'}])
    with pytest.raises(E.Unavailable):
        GuestManager(pve, params).run()
    assert pve_control.count('PUT', '/lxc/4301/config') - before == 1
    config = pve.guest_config('pve1', 'lxc', 4301)
    assert config['mp0'].startswith('local-lvm:') and 'mp=/srv' in config['mp0']
    assert not [k for k in config if k.startswith('unused')]
    volumes = [v['volid'] for v in pve.get('/nodes/pve1/storage/local-lvm/content', params={'vmid': 4301})]
    assert len(volumes) == 2, volumes                               # rootfs and one mount point, not two


def test_a_container_config_without_a_new_volume_is_still_repeated(pve, pve_control):
    """Setting values is safe to repeat: that PUT keeps its retries."""
    pve_control.call('guests', {'vmid': 4302, 'name': 'it-ct-mem', 'type': 'lxc'})
    pve_control.fault('fail_after', method='PUT', path='/nodes/{node}/lxc/{vmid}/config', times=1)
    before = pve_control.count('PUT', '/lxc/4302/config')
    result = GuestManager(pve, dict(vmid=4302, type='lxc', state='present', timeout=60, memory=768)).run()
    assert result['changed']
    assert pve_control.count('PUT', '/lxc/4302/config') - before == 2
    assert int(pve.guest_config('pve1', 'lxc', 4302)['memory']) == 768

"""plan -> apply -> plan is empty, driven through the real executor against the lab (real NetBox, the lab's PVE).

Hypothesis generates a VM (QEMU or container; NICs with and without a VLAN whose prefix allocates addresses;
disks), a change in NetBox (an interface removed, one added that sorts first, a disk removed and one
added, names re-ordered) and a final status (every status). Each step is a whole run of the reconciler
the module uses; after each, a fresh plan of the VM must be empty, no two NICs of the guest may share a
MAC, every NetBox interface must be the guest NIC its recorded slot names (same MAC), every disk the
slot recorded for it (same size), and every interface on a VLAN has exactly one address.
"""

import uuid

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from ansible_collections.nbsync.proxmox.plugins.module_utils._guest_plan import mac_addresses
from ansible_collections.nbsync.proxmox.plugins.module_utils._netbox_client import NetBoxClient
from ansible_collections.nbsync.proxmox.plugins.module_utils._netbox_reader import NetBoxReader
from ansible_collections.nbsync.proxmox.plugins.module_utils._pve_client import PveClient
from ansible_collections.nbsync.proxmox.plugins.module_utils._pve_codecs import parse_size
from ansible_collections.nbsync.proxmox.plugins.module_utils._reconcile import Reconciler

TAG = uuid.uuid4().hex[:6]
CLUSTER = 'prop-{0}'.format(TAG)
NET = 10 + int(TAG[:2], 16) % 200
DEFAULTS = {'template': 'debian12-cloudinit', 'storage': 'local-lvm', 'bridge': 'vmbr0', 'ciuser': 'ops',
            'clusters': {CLUSTER: {}}}
MIB = 1024 * 1024


class _World(dict):
    """The module's NetBox and PVE; its repr (shown by hypothesis on a failure) carries no token."""

    def __repr__(self):
        return '<world of cluster {0}>'.format(self['cluster']['name'])


@pytest.fixture(scope='module')
def world(lab):
    import requests
    nb = NetBoxClient(lab['netbox']['url'], lab['netbox']['token'])
    tok = lab['pve']['token']
    params = dict(api_host=lab['pve']['host'], api_port=lab['pve']['port'], api_user=tok['user'],
                  api_token_id=tok['token_id'], api_token_secret=tok['secret'], ca_path=lab['pve']['ca_file'])
    control = dict(headers={'X-Lab-Control': lab['pve']['control_token']}, verify=lab['pve']['ca_file'], timeout=30)
    requests.post(lab['pve']['control_url'] + '/reset', json={}, **control).raise_for_status()
    NetBoxReader(nb).ensure_custom_fields()
    ctype = nb.get('virtualization.cluster_types', slug='proxmox')
    cluster = nb.create('virtualization.clusters', [{'name': CLUSTER, 'type': ctype['id']}])[0]
    vlan = nb.create('ipam.vlans', [{'vid': 40, 'name': 'prop-v40-' + TAG}])[0]
    prefix = nb.create('ipam.prefixes', [{'prefix': '10.{0}.40.0/24'.format(NET), 'vlan': vlan['id'],
                                          'custom_fields': {'proxmox_gateway': '10.{0}.40.1'.format(NET)}}])[0]
    yield _World(nb=nb, pve=PveClient.from_params(params), params=params, cluster=cluster, vlan=vlan, prefix=prefix)
    for vm in nb.list('virtualization.virtual_machines', cluster_id=cluster['id']):
        nb.delete('virtualization.virtual_machines', [vm['id']])
    nb.delete('ipam.ip_addresses', [i['id'] for i in nb.list('ipam.ip_addresses', parent=prefix['prefix'])])
    nb.delete('ipam.prefixes', [prefix['id']])
    nb.delete('ipam.vlans', [vlan['id']])
    nb.delete('virtualization.clusters', [cluster['id']])
    requests.post(lab['pve']['control_url'] + '/reset', json={}, **control).raise_for_status()


def _run(world, name, check=False):
    params = world['params']
    rec = Reconciler(world['nb'], lambda _c: PveClient.from_params(params), defaults=DEFAULTS, check_mode=check,
                     allow_delete=True, timeout=120, shutdown_timeout=10, force_stop=True)
    return rec.run(clusters=[CLUSTER], names=[name])


def _fresh_plan(world, name):
    params = world['params']
    rec = Reconciler(world['nb'], lambda _c: PveClient.from_params(params), defaults=DEFAULTS, allow_delete=True)
    return rec.prepare([CLUSTER], names=[name])


def _check_converged(world, name, status):
    """A fresh plan is empty, and the guest is what NetBox says, object by object."""
    nb, pve = world['nb'], world['pve']
    plans = _fresh_plan(world, name)
    if status == 'decommissioning':
        assert plans == [] and pve.find_guest(name=name) is None
        return
    (plan,) = plans
    expected = 'skip' if status in ('failed', 'planned') else 'noop'
    assert plan.action == expected, (plan.action, plan.reasons, plan.error)
    vm = nb.get('virtualization.virtual_machines', cluster_id=world['cluster']['id'], name=name)
    guest = pve.find_guest(vmid=vm['custom_fields']['proxmox_vmid'])
    assert guest is not None and guest['name'] == name
    config = pve.guest_config(guest['node'], guest['type'], guest['vmid'], current=False)
    macs = mac_addresses(config)
    assert len(set(m.upper() for m in macs.values())) == len(macs), macs           # never one MAC twice
    for iface in nb.list('virtualization.interfaces', virtual_machine_id=vm['id']):
        slot = iface['custom_fields']['proxmox_slot']
        assert slot in macs, (iface['name'], slot, sorted(macs))
        assert iface['primary_mac_address']['mac_address'].upper() == macs[slot].upper()
        ips = nb.list('ipam.ip_addresses', vminterface_id=iface['id'])
        if iface.get('untagged_vlan'):
            assert len(ips) == 1 and ips[0]['address'] != world['prefix']['custom_fields']['proxmox_gateway'] + '/24'
            if guest['type'] == 'qemu':
                assert config['ipconfig' + slot[3:]].startswith('ip=' + ips[0]['address'])
    for disk in nb.list('virtualization.virtual_disks', virtual_machine_id=vm['id']):
        slot = disk['custom_fields']['proxmox_slot']
        size = [p.split('=', 1)[1] for p in config[slot].split(',') if p.startswith('size=')][0]
        assert parse_size(size) == disk['size'] * MIB, (disk['name'], slot, config[slot])


NIC = st.tuples(st.sampled_from(['eth', 'lan', 'mgmt']), st.booleans())      # (name stem, on the VLAN)
STATUSES = ['planned', 'staged', 'active', 'offline', 'paused', 'failed', 'decommissioning']


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                HealthCheck.too_slow])
@given(kind=st.sampled_from(['qemu', 'lxc']), start=st.sampled_from(['staged', 'active', 'offline']),
       nics=st.lists(NIC, min_size=1, max_size=3), extra_disks=st.lists(st.sampled_from([1024, 2048]), max_size=2),
       drop_nic=st.integers(0, 2), drop_disk=st.booleans(), final=st.sampled_from(STATUSES))
def test_plan_apply_plan_is_empty_through_the_real_executor(
        world, kind, start, nics, extra_disks, drop_nic, drop_disk, final):
    if kind == 'lxc' and final == 'paused':
        final = 'offline'           # containers cannot be paused (a refusal of its own, tested elsewhere)
    nb = world['nb']
    name = 'p{0}-{1}'.format(uuid.uuid4().hex[:5], TAG)
    cf = {'proxmox_type': 'lxc', 'proxmox_template': 'debian12-lxc'} if kind == 'lxc' else {}
    vm = nb.create('virtualization.virtual_machines', [{'name': name, 'cluster': world['cluster']['id'], 'status': start,
                                                       'vcpus': 1, 'memory': 512, 'custom_fields': cf}])[0]
    ifaces = nb.create('virtualization.interfaces', [
        dict({'virtual_machine': vm['id'], 'name': '{0}{1}'.format(stem, i)},
             **({'mode': 'access', 'untagged_vlan': world['vlan']['id']} if on_vlan else {}))
        for i, (stem, on_vlan) in enumerate(nics)])
    disks = nb.create('virtualization.virtual_disks', [{'virtual_machine': vm['id'], 'name': 'b-root', 'size': 10240}] +
                      [{'virtual_machine': vm['id'], 'name': 'c-data{0}'.format(i), 'size': size}
                       for i, size in enumerate(extra_disks)])
    try:
        first = _run(world, name)
        assert first['summary']['failed'] == 0, first['vms']
        _check_converged(world, name, start)
        # NetBox changes: an interface goes, a new one that sorts first comes; a disk goes, one comes.
        if len(ifaces) > 1:
            nb.delete('virtualization.interfaces', [ifaces[drop_nic % len(ifaces)]['id']])
        nb.create('virtualization.interfaces', [{'virtual_machine': vm['id'], 'name': 'a-new', 'mode': 'access',
                                                 'untagged_vlan': world['vlan']['id']}])
        if drop_disk and len(disks) > 1:
            nb.delete('virtualization.virtual_disks', [disks[1]['id']])
        nb.create('virtualization.virtual_disks', [{'virtual_machine': vm['id'], 'name': 'a-new', 'size': 1024}])
        second = _run(world, name)
        assert second['summary']['failed'] == 0, second['vms']
        _check_converged(world, name, start)
        nb.update('virtualization.virtual_machines', [{'id': vm['id'], 'status': final}])
        third = _run(world, name)
        assert third['summary']['failed'] == 0, third['vms']
        _check_converged(world, name, final)
        assert not _run(world, name)['changed'] or final == 'decommissioning'
    finally:
        guest = world['pve'].find_guest(name=name)
        if guest is not None:
            pve = world['pve']
            if guest['status'] == 'running' or guest.get('lock') == 'suspended':
                pve.wait_for_task(pve.post('/nodes/{0}/{1}/{2}/status/stop'.format(guest['node'], guest['type'],
                                                                                   guest['vmid'])))
            pve.wait_for_task(pve.delete('/nodes/{0}/{1}/{2}'.format(guest['node'], guest['type'], guest['vmid'])))
        left = nb.get('virtualization.virtual_machines', id=vm['id'])
        if left:
            nb.delete('ipam.ip_addresses', [i['id'] for i in nb.list('ipam.ip_addresses', virtual_machine_id=vm['id'])])
            nb.delete('virtualization.virtual_machines', [vm['id']])

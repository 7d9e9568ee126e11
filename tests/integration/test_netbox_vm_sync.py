"""NetBox -> Proxmox against the lab: real NetBox, fakepve, real ansible-playbook runs.

One NetBox cluster (unique per session) holds VMs of each kind and status; each step runs the module
through ansible-playbook and checks both servers afterwards, not the module's word for it.
"""

import uuid

import pytest

from ansible_collections.nbsync.proxmox.plugins.module_utils._netbox_client import NetBoxClient
from ansible_collections.nbsync.proxmox.plugins.module_utils._netbox_reader import NetBoxReader
from ansible_collections.nbsync.proxmox.plugins.module_utils._pve_client import PveClient

TAG = uuid.uuid4().hex[:6]
CLUSTER = 'it-{0}'.format(TAG)
NOCREDS = 'it-nocreds-{0}'.format(TAG)   # a Proxmox cluster in NetBox with no credentials in the vault


@pytest.fixture(scope='module')
def nb(lab):
    return NetBoxClient(lab['netbox']['url'], lab['netbox']['token'])


@pytest.fixture(scope='module')
def pve(lab):
    tok = lab['pve']['token']
    return PveClient.from_params(dict(api_host=lab['pve']['host'], api_port=lab['pve']['port'], api_user=tok['user'],
                                      api_token_id=tok['token_id'], api_token_secret=tok['secret'],
                                      ca_path=lab['pve']['ca_file']))


def _get_or_create(nb, endpoint, lookup, extra=None):
    found = nb.get(endpoint, **lookup)
    return found or nb.create(endpoint, [dict(lookup, **(extra or {}))])[0]


@pytest.fixture(scope='module')
def world(nb, pve, lab):
    """Seed NetBox with a Proxmox cluster and VMs in every interesting shape."""
    pve_control_reset(lab)
    NetBoxReader(nb).ensure_custom_fields()
    ctype = _get_or_create(nb, 'virtualization.cluster_types', {'slug': 'proxmox'}, {'name': 'Proxmox'})
    cluster = nb.create('virtualization.clusters', [{'name': CLUSTER, 'type': ctype['id']}])[0]
    nocreds = nb.create('virtualization.clusters', [{'name': NOCREDS, 'type': ctype['id']}])[0]
    # a prefix with no free address: a /30 whose two usable addresses are taken
    full_vlan = nb.create('ipam.vlans', [{'vid': 30, 'name': 'it-v30-' + TAG}])[0]
    full_net = '10.{0}.30'.format(int(TAG[:2], 16))
    full_prefix = nb.create('ipam.prefixes', [{'prefix': full_net + '.0/30', 'vlan': full_vlan['id']}])[0]
    nb.create('ipam.ip_addresses', [{'address': full_net + '.1/30'}, {'address': full_net + '.2/30'}])
    vlan = nb.create('ipam.vlans', [{'vid': 20, 'name': 'it-v20-' + TAG}])[0]
    prefix = nb.create('ipam.prefixes', [{'prefix': '10.{0}.20.0/29'.format(int(TAG[:2], 16)), 'vlan': vlan['id'],
                                          'custom_fields': {'proxmox_gateway': '10.{0}.20.1'.format(int(TAG[:2], 16))}}])[0]
    # reserve .1 (the gateway) so the first allocation is .2
    nb.create('ipam.ip_addresses', [{'address': '10.{0}.20.1/29'.format(int(TAG[:2], 16)), 'description': 'gateway'}])
    vms = nb.create('virtualization.virtual_machines', [
        {'name': 'web-' + TAG, 'cluster': cluster['id'], 'status': 'active', 'vcpus': 2, 'memory': 2048},
        {'name': 'ct-' + TAG, 'cluster': cluster['id'], 'status': 'staged', 'vcpus': 1, 'memory': 1024,
         'custom_fields': {'proxmox_type': 'lxc', 'proxmox_template': 'debian12-lxc'}},
        {'name': 'plan-' + TAG, 'cluster': cluster['id'], 'status': 'planned', 'vcpus': 1, 'memory': 512},
        {'name': 'bad-' + TAG, 'cluster': cluster['id'], 'status': 'active', 'vcpus': 1, 'memory': 512,
         'custom_fields': {'proxmox_template': 'no-such-template'}},
        {'name': 'gone-' + TAG, 'cluster': cluster['id'], 'status': 'failed', 'vcpus': 1, 'memory': 512},
        {'name': 'full-' + TAG, 'cluster': cluster['id'], 'status': 'active', 'vcpus': 1, 'memory': 512},
        {'name': 'lost-' + TAG, 'cluster': nocreds['id'], 'status': 'active', 'vcpus': 1, 'memory': 512},
    ])
    by_name = dict((v['name'].split('-')[0], v) for v in vms)
    ifaces = nb.create('virtualization.interfaces', [
        {'virtual_machine': by_name['web']['id'], 'name': 'eth0', 'mode': 'access', 'untagged_vlan': vlan['id']},
        {'virtual_machine': by_name['web']['id'], 'name': 'eth1', 'custom_fields': {'proxmox_bridge': 'vmbr1'}},
        {'virtual_machine': by_name['ct']['id'], 'name': 'eth0'},
        {'virtual_machine': by_name['full']['id'], 'name': 'eth0', 'mode': 'access', 'untagged_vlan': full_vlan['id']},
    ])
    nb.create('ipam.ip_addresses', [{'address': '10.99.{0}.9/24'.format(int(TAG[2:4], 16)),
                                     'assigned_object_type': 'virtualization.vminterface',
                                     'assigned_object_id': ifaces[1]['id']},
                                    {'address': '10.98.{0}.5/24'.format(int(TAG[2:4], 16)),
                                     'assigned_object_type': 'virtualization.vminterface',
                                     'assigned_object_id': ifaces[2]['id']}])
    nb.create('virtualization.virtual_disks', [
        {'virtual_machine': by_name['web']['id'], 'name': 'scsi0', 'size': 10240},
        {'virtual_machine': by_name['web']['id'], 'name': 'data', 'size': 2048},
        {'virtual_machine': by_name['web']['id'], 'name': 'sata1', 'size': 1024},
        {'virtual_machine': by_name['web']['id'], 'name': 'virtio2', 'size': 1024},
        {'virtual_machine': by_name['ct']['id'], 'name': 'root', 'size': 6144},
    ])
    yield {'cluster': cluster, 'vms': by_name, 'ifaces': ifaces, 'prefix': prefix, 'vlan': vlan}
    for vm in nb.list('virtualization.virtual_machines', cluster_id=[cluster['id'], nocreds['id']]):
        ips = nb.list('ipam.ip_addresses', virtual_machine_id=vm['id'])
        nb.delete('ipam.ip_addresses', [i['id'] for i in ips])
        nb.delete('virtualization.virtual_machines', [vm['id']])
    gw = nb.list('ipam.ip_addresses', parent=prefix['prefix'])
    nb.delete('ipam.ip_addresses', [i['id'] for i in gw])
    nb.delete('ipam.prefixes', [prefix['id']])
    full = nb.list('ipam.ip_addresses', parent=full_prefix['prefix'])
    nb.delete('ipam.ip_addresses', [i['id'] for i in full])
    nb.delete('ipam.prefixes', [full_prefix['id']])
    nb.delete('ipam.vlans', [vlan['id'], full_vlan['id']])
    nb.delete('virtualization.clusters', [cluster['id'], nocreds['id']])
    pve_control_reset(lab)


@pytest.fixture
def pve_faults(lab):
    """The lab PVE's fault switch; cleared afterwards, but no reset: the guests of this module stay."""
    from conftest import LabControl
    control = LabControl(lab['pve'])
    yield control
    control.fault('clear')


def pve_control_reset(lab):
    import requests
    requests.post(lab['pve']['control_url'] + '/reset', json={}, verify=lab['pve']['ca_file'], timeout=30,
                  headers={'X-Lab-Control': lab['pve']['control_token']}).raise_for_status()


def sync(lab, tmp_path, check=False, allow_delete=False, netbox_url=None, diff=False, **limits):
    """Run the module through ansible-playbook; limit_clusters defaults to this test's two clusters
    (None: no cluster limit)."""
    from conftest import start_sync
    tok = lab['pve']['token']
    variables = {
        'netbox_url': netbox_url or lab['netbox']['url'], 'netbox_token': lab['netbox']['token'],
        'limit_clusters': [CLUSTER, NOCREDS],
        'clusters': [{'name': CLUSTER, 'api_host': lab['pve']['host'], 'api_port': lab['pve']['port'],
                      'api_user': tok['user'], 'api_token_id': tok['token_id'], 'api_token_secret': tok['secret'],
                      'ca_path': lab['pve']['ca_file']}],
        'defaults': {'template': 'debian12-cloudinit', 'storage': 'local-lvm', 'bridge': 'vmbr0', 'ciuser': 'ops'},
        'allow_delete': allow_delete,
    }
    variables.update(limits)
    return start_sync(lab, tmp_path, variables, check=check, diff=diff, key=lambda name: name.split('-')[0]).finish()


def guests_named(pve):
    return dict((g['name'].split('-')[0], g) for g in pve.guests() if g.get('name', '').endswith('-' + TAG))


def test_1_check_mode_plans_and_changes_nothing(lab, tmp_path, world, nb, pve):
    result = sync(lab, tmp_path, check=True)
    by = result['by_name']
    assert by['web']['result'] == 'created' and by['ct']['result'] == 'created'
    assert by['plan']['result'] == 'unchanged'
    assert by['bad']['result'] == 'failed' and "template 'no-such-template' does not exist" in by['bad']['error']
    assert by['gone']['result'] == 'skipped'
    assert by['lost']['result'] == 'failed' and "cluster {0!r} has no credentials".format(NOCREDS) in by['lost']['error']
    net = '10.{0}.20'.format(int(TAG[:2], 16))
    assert 'allocate {0}.2/29 to eth0 (from prefix {1})'.format(net, world['prefix']['id']) in by['web']['changes']
    assert by['full']['result'] == 'failed' and 'the prefix is full' in by['full']['error']   # found in check mode
    assert guests_named(pve) == {}
    assert nb.list('ipam.ip_addresses', virtual_machine_id=world['vms']['web']['id'])[0]['address'].startswith('10.99.')
    assert len(nb.list('ipam.ip_addresses', virtual_machine_id=world['vms']['web']['id'])) == 1


def test_2_run_creates_allocates_and_writes_back(lab, tmp_path, world, nb, pve):
    result = sync(lab, tmp_path)
    by = result['by_name']
    assert result['changed']
    assert (by['web']['result'], by['ct']['result'], by['plan']['result'], by['bad']['result']) == \
        ('created', 'created', 'unchanged', 'failed')
    assert by['full']['result'] == 'failed' and 'no address from prefix' in by['full']['error']
    assert 'the prefix is full' in by['full']['error']
    assert result['summary'] == {'created': 2, 'updated': 0, 'removed': 0, 'unchanged': 1, 'skipped': 1, 'failed': 3,
                                 'unmanaged': 0}
    guests = guests_named(pve)
    assert set(guests) == {'web', 'ct'}   # nothing of the failed VMs was created
    web, ct = guests['web'], guests['ct']
    assert web['status'] == 'running' and ct['status'] == 'stopped' and ct['type'] == 'lxc'
    cfg = pve.guest_config(web['node'], 'qemu', web['vmid'], current=False)
    assert int(cfg['cores']) == 2 and int(cfg['memory']) == 2048
    assert 'size=10G' in cfg['scsi0'] and cfg['scsi1'].startswith('local-lvm:') and 'size=2G' in cfg['scsi1']
    assert 'size=1G' in cfg['sata1'] and 'size=1G' in cfg['virtio2']   # SCSI, SATA and VirtIO buses
    assert 'bridge=vmbr0' in cfg['net0'] and 'tag=20' in cfg['net0'] and 'bridge=vmbr1' in cfg['net1']
    net = '10.{0}.20'.format(int(TAG[:2], 16))
    assert cfg['ipconfig0'] == 'ip={0}.2/29,gw={0}.1'.format(net)
    assert cfg['ipconfig1'].startswith('ip=10.99.')
    ctcfg = pve.guest_config(ct['node'], 'lxc', ct['vmid'])
    assert 'size=6G' in ctcfg['rootfs'] and 'ip=10.98.' in ctcfg['net0']
    # write-back: vmid, node, type; MACs; the allocated address and primary IP
    nb_web = nb.get('virtualization.virtual_machines', id=world['vms']['web']['id'])
    assert nb_web['custom_fields']['proxmox_vmid'] == web['vmid'] and nb_web['custom_fields']['proxmox_node'] == web['node']
    assert nb_web['primary_ip4']['address'] == '{0}.2/29'.format(net)
    ip = nb.get('ipam.ip_addresses', id=nb_web['primary_ip4']['id'])
    assert ip['dns_name'] == 'web-' + TAG
    nb_ct = nb.get('virtualization.virtual_machines', id=world['vms']['ct']['id'])
    assert nb_ct['primary_ip4']['address'].startswith('10.98.')      # an existing address became primary
    ifaces = dict((i['name'], i) for i in nb.list('virtualization.interfaces', virtual_machine_id=world['vms']['web']['id']))
    assert ifaces['eth0']['primary_mac_address']['mac_address'].upper() in cfg['net0']
    assert ifaces['eth1']['primary_mac_address']['mac_address'].upper() in cfg['net1']


def test_3_second_run_changes_nothing(lab, tmp_path, world):
    result = sync(lab, tmp_path)
    assert not result['changed'], result['vms']
    assert result['summary']['unchanged'] == 3 and result['summary']['failed'] == 3


def test_3b_limits_select_vms(lab, tmp_path, world, nb):
    by_name = sync(lab, tmp_path, check=True, limit_names=['web-' + TAG])['by_name']
    assert set(by_name) == {'web'}
    tag = nb.create('extras.tags', [{'name': 'it-tag-' + TAG, 'slug': 'it-tag-' + TAG}])[0]
    nb.update('virtualization.virtual_machines', [{'id': world['vms']['ct']['id'], 'tags': [tag['id']]}])
    try:
        by_name = sync(lab, tmp_path, check=True, limit_tags=['it-tag-' + TAG])['by_name']
        assert set(by_name) == {'ct'}
    finally:
        nb.update('virtualization.virtual_machines', [{'id': world['vms']['ct']['id'], 'tags': []}])
        nb.delete('extras.tags', [tag['id']])
    role = nb.create('dcim.device_roles', [{'name': 'it-role-' + TAG, 'slug': 'it-role-' + TAG, 'vm_role': True}])[0]
    nb.update('virtualization.virtual_machines', [{'id': world['vms']['web']['id'], 'role': role['id']}])
    try:
        by_name = sync(lab, tmp_path, check=True, limit_roles=['it-role-' + TAG])['by_name']
        assert set(by_name) == {'web'}
    finally:
        nb.update('virtualization.virtual_machines', [{'id': world['vms']['web']['id'], 'role': None}])
        nb.delete('dcim.device_roles', [role['id']])


def test_3c_proxmox_failing_mid_run_stops_one_vm_and_the_next_run_finishes(lab, tmp_path, world, nb, pve):
    """A clone that PVE cannot serve (HTTP 503) fails that VM alone, leaves nothing behind, and the next
    run, with Proxmox back, creates it."""
    import requests
    late = {'name': 'late-' + TAG, 'cluster': world['cluster']['id'], 'status': 'staged', 'vcpus': 1, 'memory': 512}
    late = nb.create('virtualization.virtual_machines', [late])[0]
    control = {'headers': {'X-Lab-Control': lab['pve']['control_token']}, 'verify': lab['pve']['ca_file'],
               'timeout': 30}
    requests.post(lab['pve']['control_url'] + '/fault', json={
        'kind': 'fail', 'method': 'POST', 'path': '/nodes/{node}/qemu/{vmid}/clone', 'status': 503,
        'message': 'Service Unavailable'}, **control).raise_for_status()
    try:
        first = sync(lab, tmp_path)
    finally:
        requests.post(lab['pve']['control_url'] + '/fault', json={'kind': 'clear'}, **control).raise_for_status()
    assert first['by_name']['late']['result'] == 'failed'
    assert 'cannot serve POST' in first['by_name']['late']['error']
    assert first['by_name']['web']['result'] == 'unchanged'    # the others went on
    assert 'late' not in guests_named(pve)                      # nothing half written
    second = sync(lab, tmp_path)
    assert second['by_name']['late']['result'] == 'created'
    assert guests_named(pve)['late']['status'] == 'stopped'
    nb_late = nb.get('virtualization.virtual_machines', id=late['id'])
    assert nb_late['custom_fields']['proxmox_vmid'] == guests_named(pve)['late']['vmid']


def test_3d_bad_input_fails_that_vm_names_the_field_and_the_others_go_on(lab, tmp_path, world, nb, pve):
    """Zero memory, a disk of size 0, two interfaces with one MAC, a disk shrink, a VM without a cluster, a
    vmid that belongs to another guest and a name two guests share: each fails with the VM and the field
    named, nothing of them reaches Proxmox, and the VMs around them are unchanged."""
    site = nb.create('dcim.sites', [{'name': 'it-site-' + TAG, 'slug': 'it-site-' + TAG}])[0]
    ct_vmid = guests_named(pve)['ct']['vmid']
    twins = []
    for _n in range(2):   # two guests named alike, made behind NetBox's back
        vmid = pve.next_vmid()
        pve.wait_for_task(pve.post('/nodes/pve1/qemu/9000/clone', data={'newid': vmid, 'name': 'twin-' + TAG}))
        twins.append(vmid)
    made = nb.create('virtualization.virtual_machines', [
        {'name': 'zero-' + TAG, 'cluster': world['cluster']['id'], 'status': 'staged', 'vcpus': 1, 'memory': 0},
        {'name': 'dup-' + TAG, 'cluster': world['cluster']['id'], 'status': 'staged', 'vcpus': 1, 'memory': 512},
        {'name': 'orphan-' + TAG, 'site': site['id'], 'status': 'staged', 'vcpus': 1, 'memory': 512,
         'custom_fields': {'proxmox_template': 'debian12-cloudinit'}},
        {'name': 'zdisk-' + TAG, 'cluster': world['cluster']['id'], 'status': 'staged', 'vcpus': 1, 'memory': 512},
        {'name': 'thief-' + TAG, 'cluster': world['cluster']['id'], 'status': 'staged', 'vcpus': 1, 'memory': 512,
         'custom_fields': {'proxmox_vmid': ct_vmid, 'proxmox_type': 'lxc'}},
        {'name': 'twin-' + TAG, 'cluster': world['cluster']['id'], 'status': 'staged', 'vcpus': 1, 'memory': 512},
    ])
    nb.create('virtualization.virtual_disks', [{'virtual_machine': made[3]['id'], 'name': 'scsi0', 'size': 0}])
    dup = made[1]
    dup_ifaces = nb.create('virtualization.interfaces', [{'virtual_machine': dup['id'], 'name': 'eth0'},
                                                         {'virtual_machine': dup['id'], 'name': 'eth1'}])
    macs = nb.create('dcim.mac_addresses', [
        {'mac_address': 'BC:24:11:0D:0D:01', 'assigned_object_type': 'virtualization.vminterface',
         'assigned_object_id': i['id']} for i in dup_ifaces])
    nb.update('virtualization.interfaces', [{'id': i['id'], 'primary_mac_address': m['id']}
                                            for i, m in zip(dup_ifaces, macs)])
    scsi0 = nb.list('virtualization.virtual_disks', virtual_machine_id=world['vms']['web']['id'], name='scsi0')[0]
    nb.update('virtualization.virtual_disks', [{'id': scsi0['id'], 'size': 5120}])
    names = [n + '-' + TAG for n in ('web', 'ct', 'zero', 'dup', 'orphan', 'zdisk', 'thief', 'twin')]
    before = dict((name, dict(g)) for name, g in guests_named(pve).items())
    try:
        result = sync(lab, tmp_path, limit_clusters=None, limit_names=names)
        by = result['by_name']
        assert set(by) == {'web', 'ct', 'zero', 'dup', 'orphan', 'zdisk', 'thief', 'twin'}
        assert by['zdisk']['result'] == 'failed' and 'virtual disk scsi0: size 0 MB' in by['zdisk']['error']
        assert by['thief']['result'] == 'failed'
        assert "proxmox_vmid {0}: belongs to guest 'ct-{1}', not 'thief-{1}'".format(ct_vmid, TAG) in by['thief']['error']
        assert by['twin']['result'] == 'failed' and 'matches 2 guests' in by['twin']['error']
        assert 'set proxmox_vmid' in by['twin']['error']
        assert by['zero']['result'] == 'failed' and 'memory: 0 MB is not a positive size' in by['zero']['error']
        assert by['dup']['result'] == 'failed' and 'both have MAC BC:24:11:0D:0D:01' in by['dup']['error']
        assert by['orphan']['result'] == 'failed' and 'cluster: the VM has no cluster' in by['orphan']['error']
        assert by['web']['result'] == 'failed' and 'scsi0' in by['web']['error']
        assert 'shrinking a disk is refused' in by['web']['error']
        assert by['ct']['result'] == 'unchanged'                       # the others go on
        assert result['summary']['failed'] == 7 and result['changed'] is False
        after = guests_named(pve)
        assert set(after) == set(before)                               # nothing created
        web = after['web']
        assert 'size=10G' in pve.guest_config(web['node'], 'qemu', web['vmid'], current=False)['scsi0']
    finally:
        nb.update('virtualization.virtual_disks', [{'id': scsi0['id'], 'size': 10240}])
        nb.delete('dcim.mac_addresses', [m['id'] for m in macs])
        nb.delete('virtualization.virtual_machines', [v['id'] for v in made])
        nb.delete('dcim.sites', [site['id']])
        for vmid in twins:
            pve.wait_for_task(pve.delete('/nodes/pve1/qemu/{0}'.format(vmid)))
    assert not sync(lab, tmp_path)['changed']


def test_3e_netbox_going_away_mid_run_is_reported_and_the_next_run_finishes(
        lab, tmp_path, world, nb, pve, netbox_cut_proxy):
    """NetBox answers the reads, then is gone at the first write (the write-back after the clone): the run
    ends cleanly and says which VM was made in Proxmox but not written back; the next run adopts the guest
    by name and writes vmid and node back."""
    extra = nb.create('virtualization.virtual_machines', [{'name': 'wb-' + TAG, 'cluster': world['cluster']['id'],
                                                           'status': 'staged', 'vcpus': 1, 'memory': 512}])[0]
    netbox_cut_proxy.cut_writes = True
    first = sync(lab, tmp_path, netbox_url=netbox_cut_proxy.url)
    assert netbox_cut_proxy.dropped, 'the proxy never saw a write: the test did not cut anything'
    report = first['by_name']['wb']
    assert report['result'] == 'created', report                      # true of Proxmox, and
    assert 'writing back to NetBox failed' in report['warning']       # said of NetBox
    assert 'next run finishes it' in report['warning']
    assert 'wb' in guests_named(pve)                                  # made in Proxmox, and said so
    # NetBox was gone when the run ended, so its lock could not be given back: it is there, and would expire
    # by itself five minutes after its last heartbeat; here it is removed as an admin would, by hand.
    from ansible_collections.nbsync.proxmox.plugins.module_utils._run_lock import lock_slug
    for cluster in nb.list('virtualization.clusters', name=[CLUSTER, NOCREDS]):
        stale = nb.get('extras.tags', slug=lock_slug(cluster['id']))
        assert stale is not None and 'expires' in stale['description']
        nb.delete('extras.tags', [stale['id']])
    assert nb.get('virtualization.virtual_machines', id=extra['id'])['custom_fields']['proxmox_vmid'] is None
    second = sync(lab, tmp_path)
    assert second['by_name']['wb']['result'] == 'updated'
    written = nb.get('virtualization.virtual_machines', id=extra['id'])['custom_fields']
    assert written['proxmox_vmid'] == guests_named(pve)['wb']['vmid']
    assert not sync(lab, tmp_path)['changed']


def test_3f_proxmox_failing_after_the_clone_says_the_guest_exists_and_the_next_run_finishes(
        lab, tmp_path, world, nb, pve, pve_faults):
    """The clone works, the configuration after it is refused (HTTP 503): the VM fails, its report says the
    guest was created, NetBox records its vmid, and the next run configures that guest (no second clone)."""
    half = nb.create('virtualization.virtual_machines', [{'name': 'half-' + TAG, 'cluster': world['cluster']['id'],
                                                          'status': 'staged', 'vcpus': 2, 'memory': 768}])[0]
    pve_faults.fault('fail', method='POST', path='/nodes/{node}/qemu/{vmid}/config', status=503,
                     message='Service Unavailable')
    first = sync(lab, tmp_path)
    pve_faults.fault('clear')
    report = first['by_name']['half']
    assert report['result'] == 'failed', report
    made = guests_named(pve)['half']
    assert 'guest {0} was created on {1}'.format(made['vmid'], made['node']) in report['error']
    assert nb.get('virtualization.virtual_machines', id=half['id'])['custom_fields']['proxmox_vmid'] == made['vmid']
    second = sync(lab, tmp_path)
    assert second['by_name']['half']['result'] == 'updated'
    assert [g['vmid'] for g in pve.guests() if g.get('name') == 'half-' + TAG] == [made['vmid']]   # one guest
    cfg = pve.guest_config(made['node'], 'qemu', made['vmid'], current=False)
    assert int(cfg['memory']) == 768 and int(cfg['cores']) == 2
    assert not sync(lab, tmp_path)['changed']


def test_4_netbox_change_is_applied_field_by_field(lab, tmp_path, world, nb, pve):
    """CPU and memory, a disk that grows, a new tag and a new NIC on the running VM; a second disk and NIC
    on the container."""
    tag = nb.create('extras.tags', [{'name': 't4-' + TAG, 'slug': 't4-' + TAG}])[0]
    nb.update('virtualization.virtual_machines', [{'id': world['vms']['web']['id'], 'memory': 4096, 'vcpus': 3,
                                                   'tags': [tag['id']]}])
    data = nb.list('virtualization.virtual_disks', virtual_machine_id=world['vms']['web']['id'], name='data')[0]
    nb.update('virtualization.virtual_disks', [{'id': data['id'], 'size': 4096}])
    nb.create('virtualization.interfaces', [{'virtual_machine': world['vms']['web']['id'], 'name': 'eth2'},
                                            {'virtual_machine': world['vms']['ct']['id'], 'name': 'eth1'}])
    nb.create('virtualization.virtual_disks', [{'virtual_machine': world['vms']['ct']['id'], 'name': 'srv',
                                                'size': 1024}])
    check = sync(lab, tmp_path, check=True)
    assert check['by_name']['web']['result'] == 'updated'
    assert 'set memory: 2048 -> 4096' in check['by_name']['web']['changes']
    web = guests_named(pve)['web']
    assert int(pve.guest_config(web['node'], 'qemu', web['vmid'], current=False)['memory']) == 2048
    result = sync(lab, tmp_path, diff=True)
    assert result['by_name']['web']['result'] == 'updated'
    diff = result['by_name']['web']['diff']
    assert int(diff['before']['memory']) == 2048 and int(diff['after']['memory']) == 4096
    assert int(diff['after']['cores']) == 3 and 'memory' not in result['by_name']['ct'].get('diff', {}).get('after', {})
    assert '-    "memory": 2048' in result['stdout'] or '"memory": 2048' in result['stdout']   # --diff printed it
    cfg = pve.guest_config(web['node'], 'qemu', web['vmid'], current=False)
    assert int(cfg['memory']) == 4096 and int(cfg['cores']) == 3
    assert 'size=4G' in cfg['scsi1']                                   # grown
    assert 't4-' + TAG in cfg['tags'].split(';')
    assert 'bridge=vmbr0' in cfg['net2'] and cfg['ipconfig2'] == 'ip=dhcp'
    assert 'memory' in result['by_name']['web']['restart_required']   # the guest runs: reported, not hidden
    assert result['by_name']['ct']['result'] == 'updated'
    ct = guests_named(pve)['ct']
    ctcfg = pve.guest_config(ct['node'], 'lxc', ct['vmid'])
    assert 'size=1G' in ctcfg['mp0'] and 'mp=/mnt/mp0' in ctcfg['mp0']
    assert 'name=eth1' in ctcfg['net1'] and 'bridge=vmbr0' in ctcfg['net1']
    assert not sync(lab, tmp_path)['changed']


def test_5_offline_stops_and_active_starts(lab, tmp_path, world, nb, pve, pve_faults):
    """A clean shutdown first; a guest that ignores it is stopped hard only when force_stop allows it."""
    web = guests_named(pve)['web']
    pve_faults.fault('acpi', vmid=web['vmid'], enabled=False)        # the guest ignores ACPI
    nb.update('virtualization.virtual_machines', [{'id': world['vms']['web']['id'], 'status': 'offline'},
                                                  {'id': world['vms']['ct']['id'], 'status': 'active'}])
    refused = sync(lab, tmp_path, shutdown_timeout=20)
    assert refused['by_name']['web']['result'] == 'failed', refused['by_name']['web']
    assert guests_named(pve)['web']['status'] == 'running'              # not forced without force_stop
    assert refused['by_name']['ct']['result'] == 'updated'              # the others went on
    result = sync(lab, tmp_path, shutdown_timeout=20, force_stop=True)
    assert result['by_name']['web']['result'] == 'updated', result['by_name']['web']
    assert 'then force' in ' '.join(result['by_name']['web']['changes'])
    guests = guests_named(pve)
    assert guests['web']['status'] == 'stopped' and guests['ct']['status'] == 'running'
    assert not sync(lab, tmp_path)['changed']


def test_5b_paused_hibernates_and_active_resumes(lab, tmp_path, world, nb, pve):
    nb.update('virtualization.virtual_machines', [{'id': world['vms']['web']['id'], 'status': 'paused'}])
    result = sync(lab, tmp_path)
    assert result['by_name']['web']['result'] == 'updated'
    web = guests_named(pve)['web']
    assert web['status'] == 'stopped' and web.get('lock') == 'suspended'
    assert not sync(lab, tmp_path)['changed']
    nb.update('virtualization.virtual_machines', [{'id': world['vms']['web']['id'], 'status': 'active'}])
    resumed = sync(lab, tmp_path)
    assert resumed['by_name']['web']['changes'][0].startswith('resume ')
    web = guests_named(pve)['web']
    assert web['status'] == 'running' and not web.get('lock')


def test_6_decommissioning_is_guarded_then_removes_both_sides(lab, tmp_path, world, nb, pve):
    address = '10.{0}.20.2'.format(int(TAG[:2], 16))
    ns = nb.create('plugins.netbox_dns.nameservers', [{'name': 'ns1.{0}.example'.format(TAG)}])[0]
    zone = nb.create('plugins.netbox_dns.zones', [{'name': '{0}.example'.format(TAG), 'soa_mname': ns['id'],
                                                   'soa_rname': 'hostmaster.it.example', 'nameservers': [ns['id']]}])[0]
    nb.create('plugins.netbox_dns.records', [{'zone': zone['id'], 'name': 'web', 'type': 'A', 'value': address}])
    nb.update('virtualization.virtual_machines', [{'id': world['vms']['web']['id'], 'status': 'decommissioning'},
                                                  {'id': world['vms']['plan']['id'], 'status': 'decommissioning'}])
    web = guests_named(pve)['web']
    pve.put('/nodes/{0}/qemu/{1}/config'.format(web['node'], web['vmid']), data={'protection': 1})
    protected = sync(lab, tmp_path, allow_delete=True, limit_names=['web-' + TAG])
    assert protected['by_name']['web']['result'] == 'failed'
    assert 'protection set; it is never deleted' in protected['by_name']['web']['error']
    assert 'web' in guests_named(pve) and nb.get('virtualization.virtual_machines', id=world['vms']['web']['id'])
    pve.put('/nodes/{0}/qemu/{1}/config'.format(web['node'], web['vmid']), data={'delete': 'protection'})
    guarded = sync(lab, tmp_path)
    assert guarded['by_name']['plan']['result'] == 'skipped'            # no guest, but NetBox's side is guarded too
    assert 'set allow_delete' in guarded['by_name']['plan']['changes'][0]
    assert guarded['by_name']['web']['result'] == 'skipped'
    assert 'allow_delete' in ' '.join(guarded['by_name']['web']['changes'])
    assert 'web' in guests_named(pve)
    check = sync(lab, tmp_path, check=True, allow_delete=True)
    assert check['by_name']['web']['result'] == 'removed' and 'web' in guests_named(pve)
    assert any(c.startswith('netbox: delete the VM') for c in check['by_name']['web']['changes'])
    assert nb.get('virtualization.virtual_machines', id=world['vms']['web']['id'])    # check mode: NetBox intact
    assert nb.list('ipam.ip_addresses', address=address + '/29')
    result = sync(lab, tmp_path, allow_delete=True)
    assert result['by_name']['web']['result'] == 'removed'
    assert result['by_name']['plan']['result'] == 'removed'
    assert nb.get('virtualization.virtual_machines', id=world['vms']['plan']['id']) is None
    assert 'web' not in guests_named(pve)
    assert nb.get('virtualization.virtual_machines', id=world['vms']['web']['id']) is None
    assert nb.list('ipam.ip_addresses', address=address + '/29') == []
    assert nb.list('plugins.netbox_dns.records', ip_address=[address]) == []   # its DNS record released too
    nb.delete('plugins.netbox_dns.zones', [zone['id']])
    nb.delete('plugins.netbox_dns.nameservers', [ns['id']])

"""NetBox -> Proxmox never touches the wrong guest, NIC, disk or address; two runs at once stay safe.

Each test reproduces, on the lab (real NetBox, the lab's PVE, real ansible-playbook runs where a user would
use them), a way the first version could damage something the user did not ask for; each failed on that
version. Where the danger is a change between the plan and the apply (another actor taking a vmid), the
run is driven in-process so the change can be made at that moment: the reader, the planner and the
executor are the ones the module uses, against the same servers.
"""

import time
import uuid

import pytest

from ansible_collections.nbsync.proxmox.plugins.module_utils._errors import Locked
from ansible_collections.nbsync.proxmox.plugins.module_utils._netbox_client import NetBoxClient
from ansible_collections.nbsync.proxmox.plugins.module_utils._netbox_reader import NetBoxReader
from ansible_collections.nbsync.proxmox.plugins.module_utils._pve_client import PveClient
from ansible_collections.nbsync.proxmox.plugins.module_utils._reconcile import Reconciler

TAG = uuid.uuid4().hex[:6]
CLUSTER = 'safe-{0}'.format(TAG)
NET = 10 + int(TAG[:2], 16) % 200          # a /24 of 10.<NET>.x per test, not shared with other modules
DEFAULTS = {'template': 'debian12-cloudinit', 'storage': 'local-lvm', 'bridge': 'vmbr0', 'ciuser': 'ops'}


@pytest.fixture(scope='module')
def nb(lab):
    return NetBoxClient(lab['netbox']['url'], lab['netbox']['token'])


def _pve_params(lab):
    tok = lab['pve']['token']
    return dict(name=CLUSTER, api_host=lab['pve']['host'], api_port=lab['pve']['port'], api_user=tok['user'],
                api_token_id=tok['token_id'], api_token_secret=tok['secret'], ca_path=lab['pve']['ca_file'])


@pytest.fixture
def pve_faults(lab):
    """The lab PVE's fault switch; cleared afterwards (no reset: this module's guests stay)."""
    from conftest import LabControl
    control = LabControl(lab['pve'])
    yield control
    control.fault('clear')


@pytest.fixture(scope='module')
def pve(lab):
    return PveClient.from_params(_pve_params(lab))


def _reset_pve(lab):
    import requests
    requests.post(lab['pve']['control_url'] + '/reset', json={}, verify=lab['pve']['ca_file'], timeout=30,
                  headers={'X-Lab-Control': lab['pve']['control_token']}).raise_for_status()


@pytest.fixture(scope='module')
def cluster(nb, lab):
    _reset_pve(lab)
    NetBoxReader(nb).ensure_custom_fields()
    ctype = nb.get('virtualization.cluster_types', slug='proxmox') or nb.create(
        'virtualization.cluster_types', [{'name': 'Proxmox', 'slug': 'proxmox'}])[0]
    made = nb.create('virtualization.clusters', [{'name': CLUSTER, 'type': ctype['id']}])[0]
    yield made
    for prefix in nb.list('ipam.prefixes', q='10.{0}.'.format(NET)):
        nb.delete('ipam.ip_addresses', [i['id'] for i in nb.list('ipam.ip_addresses', parent=prefix['prefix'])])
    for vm in nb.list('virtualization.virtual_machines', cluster_id=made['id']):
        nb.delete('ipam.ip_addresses', [i['id'] for i in nb.list('ipam.ip_addresses', virtual_machine_id=vm['id'])])
        nb.delete('virtualization.virtual_machines', [vm['id']])
    nb.delete('virtualization.clusters', [made['id']])
    for endpoint, ident in reversed(leftovers):
        nb.delete(endpoint, [ident])
    _reset_pve(lab)


leftovers = []     # (endpoint, id) of NetBox objects the tests made beside their VMs, deleted at the end


def _vm(nb, cluster, name, status='active', **fields):
    return nb.create('virtualization.virtual_machines', [dict(
        {'name': name, 'cluster': cluster['id'], 'status': status, 'vcpus': 1, 'memory': 512}, **fields)])[0]


def _clone_behind_netboxs_back(pve, name, vmid=None, template=9000, kind='qemu'):
    vmid = vmid or pve.next_vmid()
    data = {'newid': vmid, ('name' if kind == 'qemu' else 'hostname'): name}
    pve.wait_for_task(pve.post('/nodes/pve1/{0}/{1}/clone'.format(kind, template), data=data))
    return vmid


def _destroy(pve, vmid, kind='qemu'):
    guest = pve.find_guest(vmid=vmid)
    if guest is not None:
        pve.wait_for_task(pve.delete('/nodes/{0}/{1}/{2}'.format(guest['node'], kind, vmid)))


def sync(lab, tmp_path, names=None, allow_delete=False, check=False, background=False, **extra):
    """netbox_vm_sync through ansible-playbook, as a user runs it; background=True returns the started run."""
    from conftest import start_sync
    variables = {'netbox_url': lab['netbox']['url'], 'netbox_token': lab['netbox']['token'],
                 'clusters': [_pve_params(lab)], 'defaults': DEFAULTS, 'limit_clusters': [CLUSTER],
                 'allow_delete': allow_delete, 'limit_names': names}
    variables.update(extra)
    run = start_sync(lab, tmp_path, variables, check=check)
    return run if background else run.finish()


def reconciler(lab, nb, **kw):
    params = _pve_params(lab)
    kw.setdefault('defaults', DEFAULTS)
    return Reconciler(nb, lambda name: PveClient.from_params(params), timeout=120, **kw)


def _plans(rec, names):
    """Read and plan (no writes), as the module does before it applies."""
    specs, _clusters = rec.reader.read(rec.defaults, [CLUSTER], names=names)
    return rec.plan(specs)


# ------------------------------------------------------------------------------------ identity

def test_a_decommissioning_vm_without_recorded_vmid_never_removes_a_namesake(lab, tmp_path, cluster, nb, pve):
    name = 'namesake-' + TAG
    vmid = _clone_behind_netboxs_back(pve, name)
    vm = _vm(nb, cluster, name, status='decommissioning')
    result = sync(lab, tmp_path, names=[name], allow_delete=True)
    report = result['by_name'][name]
    assert report['result'] == 'failed', report
    assert 'recorded vmid missing: adopt it first or set proxmox_vmid' in report['error']
    assert pve.find_guest(vmid=vmid) is not None                        # the guest is still there
    assert nb.get('virtualization.virtual_machines', id=vm['id'])      # and so is NetBox's VM
    _destroy(pve, vmid)


def test_a_vmid_that_changed_hands_between_plan_and_apply_is_not_removed(lab, cluster, nb, pve):
    name = 'handover-' + TAG
    vmid = _clone_behind_netboxs_back(pve, name)
    vm = _vm(nb, cluster, name, status='decommissioning', custom_fields={'proxmox_vmid': vmid, 'proxmox_node': 'pve1'})
    rec = reconciler(lab, nb, allow_delete=True)
    plans = _plans(rec, [name])
    assert [p.action for p in plans] == ['remove']
    _destroy(pve, vmid)                                                 # meanwhile: someone else's guest
    _clone_behind_netboxs_back(pve, 'someone-else-' + TAG, vmid=vmid)
    results = rec._apply_all(plans)
    rec._write_back(results)
    plan = results[0][0]
    assert plan.action == 'fail', plan.reasons
    assert "vmid {0} belongs to another guest, 'someone-else-{1}'".format(vmid, TAG) in plan.error
    assert 'nothing was removed' in plan.error
    assert pve.find_guest(vmid=vmid)['name'] == 'someone-else-' + TAG   # untouched
    assert nb.get('virtualization.virtual_machines', id=vm['id'])      # NetBox's side not released either
    _destroy(pve, vmid)


def test_a_config_write_to_a_vmid_now_of_another_type_is_refused(lab, cluster, nb, pve):
    name = 'typed-' + TAG
    vmid = _clone_behind_netboxs_back(pve, name)
    _vm(nb, cluster, name, status='staged', memory=768,
        custom_fields={'proxmox_vmid': vmid, 'proxmox_node': 'pve1', 'proxmox_type': 'qemu'})
    rec = reconciler(lab, nb)
    plans = _plans(rec, [name])
    assert plans[0].action == 'update' and 'memory' in ' '.join(plans[0].reasons)
    _destroy(pve, vmid)
    _clone_behind_netboxs_back(pve, name, vmid=vmid, template=9100, kind='lxc')   # same name, now a container
    results = rec._apply_all(plans)
    plan = results[0][0]
    assert plan.action == 'fail' and 'is a lxc guest' in plan.error, plan.error
    config = pve.guest_config('pve1', 'lxc', vmid)
    assert str(config.get('memory')) != '768'
    _destroy(pve, vmid, kind='lxc')


def test_a_netbox_only_release_first_confirms_the_guest_is_gone(lab, cluster, nb, pve):
    name = 'ghost-' + TAG
    vmid = pve.next_vmid() + 50
    vm = _vm(nb, cluster, name, status='decommissioning', custom_fields={'proxmox_vmid': vmid, 'proxmox_node': 'pve1'})
    rec = reconciler(lab, nb, allow_delete=True)
    plans = _plans(rec, [name])
    assert plans[0].action == 'remove' and not plans[0].params        # the plan saw no guest
    _clone_behind_netboxs_back(pve, name, vmid=vmid)                    # but it is there when the run acts
    results = rec._apply_all(plans)
    rec._write_back(results)
    plan = results[0][0]
    assert plan.action == 'fail' and 'is still in Proxmox' in plan.error, (plan.action, plan.error)
    assert nb.get('virtualization.virtual_machines', id=vm['id'])      # not released
    _destroy(pve, vmid)
    nb.delete('virtualization.virtual_machines', [vm['id']])


def test_a_clone_refused_because_another_actor_took_the_vmid_never_records_that_guest(
        lab, tmp_path, cluster, nb, pve, pve_faults):
    """Another actor takes the vmid an instant before the clone (the lab's PVE does it at the clone request):
    PVE refuses the clone; the VM fails, and the other actor's guest is neither recorded nor touched."""
    name = 'race-' + TAG
    vm = _vm(nb, cluster, name, status='staged')
    pve_faults.fault('steal_clone_vmid', name='intruder-' + TAG)
    result = sync(lab, tmp_path, names=[name])
    report = result['by_name'][name]
    assert report['result'] == 'failed', report
    assert 'already exists' in report['error'] and 'was created' not in report['error']
    intruder = pve.find_guest(name='intruder-' + TAG)
    assert intruder is not None                                         # the race really happened
    assert nb.get('virtualization.virtual_machines', id=vm['id'])['custom_fields']['proxmox_vmid'] is None
    assert pve.find_guest(name=name) is None
    _destroy(pve, intruder['vmid'])
    again = sync(lab, tmp_path, names=[name])                           # the next run makes its own guest
    assert again['by_name'][name]['result'] == 'created'
    assert nb.get('virtualization.virtual_machines', id=vm['id'])['custom_fields']['proxmox_vmid'] == \
        pve.find_guest(name=name)['vmid']


# ---------------------------------------------------------------------- NICs and disks by identity

def _macs(pve, vmid, kind='qemu'):
    from ansible_collections.nbsync.proxmox.plugins.module_utils._guest_plan import mac_addresses
    guest = pve.find_guest(vmid=vmid)
    return mac_addresses(pve.guest_config(guest['node'], kind, vmid, current=False))


def test_deleting_an_interface_in_netbox_never_shifts_the_others(lab, tmp_path, cluster, nb, pve):
    name = 'nics-' + TAG
    vm = _vm(nb, cluster, name, status='staged')
    vlan = nb.create('ipam.vlans', [{'vid': 77, 'name': 'safe-v77-' + TAG}])[0]
    ifaces = nb.create('virtualization.interfaces', [
        {'virtual_machine': vm['id'], 'name': 'eth0'},
        {'virtual_machine': vm['id'], 'name': 'eth1', 'mode': 'access', 'untagged_vlan': vlan['id']},
        {'virtual_machine': vm['id'], 'name': 'eth2'}])
    first = sync(lab, tmp_path, names=[name])
    assert first['by_name'][name]['result'] == 'created', first['by_name'][name]
    vmid = pve.find_guest(name=name)['vmid']
    before = _macs(pve, vmid)
    assert len(before) == 3 and len(set(before.values())) == 3
    nb.delete('virtualization.interfaces', [ifaces[0]['id']])             # eth0 goes in NetBox
    second = sync(lab, tmp_path, names=[name])
    assert second['by_name'][name]['result'] == 'unchanged', second['by_name'][name]
    assert _macs(pve, vmid) == before                                   # nothing moved (net0 stays, for now)
    nb.create('virtualization.interfaces', [{'virtual_machine': vm['id'], 'name': 'a-new'}])   # sorts first
    third = sync(lab, tmp_path, names=[name])
    assert third['by_name'][name]['result'] == 'updated', third['by_name'][name]
    after = _macs(pve, vmid)
    assert after['net0'] == before['net0'] and after['net1'] == before['net1'] and after['net2'] == before['net2']
    assert len(after) == 4 and len(set(after.values())) == 4             # a new NIC, and never one MAC twice
    guest = pve.find_guest(vmid=vmid)
    assert 'tag=77' in pve.guest_config(guest['node'], 'qemu', vmid, current=False)['net1']
    recorded = dict((i['name'], i['custom_fields']['proxmox_slot'])
                    for i in nb.list('virtualization.interfaces', virtual_machine_id=vm['id']))
    assert recorded == {'a-new': 'net3', 'eth1': 'net1', 'eth2': 'net2'}   # the slots NetBox now records
    assert not sync(lab, tmp_path, names=[name])['changed']
    leftovers.append(('ipam.vlans', vlan['id']))


def test_deleting_a_container_disk_in_netbox_never_moves_the_others(lab, tmp_path, cluster, nb, pve):
    name = 'disks-' + TAG
    vm = _vm(nb, cluster, name, status='staged', custom_fields={'proxmox_type': 'lxc', 'proxmox_template': 'debian12-lxc'})
    disks = nb.create('virtualization.virtual_disks', [
        {'virtual_machine': vm['id'], 'name': 'a-root', 'size': 4096},
        {'virtual_machine': vm['id'], 'name': 'b-data', 'size': 2048},
        {'virtual_machine': vm['id'], 'name': 'c-logs', 'size': 1024}])
    first = sync(lab, tmp_path, names=[name])
    assert first['by_name'][name]['result'] == 'created', first['by_name'][name]
    vmid = pve.find_guest(name=name)['vmid']
    config = pve.guest_config('pve1', 'lxc', vmid)
    assert 'size=2G' in config['mp0'] and 'size=1G' in config['mp1']
    nb.delete('virtualization.virtual_disks', [disks[1]['id']])          # b-data goes in NetBox
    second = sync(lab, tmp_path, names=[name])
    report = second['by_name'][name]
    assert report['result'] == 'unchanged', report                     # c-logs is still mp1: nothing to do
    after = pve.guest_config('pve1', 'lxc', vmid)
    assert after['mp0'] == config['mp0'] and after['mp1'] == config['mp1']


# ------------------------------------------------------------------------------ addresses

def test_the_prefix_gateway_is_never_given_to_a_vm(lab, tmp_path, cluster, nb):
    vlan = nb.create('ipam.vlans', [{'vid': 31, 'name': 'safe-v31-' + TAG}])[0]
    net = '10.{0}.31'.format(NET)
    prefix = nb.create('ipam.prefixes', [{'prefix': net + '.0/24', 'vlan': vlan['id'],
                                          'custom_fields': {'proxmox_gateway': net + '.1'}}])[0]
    leftovers.extend([('ipam.vlans', vlan['id']), ('ipam.prefixes', prefix['id'])])
    name = 'gw-' + TAG
    vm = _vm(nb, cluster, name, status='staged')
    nb.create('virtualization.interfaces', [{'virtual_machine': vm['id'], 'name': 'eth0', 'mode': 'access',
                                             'untagged_vlan': vlan['id']}])
    check = sync(lab, tmp_path, names=[name], check=True)
    assert 'allocate {0}.2/24 to eth0 (from prefix {1})'.format(net, prefix['id']) in check['by_name'][name]['changes']
    assert 'netbox: reserve gateway {0}.1 of prefix {0}.0/24'.format(net) in check['by_name'][name]['changes']
    assert nb.list('ipam.ip_addresses', parent=prefix['prefix']) == []   # check mode: nothing written
    result = sync(lab, tmp_path, names=[name])
    assert result['by_name'][name]['result'] == 'created', result['by_name'][name]
    addresses = dict((i['address'], i) for i in nb.list('ipam.ip_addresses', parent=prefix['prefix']))
    assert set(addresses) == {net + '.1/24', net + '.2/24'}
    assert addresses[net + '.1/24']['status']['value'] == 'reserved' and not addresses[net + '.1/24']['assigned_object_id']
    assert addresses[net + '.2/24']['assigned_object_id']
    assert not sync(lab, tmp_path, names=[name])['changed']


# ---------------------------------------------------------------------- one bad value, one VM

def test_one_bad_value_fails_that_vm_with_a_message_and_never_the_run(lab, tmp_path, cluster, nb):
    bad = _vm(nb, cluster, 'super-' + TAG, status='staged', custom_fields={'proxmox_template': '\u00b2'})
    wrong = _vm(nb, cluster, 'wrongtpl-' + TAG, status='staged',
                custom_fields={'proxmox_type': 'lxc', 'proxmox_template': 'debian12-cloudinit'})
    good = _vm(nb, cluster, 'fine-' + TAG, status='staged')
    result = sync(lab, tmp_path, names=[v['name'] for v in (bad, wrong, good)])
    by = result['by_name']
    assert by['super-' + TAG]['result'] == 'failed'
    assert "template '\u00b2' does not exist in the cluster" in by['super-' + TAG]['error']    # named, not a ValueError
    assert by['wrongtpl-' + TAG]['result'] == 'failed'
    assert "template 'debian12-cloudinit' (vmid 9000) is a QEMU template, but 'wrongtpl-{0}' is a container".format(
        TAG) in by['wrongtpl-' + TAG]['error']
    assert by['fine-' + TAG]['result'] == 'created'


# ------------------------------------------------------------------------------ nobody's guests

def test_a_guest_no_netbox_vm_claims_is_reported_and_left_alone(lab, tmp_path, cluster, nb, pve):
    vmid = _clone_behind_netboxs_back(pve, 'stray-' + TAG)
    result = sync(lab, tmp_path)
    stray = [g for g in result['unmanaged'] if g['vmid'] == vmid]
    assert stray == [{'cluster': CLUSTER, 'vmid': vmid, 'node': 'pve1', 'name': 'stray-' + TAG, 'type': 'qemu',
                      'status': 'stopped'}]
    assert result['summary']['unmanaged'] == len(result['unmanaged'])
    assert pve.find_guest(vmid=vmid)['name'] == 'stray-' + TAG
    _destroy(pve, vmid)


# ---------------------------------------------------------------------------- two runs at once

def test_the_run_lock_is_atomic_names_its_holder_and_expires(nb, cluster):
    from ansible_collections.nbsync.proxmox.plugins.module_utils._run_lock import ClusterLocks, lock_slug
    first = ClusterLocks(nb, wait=0, heartbeat=0)
    first.acquire([cluster])
    second = ClusterLocks(nb, wait=1, poll=0.2)
    started = time.monotonic()
    with pytest.raises(Locked) as err:
        second.acquire([cluster])
    assert time.monotonic() - started < 5
    assert first.owner in str(err.value) and first.run_id in str(err.value) and CLUSTER in str(err.value)
    first.release()
    assert nb.get('extras.tags', slug=lock_slug(cluster['id'])) is None
    crashed = ClusterLocks(nb, ttl=-1, heartbeat=0)                      # a run that died: its lock has expired
    crashed.acquire([cluster])
    taker = ClusterLocks(nb, wait=2)
    taker.acquire([cluster])
    assert taker.held and nb.get('extras.tags', slug=lock_slug(cluster['id']))['description'].find(taker.run_id) > 0
    taker.release()


def test_two_runs_started_together_clone_once_and_allocate_once(lab, tmp_path, cluster, nb, pve):
    vlan = nb.create('ipam.vlans', [{'vid': 32, 'name': 'safe-v32-' + TAG}])[0]
    net = '10.{0}.32'.format(NET)
    prefix = nb.create('ipam.prefixes', [{'prefix': net + '.0/24', 'vlan': vlan['id'],
                                          'custom_fields': {'proxmox_gateway': net + '.1'}}])[0]
    leftovers.extend([('ipam.vlans', vlan['id']), ('ipam.prefixes', prefix['id'])])
    names = ['pair{0}-{1}'.format(i, TAG) for i in range(6)]
    vms = nb.create('virtualization.virtual_machines', [{'name': n, 'cluster': cluster['id'], 'status': 'active',
                                                         'vcpus': 1, 'memory': 512} for n in names])
    nb.create('virtualization.interfaces', [{'virtual_machine': v['id'], 'name': 'eth0', 'mode': 'access',
                                             'untagged_vlan': vlan['id']} for v in vms])
    runs = [sync(lab, tmp_path / 'run{0}'.format(i), names=names, background=True) for i in range(2)]
    results = [run.finish() for run in runs]
    for result in results:
        assert result['summary']['failed'] == 0, [v for v in result['vms'] if v['error']]
    created = sorted(n for r in results for n, v in r['by_name'].items() if v['result'] == 'created')
    assert created == sorted(names)                                     # each VM cloned by exactly one run
    guests = [g for g in pve.guests() if g.get('name') in names]
    assert sorted(g['name'] for g in guests) == sorted(names)           # one guest per VM
    for vm in vms:
        ips = nb.list('ipam.ip_addresses', virtual_machine_id=vm['id'])
        assert len(ips) == 1, (vm['name'], [i['address'] for i in ips])  # one address per interface
    assert nb.get('extras.tags', slug='nbsync-lock-cluster-{0}'.format(cluster['id'])) is None   # both let go
    again = sync(lab, tmp_path / 'again', names=names)
    assert not again['changed']


# ------------------------------------------------------------------- answers that are not what they seem

def test_a_portal_page_instead_of_the_guest_list_releases_nothing(lab, tmp_path, cluster, nb, pve, pve_faults):
    """A 200 answer that is a login page, not PVE's JSON, once: before, /cluster/resources became [] and the
    decommissioning VM's NetBox side was released while its guest still ran. Now the VM fails naming the URL."""
    name = 'portal-' + TAG
    vmid = _clone_behind_netboxs_back(pve, name)
    vm = _vm(nb, cluster, name, status='decommissioning', custom_fields={'proxmox_vmid': vmid, 'proxmox_node': 'pve1'})
    pve_faults.fault('fail', method='GET', path='/cluster/resources', status=200, html=True, times=1,
                     message='<html><head><title>Sign in to the corporate proxy</title></head><body>login</body></html>')
    result = sync(lab, tmp_path, names=[name], allow_delete=True)
    report = result['by_name'][name]
    assert report['result'] == 'failed', report
    assert '{0}:{1}'.format(lab['pve']['host'], lab['pve']['port']) in report['error']
    assert '/cluster/resources' in report['error'] and 'JSON' in report['error']
    assert nb.get('virtualization.virtual_machines', id=vm['id'])        # NetBox's side kept
    assert pve.find_guest(vmid=vmid)['name'] == name                    # and the guest
    again = sync(lab, tmp_path, names=[name], allow_delete=True)        # the portal gone: removed properly
    assert again['by_name'][name]['result'] == 'removed'
    assert pve.find_guest(vmid=vmid) is None

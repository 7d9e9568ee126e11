"""Pure parts of NetBox -> Proxmox: NetBox JSON -> VmSpec, and the per-VM plan; plan -> apply -> plan is empty."""

import copy

from hypothesis import given, settings, strategies as st

from ansible_collections.nbsync.proxmox.plugins.module_utils._netbox_reader import to_specs
from ansible_collections.nbsync.proxmox.plugins.module_utils._reconcile import desired_options, plan_vm
from ansible_collections.nbsync.proxmox.plugins.module_utils._guest_plan import plan_config
from ansible_collections.nbsync.proxmox.plugins.module_utils._identity import resolve

DEFAULTS = {'template': 'debian12-cloudinit', 'storage': 'local-lvm', 'bridge': 'vmbr0',
            'clusters': {'lab': {'ciuser': 'ops'}}, 'roles': {'db': {'template': 'ubuntu2404-cloudinit'}}}


def vm(id_, name, status='active', vcpus=2, memory=2048, role=None, cf=None, cluster='lab', primary_ip4=None):
    return {'id': id_, 'name': name, 'status': {'value': status}, 'cluster': {'id': 1, 'name': cluster} if cluster else None,
            'role': {'slug': role} if role else None, 'vcpus': vcpus, 'memory': memory, 'tags': [{'name': 'web'}],
            'custom_fields': cf or {}, 'primary_ip4': {'id': primary_ip4} if primary_ip4 else None}


def iface(id_, vm_id, name, mac=None, vlan=None, slot=None):
    return {'id': id_, 'virtual_machine': {'id': vm_id}, 'name': name, 'mtu': None,
            'primary_mac_address': {'mac_address': mac} if mac else None,
            'untagged_vlan': {'id': vlan, 'vid': vlan} if vlan else None,
            'custom_fields': {'proxmox_slot': slot} if slot else {}}


def disk(id_, vm_id, name, size_mb, slot=None):
    return {'id': id_, 'virtual_machine': {'id': vm_id}, 'name': name, 'size': size_mb,
            'custom_fields': {'proxmox_slot': slot} if slot else {}}


def ip(id_, iface_id, address):
    return {'id': id_, 'address': address, 'assigned_object_type': 'virtualization.vminterface',
            'assigned_object_id': iface_id}


def test_to_specs_joins_and_applies_defaults():
    specs = to_specs([vm(1, 'web1'), vm(2, 'db1', role='db', cf={'proxmox_vmid': 120, 'proxmox_type': 'qemu'})],
                     [iface(10, 1, 'eth0', vlan=20), iface(11, 1, 'eth1', mac='bc:24:11:00:00:01')],
                     [disk(20, 1, 'disk0', 10240), disk(21, 1, 'virtio1', 2048)],
                     [ip(30, 10, '10.20.0.5/24')], DEFAULTS,
                     [{'id': 5, 'prefix': '10.20.0.0/24', 'vlan': {'id': 20}, 'custom_fields': {'proxmox_gateway': '10.20.0.1'}}])
    web, db = specs
    assert resolve(web, None) == []                                     # a new guest: slots in NetBox order
    assert web.template == 'debian12-cloudinit' and db.template == 'ubuntu2404-cloudinit'
    assert web.ciuser == 'ops' and db.vmid == 120
    assert [(d.slot, d.size) for d in web.disks] == [('scsi0', 10 << 30), ('virtio1', 2 << 30)]
    nics = [(n.slot, n.vlan, n.ips, n.mac) for n in web.nics]
    assert nics == [('net0', 20, ['10.20.0.5/24'], None), ('net1', None, [], 'BC:24:11:00:00:01')]
    assert web.nics[0].gateway == '10.20.0.1' and web.nics[0].prefix_id == 5
    assert not web.errors


def test_bad_input_is_collected_per_vm():
    specs = to_specs([vm(1, 'nocluster', cluster=None), vm(2, 'zero', memory=0), vm(3, 'dupmac')],
                     [iface(10, 3, 'eth0', mac='BC:24:11:00:00:01'), iface(11, 3, 'eth1', mac='bc:24:11:00:00:01')],
                     [disk(20, 2, 'd', -1)], [], DEFAULTS)
    errors = dict((s.name, ' '.join(s.errors)) for s in specs)
    assert 'no cluster' in errors['nocluster']
    assert 'memory: 0 MB' in errors['zero'] and 'virtual disk d' in errors['zero']
    assert 'both have MAC BC:24:11:00:00:01' in errors['dupmac']
    assert all(plan_vm(s, None, None).action == 'fail' for s in specs)


def _spec(status='active', **kw):
    spec = to_specs([vm(1, 'web1', status=status, **kw)], [iface(10, 1, 'eth0')], [disk(20, 1, 'scsi0', 10240)],
                    [ip(30, 10, '10.20.0.5/24')], DEFAULTS)[0]
    return spec


def _known(status='active', **kw):
    """A VM whose vmid, node, primary IP, NIC (MAC and slot) and disk slot NetBox already records (GUEST's:
    101 on pve1; address 30; CONFIG's net0 and scsi0)."""
    kw['cf'] = dict({'proxmox_vmid': 101, 'proxmox_node': 'pve1'}, **(kw.get('cf') or {}))
    kw.setdefault('primary_ip4', 30)
    return to_specs([vm(1, 'web1', status=status, **kw)], [iface(10, 1, 'eth0', mac='BC:24:11:AA:BB:CC', slot='net0')],
                    [disk(20, 1, 'scsi0', 10240, slot='scsi0')], [ip(30, 10, '10.20.0.5/24')], DEFAULTS)[0]


GUEST = {'vmid': 101, 'name': 'web1', 'type': 'qemu', 'node': 'pve1', 'status': 'running'}
CONFIG = {'cores': 2, 'memory': '2048', 'tags': 'web', 'ciuser': 'ops',
          'scsi0': 'local-lvm:vm-101-disk-0,size=10G', 'net0': 'virtio=BC:24:11:AA:BB:CC,bridge=vmbr0',
          'ipconfig0': 'ip=10.20.0.5/24', 'ide2': 'local-lvm:vm-101-cloudinit,media=cdrom'}


def test_status_transitions():
    assert plan_vm(_spec('planned'), None, None).action == 'noop'
    assert plan_vm(_spec('active'), None, None).action == 'create'
    assert plan_vm(_known('active'), GUEST, CONFIG).action == 'noop'
    stopped = dict(GUEST, status='stopped')
    assert plan_vm(_known('active'), stopped, CONFIG).reasons == ['power: stopped -> running']
    assert plan_vm(_known('offline'), GUEST, CONFIG).reasons == ['power: running -> stopped']
    assert plan_vm(_known('staged'), stopped, CONFIG).action == 'noop'
    assert plan_vm(_known('failed'), GUEST, CONFIG).action == 'skip'
    assert plan_vm(_known('planned'), GUEST, CONFIG).action == 'skip'


def test_decommissioning_is_guarded():
    assert plan_vm(_known('decommissioning'), GUEST, CONFIG).action == 'skip'
    assert plan_vm(_known('decommissioning'), GUEST, CONFIG, allow_delete=True).action == 'remove'
    protected = plan_vm(_known('decommissioning'), GUEST, dict(CONFIG, protection=1), allow_delete=True)
    assert protected.action == 'fail' and 'protection' in protected.error
    gone = plan_vm(_spec('decommissioning'), None, None)        # no guest: NetBox's side, still guarded
    assert gone.action == 'skip' and 'set allow_delete' in gone.reasons[0]
    gone = plan_vm(_spec('decommissioning'), None, None, allow_delete=True)
    assert gone.action == 'remove' and not gone.params and gone.reasons[-1].startswith('netbox: delete the VM')


def test_changes_have_field_reasons_and_shrink_fails():
    more = _known(memory=4096)
    assert 'memory: 2048 -> 4096' in plan_vm(more, GUEST, CONFIG).reasons
    small = plan_vm(_known(), GUEST, dict(CONFIG, scsi0='local-lvm:vm-101-disk-0,size=20G'))
    assert small.action == 'fail' and 'shrinking' in small.error


def test_a_guest_adopted_by_name_is_recorded_in_netbox():
    """NetBox without the vmid (its write-back failed) and a guest of that name: an update whose only
    change is the write-back, so the next run finishes the job instead of calling it unchanged."""
    adopted = plan_vm(_spec(), GUEST, CONFIG)
    assert adopted.action == 'update'
    # its one NIC is the one interface without a MAC (adoption pairs them), and the disk is scsi0 by name
    assert adopted.reasons == ['netbox: record interface eth0 as net0', 'netbox: record virtual disk scsi0 as scsi0',
                               'netbox: record vmid 101 (node pve1) of the guest found by name',
                               'netbox: primary IPv4 10.20.0.5/24']
    assert adopted.params['vmid'] == 101
    assert plan_vm(_known(), GUEST, CONFIG).action == 'noop'
    moved = plan_vm(_known(), dict(GUEST, node='pve2'), CONFIG)      # migrated in Proxmox: NetBox learns it
    assert moved.action == 'update' and moved.reasons == ['netbox: node pve1 -> pve2']


def test_adoption_by_name_keeps_to_the_type_and_to_unclaimed_vmids():
    from ansible_collections.nbsync.proxmox.plugins.module_utils._reconcile import Reconciler
    container = dict(GUEST, type='lxc')
    spec = _spec()
    guest, named = Reconciler._match(spec, [container])
    assert guest is None and "is a lxc guest, NetBox says qemu" in spec.errors[0]
    spec = _spec()
    guest, named = Reconciler._match(spec, [GUEST], claimed={101})    # another NetBox VM holds vmid 101
    assert guest is None and named == [] and not spec.errors
    guest, named = Reconciler._match(_spec(), [container, dict(GUEST, vmid=102)])
    assert guest['vmid'] == 102


def test_name_matching_two_guests_is_reported():
    twins = [dict(GUEST, vmid=101), dict(GUEST, vmid=102)]
    plan = plan_vm(_spec(), None, None, guests_named=twins)
    assert plan.action == 'fail' and '101, 102' in plan.error


def _apply(config, spec, kind='qemu'):
    """What the executor leaves behind: the planned config set/resized; and what the write-back records in
    NetBox: each NIC's and disk's slot, the MAC of each NIC."""
    resolve(spec, config)
    cfg_plan = plan_config(desired_options(spec), config, kind=kind, name=spec.name)
    for obj in spec.nics + spec.disks:
        obj.recorded_slot = obj.slot
    out = dict(config)
    out.update(dict((k, str(v)) for k, v in cfg_plan.set.items()))
    for key, size in cfg_plan.resize:
        out[key] = out[key].rsplit(',size=', 1)[0] + ',size=' + size
    return out


@settings(max_examples=150, deadline=None)
@given(st.integers(1, 32), st.sampled_from([512, 1024, 2048, 8192]), st.sampled_from([10240, 20480, 51200]),
       st.sampled_from([None, 10, 20]), st.lists(st.sampled_from(['web', 'db', 'prod']), unique=True))
def test_plan_apply_plan_is_empty_for_generated_netbox_states(vcpus, memory, disk_mb, vlan, tags):
    nb_vm = vm(1, 'web1', vcpus=vcpus, memory=memory, cf={'proxmox_vmid': 101, 'proxmox_node': 'pve1'}, primary_ip4=30)
    nb_vm['tags'] = [{'name': t} for t in tags]
    spec = to_specs([nb_vm], [iface(10, 1, 'eth0', vlan=vlan)], [disk(20, 1, 'scsi0', disk_mb)],
                    [ip(30, 10, '10.20.0.5/24')], DEFAULTS)[0]
    config = _apply(copy.deepcopy(CONFIG), spec)
    again = plan_vm(spec, GUEST, config)
    assert again.action == 'noop', again.reasons


def test_new_guests_get_distinct_vmids_before_parallel_clones():
    from ansible_collections.nbsync.proxmox.plugins.module_utils._reconcile import Reconciler

    class NextId:
        def next_vmid(self):
            return 100   # PVE gives every concurrent caller the same answer

    plans = [plan_vm(_spec(), None, None) for _i in range(3)]
    fixed = plan_vm(_spec(cf={'proxmox_vmid': 102}), None, None)
    Reconciler._assign_vmids(NextId(), plans + [fixed], used={100, 101, 9000})
    assert [p.params['vmid'] for p in plans] == [103, 104, 105]
    assert fixed.params['vmid'] == 102


def test_netbox_unreachable_at_write_back_is_reported_not_lost():
    """Proxmox work done, NetBox gone: every changed VM says so, and the next run adopts by name."""
    from ansible_collections.nbsync.proxmox.plugins.module_utils._errors import Unavailable
    from ansible_collections.nbsync.proxmox.plugins.module_utils._reconcile import Reconciler

    class GoneNetBox:
        def update(self, endpoint, items):
            raise Unavailable('cannot reach NetBox at http://nb (update of 1 virtualization.virtual_machines)')

    reconciler = Reconciler(GoneNetBox(), pve_factory=None)
    created = plan_vm(_spec(), None, None)
    unchanged = plan_vm(_known(), GUEST, CONFIG)
    results = [(created, {'vmid': 130, 'node': 'pve1', 'type': 'qemu', 'mac_addresses': {}}), (unchanged, None)]
    reconciler._write_back(results)
    summary = reconciler._summary(results, [], [])
    by_action = dict((e['result'], e) for e in summary['vms'])
    assert 'writing back to NetBox failed' in by_action['created']['warning']
    assert 'next run finishes it' in by_action['created']['warning']
    assert 'warning' not in by_action['unchanged']


def test_paused_hibernates_and_waits_with_config_changes():
    running = plan_vm(_known('paused'), GUEST, CONFIG)
    assert running.action == 'update' and running.reasons == ['power: running -> paused (hibernated)']
    assert running.params['state'] == 'paused'
    hibernated = dict(GUEST, status='stopped', lock='suspended')
    assert plan_vm(_known('paused'), hibernated, CONFIG).action == 'noop'
    waiting = plan_vm(_known('paused', memory=4096), hibernated, CONFIG)
    assert waiting.action == 'skip' and 'memory: 2048 -> 4096' in waiting.reasons[0]
    resume = plan_vm(_known('active'), hibernated, CONFIG)
    assert resume.action == 'update' and resume.reasons == ['power: paused -> running']
    ct = to_specs([vm(5, 'ct', status='paused', cf={'proxmox_type': 'lxc'})], [], [], [], DEFAULTS)[0]
    assert plan_vm(ct, dict(GUEST, type='lxc'), {}).action == 'fail'


def test_a_vmid_that_belongs_to_another_guest_is_reported():
    from ansible_collections.nbsync.proxmox.plugins.module_utils._reconcile import Reconciler
    spec = _spec(cf={'proxmox_vmid': 101})
    other = dict(GUEST, name='someone-else')
    guest, named = Reconciler._match(spec, [other])
    plan = plan_vm(spec, guest, CONFIG, guests_named=named)
    assert plan.action == 'fail'
    assert "proxmox_vmid 101: belongs to guest 'someone-else', not 'web1'" in plan.error
    wrong_type = _spec(cf={'proxmox_vmid': 101, 'proxmox_type': 'lxc'})
    guest, named = Reconciler._match(wrong_type, [GUEST])
    assert 'is a qemu guest, NetBox says lxc' in plan_vm(wrong_type, guest, CONFIG, guests_named=named).error


class RecordingNetBox:
    """A NetBox stand-in for the write-back: records each call; refuses any request that carries a VM in
    ``refuse`` (as NetBox refuses a whole bulk request for one bad object)."""

    def __init__(self, refuse=()):
        self.refuse = set(refuse)
        self.calls = []

    def update(self, endpoint, items):
        from ansible_collections.nbsync.proxmox.plugins.module_utils._errors import InvalidRequest
        self.calls.append(('update', endpoint, [dict(i) for i in items]))
        if endpoint == 'virtualization.virtual_machines' and self.refuse & set(i['id'] for i in items):
            raise InvalidRequest('NetBox refused the update: primary_ip4: not assigned to this VM')
        return items

    def create(self, endpoint, items):
        self.calls.append(('create', endpoint, [dict(i) for i in items]))
        return [dict(i, id=900 + n) for n, i in enumerate(items)]


def _created(vm_id, name, vmid):
    spec = to_specs([vm(vm_id, name)], [iface(10 * vm_id, vm_id, 'eth0')], [], [ip(30 + vm_id, 10 * vm_id, '10.20.0.%d/24' % vm_id)],
                    DEFAULTS)[0]
    return plan_vm(spec, None, None), {'vmid': vmid, 'node': 'pve1', 'type': 'qemu', 'mac_addresses': {'net0': 'BC:24:11:00:00:%02d' % vm_id}}


def test_write_back_records_vmid_primary_ip_and_macs_in_bulk():
    from ansible_collections.nbsync.proxmox.plugins.module_utils._reconcile import Reconciler
    nb = RecordingNetBox()
    results = [_created(1, 'a', 201), _created(2, 'b', 202)]
    Reconciler(nb, pve_factory=None)._write_back(results)
    vm_call = [c for c in nb.calls if c[1] == 'virtualization.virtual_machines']
    assert len(vm_call) == 1 and len(vm_call[0][2]) == 2                # one bulk call for both VMs
    first = vm_call[0][2][0]
    assert first['custom_fields'] == {'proxmox_vmid': 201, 'proxmox_node': 'pve1', 'proxmox_type': 'qemu'}
    assert first['primary_ip4'] == 31                                   # the VM's first IPv4, by its id
    assert [c[0] for c in nb.calls if c[1] == 'dcim.mac_addresses'] == ['create']
    assert all(not p.error for p, _r in results)


def test_a_write_back_netbox_refuses_fails_only_that_vm():
    from ansible_collections.nbsync.proxmox.plugins.module_utils._reconcile import Reconciler
    nb = RecordingNetBox(refuse={2})
    results = [_created(1, 'a', 201), _created(2, 'b', 202), _created(3, 'c', 203)]
    Reconciler(nb, pve_factory=None)._write_back(results)
    errors = dict((p.spec.name, p.error) for p, _r in results)
    assert errors['a'] is None and errors['c'] is None
    assert 'writing back to NetBox failed' in errors['b'] and 'primary_ip4' in errors['b']
    singles = [c for c in nb.calls if c[1] == 'virtualization.virtual_machines' and len(c[2]) == 1]
    assert sorted(c[2][0]['id'] for c in singles) == [1, 2, 3]          # the bulk refusal, then one by one


def test_a_set_primary_ip_is_never_replaced():
    from ansible_collections.nbsync.proxmox.plugins.module_utils._reconcile import Reconciler
    nb = RecordingNetBox()
    spec = to_specs([vm(1, 'a', primary_ip4=77, cf={'proxmox_vmid': 201, 'proxmox_node': 'pve1'})],
                    [iface(10, 1, 'eth0')], [], [ip(31, 10, '10.20.0.1/24')], DEFAULTS)[0]
    plan = plan_vm(spec, dict(GUEST, vmid=201, name='a'), CONFIG)
    assert not any(r.startswith('netbox: primary') for r in plan.reasons)
    Reconciler(nb, pve_factory=None)._write_back([(plan, {'vmid': 201, 'node': 'pve1', 'type': 'qemu'})])
    assert not [c for c in nb.calls if c[1] == 'virtualization.virtual_machines']


def test_custom_fields_are_created_once_and_only_listed_in_check_mode():
    from ansible_collections.nbsync.proxmox.plugins.module_utils._netbox_reader import NetBoxReader

    class FieldsNetBox:
        def __init__(self, existing):
            self.existing, self.created, self.updated = dict(existing), [], []

        def list(self, endpoint, **filters):
            assert endpoint == 'extras.custom_fields'
            return [{'id': n, 'name': n, 'object_types': list(t)} for n, t in self.existing.items()]

        def create(self, endpoint, items):
            self.created.extend(items)
            self.existing.update((i['name'], i['object_types']) for i in items)
            return items

        def update(self, endpoint, items):
            self.updated.extend(items)
            self.existing.update((i['id'], i['object_types']) for i in items)
            return items

    # proxmox_slot exists already for interfaces only (made by hand, say): it is given virtual disks too
    nb = FieldsNetBox({'proxmox_vmid': ['virtualization.virtualmachine'], 'proxmox_slot': ['virtualization.vminterface']})
    planned = NetBoxReader(nb).ensure_custom_fields(check_mode=True)
    assert 'proxmox_node' in planned and 'proxmox_vmid' not in planned and nb.created == []
    made = NetBoxReader(nb).ensure_custom_fields()
    assert made == planned and set(i['name'] for i in nb.created) == set(planned) - {'proxmox_slot'}
    assert NetBoxReader(nb).ensure_custom_fields() == []                 # second run: nothing to create
    vm_field = next(i for i in nb.created if i['name'] == 'proxmox_node')
    assert vm_field['object_types'] == ['virtualization.virtualmachine']
    assert 'proxmox_slot' in made and nb.updated == [
        {'id': 'proxmox_slot', 'object_types': ['virtualization.vminterface', 'virtualization.virtualdisk']}]


NIC_SHAPES = st.lists(st.tuples(st.sampled_from([None, 10, 20, 30]), st.booleans()), min_size=1, max_size=3)


@settings(max_examples=150, deadline=None)
@given(NIC_SHAPES, st.sampled_from([10240, 20480]), st.sampled_from([1024, 4096]), st.sampled_from(['virtio1', 'sata1']),
       st.sampled_from(['qemu', 'lxc']))
def test_plan_apply_plan_is_empty_for_multi_nic_multi_disk_guests_of_both_kinds(nics, root_mb, data_mb, data_slot, kind):
    """Several NICs (VLAN or none, address or none) and two disks on two buses (QEMU) or rootfs and a
    mount point (LXC), against a guest that has the NICs and smaller disks: one application converges."""
    cf = {'proxmox_vmid': 101, 'proxmox_node': 'pve1', 'proxmox_type': kind}
    nb_vm = vm(1, 'web1', cf=cf, primary_ip4=31 if any(has_ip for _v, has_ip in nics) else None)
    ifaces = [iface(10 + i, 1, 'eth{0}'.format(i), mac='BC:24:11:00:00:{0:02X}'.format(i), vlan=vlan)
              for i, (vlan, _ip) in enumerate(nics)]
    ips = [ip(31 + i, 10 + i, '10.{0}.0.5/24'.format(20 + i)) for i, (_vlan, has_ip) in enumerate(nics) if has_ip]
    disks = [disk(20, 1, 'scsi0' if kind == 'qemu' else 'root', root_mb), disk(21, 1, data_slot, data_mb)]
    spec = to_specs([nb_vm], ifaces, disks, ips, DEFAULTS)[0]
    assert not spec.errors
    if kind == 'qemu':
        config = {'cores': 2, 'memory': '2048', 'tags': 'web', 'ciuser': 'ops',
                  'scsi0': 'local-lvm:vm-101-disk-0,size=8G', data_slot: 'local-lvm:vm-101-disk-1,size=512M',
                  'ide2': 'local-lvm:vm-101-cloudinit,media=cdrom'}
        for i in range(len(nics)):
            config['net{0}'.format(i)] = 'virtio=BC:24:11:00:00:{0:02X},bridge=vmbr0'.format(i)
    else:
        config = {'cores': 2, 'memory': '2048', 'tags': 'web', 'rootfs': 'local-lvm:vm-101-disk-0,size=4G',
                  'mp0': 'local-lvm:vm-101-disk-1,mp=/mnt/mp0,size=512M'}
        for i in range(len(nics)):
            config['net{0}'.format(i)] = 'name=eth{0},bridge=vmbr0,hwaddr=BC:24:11:00:00:{0:02X}'.format(i)
    guest = dict(GUEST, type=kind)
    first = plan_vm(spec, guest, config)
    assert first.action == 'update', first.error                        # the disks grow at least
    applied = _apply(copy.deepcopy(config), spec, kind)
    again = plan_vm(spec, guest, applied)
    assert again.action == 'noop', again.reasons


def test_the_run_diff_keys_each_vm_by_cluster_and_name():
    from ansible_collections.nbsync.proxmox.plugins.module_utils._reconcile import combined_diff
    vms = [{'cluster': 'dc1', 'name': 'web', 'diff': {'before': {'memory': 1}, 'after': {'memory': 2}}},
           {'cluster': 'dc2', 'name': 'web', 'diff': {'before': {}, 'after': {'cores': 2}}},
           {'cluster': 'dc1', 'name': 'db'}]
    assert combined_diff(vms) == {'before': {'dc1/web': {'memory': 1}, 'dc2/web': {}},
                                  'after': {'dc1/web': {'memory': 2}, 'dc2/web': {'cores': 2}}}
    assert combined_diff(vms[2:]) is None


def test_a_netbox_without_the_proxmox_cluster_type_is_said_plainly():
    """NetBox answers a filter on a cluster type it lacks with HTTP 400 (type: not one of the choices); a new
    user's NetBox has none yet: that is no cluster to synchronise, with the reason, not a failed run."""
    from ansible_collections.nbsync.proxmox.plugins.module_utils._errors import InvalidRequest
    from ansible_collections.nbsync.proxmox.plugins.module_utils._netbox_reader import NetBoxReader

    class NoTypeNetBox:
        def list(self, endpoint, **filters):
            raise InvalidRequest('NetBox refused list of virtualization.clusters', status=400,
                                 field_errors={'type': 'Select a valid choice. proxmox is not one of the available choices.'})

    reader = NetBoxReader(NoTypeNetBox())
    assert reader.proxmox_clusters() == []
    assert "no cluster type with the slug 'proxmox'" in reader.warnings[0]

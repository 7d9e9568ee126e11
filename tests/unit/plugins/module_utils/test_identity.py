"""Which guest NIC and disk slot a NetBox interface and virtual disk are: by MAC and recorded slot, never position."""

from ansible_collections.nbsync.proxmox.plugins.module_utils._identity import guest_macs, resolve
from ansible_collections.nbsync.proxmox.plugins.module_utils._model import DiskSpec, NicSpec, VmSpec
from ansible_collections.nbsync.proxmox.plugins.module_utils._reconcile import desired_options, plan_vm

GUEST = {'vmid': 101, 'name': 'web1', 'type': 'qemu', 'node': 'pve1', 'status': 'running'}
MAC0, MAC1, MAC2 = 'BC:24:11:00:00:00', 'BC:24:11:00:00:01', 'BC:24:11:00:00:02'


def _config():
    return {'cores': 2, 'memory': '2048', 'scsi0': 'local-lvm:vm-101-disk-0,size=10G',
            'scsi1': 'local-lvm:vm-101-disk-1,size=2G', 'ide2': 'local-lvm:vm-101-cloudinit,media=cdrom',
            'net0': 'virtio={0},bridge=vmbr0'.format(MAC0), 'net1': 'virtio={0},bridge=vmbr0,tag=20'.format(MAC1),
            'ipconfig0': 'ip=dhcp', 'ipconfig1': 'ip=dhcp'}


def _spec(nics, disks=(), kind='qemu'):
    spec = VmSpec('web1', cluster='lab', status='active', kind=kind, vmid=101, node='pve1', vcpus=2, memory=2048)
    spec.recorded_node = 'pve1'
    spec.nics = list(nics)
    spec.disks = list(disks)
    return spec


def test_deleting_the_first_interface_never_shifts_the_others():
    """eth0 deleted in NetBox: eth1 is still net1 (its MAC says so), never moved onto net0."""
    eth1 = NicSpec(name='eth1', mac=MAC1, bridge='vmbr0', vlan=20, recorded_slot='net1')
    spec = _spec([eth1])
    assert resolve(spec, _config()) == []
    assert eth1.slot == 'net1'
    plan = plan_vm(spec, GUEST, _config())
    assert plan.action == 'noop', plan.reasons          # net0 left as it is (its removal is another issue's)


def test_a_nic_follows_its_mac_whatever_the_names_and_the_recorded_slot_say():
    a = NicSpec(name='a', mac=MAC1, bridge='vmbr0', recorded_slot='net0')   # the guest says: MAC1 is net1
    b = NicSpec(name='b', mac=MAC0, bridge='vmbr0')
    spec = _spec([a, b])
    assert resolve(spec, _config()) == []
    assert (a.slot, b.slot) == ('net1', 'net0')


def test_a_new_interface_takes_a_free_slot_not_a_nic_the_guest_has():
    new = NicSpec(name='aaa', bridge='vmbr1')          # sorts first, has no MAC: a new NIC
    known = NicSpec(name='eth0', mac=MAC0, bridge='vmbr0', recorded_slot='net0')
    spec = _spec([new, known])
    assert resolve(spec, _config()) == []
    assert (new.slot, known.slot) == ('net2', 'net0')
    options = desired_options(spec)
    assert [n['name'] for n in options['nics']] == ['net2', 'net0']
    assert [c['index'] for c in options['ipconfig']] == [2, 0]   # ipconfigN follows netN, not the list order


def test_a_plan_that_gives_two_nics_one_mac_is_refused():
    """Two interfaces with one MAC (NetBox's reader refuses that too), and a guest that already has two NICs
    with one MAC: no plan goes ahead."""
    plan = plan_vm(_spec([NicSpec(name='eth0', mac=MAC0, bridge='vmbr0', recorded_slot='net0'),
                          NicSpec(name='eth1', mac=MAC0, bridge='vmbr0', recorded_slot='net1')]), GUEST, _config())
    assert plan.action == 'fail' and 'eth0 and eth1' in plan.error
    cloned_by_hand = dict(_config(), net1='virtio={0},bridge=vmbr0'.format(MAC0))
    plan = plan_vm(_spec([NicSpec(name='eth0', mac=MAC0, bridge='vmbr0', recorded_slot='net0')]), GUEST, cloned_by_hand)
    assert plan.action == 'fail' and 'net0 and net1 would both have MAC {0}'.format(MAC0) in plan.error


def test_two_interfaces_claiming_one_slot_are_refused():
    a = NicSpec(name='a', bridge='vmbr0', recorded_slot='net3')
    b = NicSpec(name='b', bridge='vmbr0', recorded_slot='net3')
    problems = resolve(_spec([a, b]), _config())
    assert problems and 'interfaces a and b both are net3' in problems[0]


def test_disks_keep_their_recorded_slot_when_another_is_added_or_removed():
    data = DiskSpec(None, 2 << 30, name='data', recorded_slot='scsi1')
    alpha = DiskSpec(None, 1 << 30, name='alpha')      # new, sorts before 'data'
    root = DiskSpec(None, 10 << 30, name='root', recorded_slot='scsi0')
    spec = _spec([], [alpha, data, root])
    assert resolve(spec, _config()) == []
    assert (alpha.slot, data.slot, root.slot) == ('scsi2', 'scsi1', 'scsi0')
    spec = _spec([], [data])                           # root deleted in NetBox: data stays scsi1
    assert resolve(spec, _config()) == [] and data.slot == 'scsi1'


def test_container_disks_by_recorded_slot_not_by_order():
    srv = DiskSpec(None, 1 << 30, name='srv', recorded_slot='mp1')
    new = DiskSpec(None, 1 << 30, name='logs')
    config = {'rootfs': 'local-lvm:subvol-1,size=8G', 'mp0': 'local-lvm:subvol-2,mp=/mnt/mp0,size=1G',
              'mp1': 'local-lvm:subvol-3,mp=/mnt/mp1,size=1G'}
    spec = _spec([], [new, srv], kind='lxc')
    assert resolve(spec, config) == []
    assert (srv.slot, new.slot) == ('mp1', 'mp2')      # never rootfs or mp0 of the guest


def test_a_guest_made_before_slots_were_recorded_keeps_its_old_slots():
    """No custom field on any disk: the slots earlier versions gave (name order), recorded by this run."""
    root = DiskSpec(None, 10 << 30, name='root')
    data = DiskSpec(None, 2 << 30, name='data')
    spec = _spec([], [data, root])
    assert resolve(spec, _config()) == []
    assert (data.slot, root.slot) == ('scsi0', 'scsi1')


def test_adoption_pairs_the_nics_of_a_guest_found_by_name_only_when_they_correspond():
    one, two = NicSpec(name='eth0', bridge='vmbr0'), NicSpec(name='eth1', bridge='vmbr0')
    spec = _spec([one, two])
    spec.vmid = None
    assert resolve(spec, _config()) == [] and (one.slot, two.slot) == ('net0', 'net1')
    three = [NicSpec(name='eth{0}'.format(i), bridge='vmbr0') for i in range(3)]
    spec = _spec(three)
    spec.vmid = None
    assert resolve(spec, _config()) == []
    assert [n.slot for n in three] == ['net2', 'net3', 'net4']   # no one-to-one: nothing taken over


def test_guest_macs_reads_both_kinds():
    assert guest_macs({'net0': 'virtio=bc:24:11:00:00:00,bridge=vmbr0',
                       'net1': 'name=eth1,bridge=vmbr0,hwaddr=BC:24:11:00:00:01', 'scsi0': 'x'}) == {
        'net0': MAC0, 'net1': MAC1}

"""Pure planning of guest configuration: only what the user set, normalised, merged; plan -> apply -> empty."""

import pytest
from hypothesis import given, settings, strategies as st

from ansible_collections.nbsync.proxmox.plugins.module_utils._errors import InvalidParameter
from ansible_collections.nbsync.proxmox.plugins.module_utils._guest_plan import mac_addresses, plan_config

TEMPLATE = {
    'name': 'debian12-cloudinit', 'cores': 2, 'sockets': 1, 'memory': '2048', 'agent': 'enabled=1',
    'scsi0': 'local-lvm:vm-101-disk-0,discard=on,iothread=1,size=8G',
    'ide2': 'local-lvm:vm-101-cloudinit,media=cdrom',
    'net0': 'virtio=BC:24:11:26:14:1A,bridge=vmbr0', 'ciuser': 'debian', 'ipconfig0': 'ip=dhcp',
    'tags': 'b;a', 'onboot': 1,
}


def apply(config, plan):
    """What PVE does with a plan (for the round-trip property): set, delete, grow."""
    out = dict(config)
    out.update(dict((k, str(v)) for k, v in plan.set.items()))
    for key in plan.delete:
        out.pop(key, None)
    for key, size in plan.resize:
        from ansible_collections.nbsync.proxmox.plugins.module_utils import _pve_codecs as c
        import dataclasses
        disk = c.parse_qemu_disk(out[key])
        out[key] = dataclasses.replace(disk, size=c.parse_size(size)).to_string()
    return out


def test_nothing_set_plans_nothing():
    assert not plan_config({}, TEMPLATE).changed


def test_types_are_normalised():
    plan = plan_config({'memory': 2048, 'cores': '2', 'onboot': True, 'tags': ['a', 'b']}, TEMPLATE)
    assert not plan.changed, plan.tracker.reasons()


def test_scalar_change_has_a_reason_and_diff():
    plan = plan_config({'memory': 4096, 'cores': 2}, TEMPLATE)
    assert plan.set == {'memory': 4096}
    assert plan.tracker.reasons() == ['memory: 2048 -> 4096']
    assert plan.tracker.diff() == {'before': {'memory': 2048}, 'after': {'memory': 4096}}


def test_nic_merge_keeps_mac_and_changes_only_the_bridge():
    plan = plan_config({'nics': [{'bridge': 'vmbr1', 'tag': 20}]}, TEMPLATE)
    assert plan.set == {'net0': 'virtio=BC:24:11:26:14:1A,bridge=vmbr1,tag=20'}


def test_new_nic_needs_a_bridge_and_defaults_to_virtio():
    plan = plan_config({'nics': [{}, {'bridge': 'vmbr2', 'firewall': True}]}, TEMPLATE)
    assert plan.set == {'net1': 'virtio,bridge=vmbr2,firewall=1'}
    with pytest.raises(InvalidParameter) as info:
        plan_config({'nics': [{}, {'tag': 5}]}, TEMPLATE)
    assert 'net1' in str(info.value) and 'bridge' in str(info.value)


def test_malformed_mac_names_vm_nic_and_field():
    with pytest.raises(InvalidParameter) as info:
        plan_config({'nics': [{'macaddr': 'zz:11'}]}, TEMPLATE, name='web1')
    assert 'web1 net0' in str(info.value) and 'macaddr' in str(info.value)


def test_malformed_cidr_names_the_field():
    with pytest.raises(InvalidParameter) as info:
        plan_config({'ipconfig': [{'ip': '10.0.0.300/24'}]}, TEMPLATE, name='web1')
    assert 'ip' in str(info.value) and '10.0.0.300/24' in str(info.value)


def test_disk_grow_is_a_resize_and_shrink_is_refused():
    plan = plan_config({'disks': [{'name': 'scsi0', 'size': '20G'}]}, TEMPLATE)
    assert plan.resize == [('scsi0', '20G')] and not plan.set
    assert not plan_config({'disks': [{'name': 'scsi0', 'size': '8G'}]}, TEMPLATE).changed
    with pytest.raises(InvalidParameter) as info:
        plan_config({'disks': [{'name': 'scsi0', 'size': '4G'}]}, TEMPLATE, name='web1')
    assert 'shrinking' in str(info.value) and 'web1 scsi0' in str(info.value) and '8G' in str(info.value)


def test_new_disks_on_each_bus():
    disks = [{'name': 'virtio1', 'size': '10G', 'storage': 'ceph-rbd'},
             {'name': 'sata0', 'size': '2G'},
             {'name': 'scsi1', 'size': '4G', 'ssd': True, 'discard': True}]
    plan = plan_config({'disks': disks, 'default_storage': 'local-lvm'}, TEMPLATE)
    assert plan.set == {'virtio1': 'ceph-rbd:10', 'sata0': 'local-lvm:2', 'scsi1': 'local-lvm:4,discard=on,ssd=1'}


def test_new_disk_needs_whole_gib_and_a_storage():
    with pytest.raises(InvalidParameter):
        plan_config({'disks': [{'name': 'scsi1', 'size': '1536M', 'storage': 'x'}]}, TEMPLATE)
    with pytest.raises(InvalidParameter):
        plan_config({'disks': [{'name': 'scsi1', 'size': '2G'}]}, TEMPLATE)
    with pytest.raises(InvalidParameter):
        plan_config({'disks': [{'name': 'ide2', 'size': '2G'}]}, TEMPLATE)   # the CD-ROM slot


def test_sshkeys_are_sent_encoded_and_compared_decoded():
    key = 'ssh-ed25519 AAAAC3Nza user@host'
    plan = plan_config({'sshkeys': key + '\n'}, TEMPLATE)
    assert plan.set['sshkeys'] == 'ssh-ed25519%20AAAAC3Nza%20user%40host'
    assert not plan_config({'sshkeys': key}, dict(TEMPLATE, sshkeys=plan.set['sshkeys'])).changed


def test_password_only_when_new_or_asked():
    assert plan_config({'cipassword': 's3cret'}, TEMPLATE).set == {'cipassword': 's3cret'}
    existing = dict(TEMPLATE, cipassword='**********')
    assert not plan_config({'cipassword': 's3cret'}, existing).changed
    plan = plan_config({'cipassword': 's3cret'}, existing, update_password=True)
    assert plan.set == {'cipassword': 's3cret'}
    assert 's3cret' not in repr(plan.tracker.diff())


def test_agent_merges_subkeys():
    assert not plan_config({'agent': True}, dict(TEMPLATE, agent='1,fstrim_cloned_disks=1')).changed
    plan = plan_config({'agent': 'enabled=1,fstrim_cloned_disks=1'}, TEMPLATE)
    assert plan.set == {'agent': '1,fstrim_cloned_disks=1'}


def test_lxc_options():
    ct = {'hostname': 'c1', 'cores': 1, 'memory': 512, 'swap': 512, 'rootfs': 'local-lvm:vm-1-disk-0,size=4G',
          'net0': 'name=eth0,bridge=vmbr0,hwaddr=BC:24:11:F0:56:82,ip=dhcp,type=veth'}
    plan = plan_config({'memory': 1024, 'nics': [{'ip': '10.1.0.5/24', 'gw': '10.1.0.1'}],
                        'disks': [{'name': 'rootfs', 'size': '8G'},
                                  {'name': 'mp0', 'size': '2G', 'mp': '/data', 'storage': 'local-lvm'}]},
                       ct, kind='lxc')
    assert plan.set['memory'] == 1024
    assert plan.set['net0'] == 'name=eth0,bridge=vmbr0,gw=10.1.0.1,hwaddr=BC:24:11:F0:56:82,ip=10.1.0.5/24,type=veth'
    assert plan.set['mp0'] == 'local-lvm:2,mp=/data'
    assert plan.resize == [('rootfs', '8G')]
    with pytest.raises(InvalidParameter):
        plan_config({'sockets': 2}, ct, kind='lxc')


def test_mac_addresses():
    assert mac_addresses(TEMPLATE) == {'net0': 'BC:24:11:26:14:1A'}


_bridges = st.sampled_from(['vmbr0', 'vmbr1', 'vmbr2'])
_nic = st.fixed_dictionaries({}, optional={'bridge': _bridges, 'tag': st.integers(1, 4094),
                                           'firewall': st.booleans(), 'mtu': st.integers(576, 9000)})
_desired = st.fixed_dictionaries({}, optional={
    'cores': st.integers(1, 64), 'sockets': st.integers(1, 4), 'memory': st.integers(16, 1 << 20),
    'onboot': st.booleans(), 'description': st.text('abc xyz', min_size=1, max_size=20).map(str.strip).filter(bool),
    'tags': st.lists(st.sampled_from(['web', 'db', 'prod']), min_size=1, unique=True),
    'nics': st.lists(_nic, min_size=1, max_size=1),
    'disks': st.lists(st.fixed_dictionaries({'name': st.just('scsi0'), 'size': st.sampled_from(['8G', '16G', '100G'])},
                                            optional={'ssd': st.booleans()}), min_size=1, max_size=1),
})


@settings(max_examples=200, deadline=None)
@given(_desired)
def test_plan_apply_plan_is_empty(desired):
    plan = plan_config(desired, TEMPLATE)
    after = apply(TEMPLATE, plan)
    again = plan_config(desired, after)
    assert not again.changed, (desired, again.tracker.reasons())


def test_only_config_updates_without_allocation_are_retried():
    from ansible_collections.nbsync.proxmox.plugins.module_utils._vm_clone import _allocates_volume
    assert _allocates_volume('local-lvm:4,ssd=1') and _allocates_volume('ceph-rbd:cloudinit')
    assert not _allocates_volume('local-lvm:vm-101-disk-0,size=8G,ssd=1')
    assert not _allocates_volume(4096)

# Copyright (c) 2026 nbsync.proxmox contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import (absolute_import, division, print_function)

__metaclass__ = type

import dataclasses

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ansible_collections.nbsync.proxmox.plugins.module_utils._pve_codecs import (
    DISK_BUSES,
    QEMU_NET_MODELS,
    AgentConfig,
    IpConfig,
    LxcMount,
    LxcNet,
    QemuDisk,
    QemuNet,
    as_bool,
    as_int,
    disk_bus_and_index,
    format_agent,
    format_ipconfig,
    format_lxc_mount,
    format_lxc_net,
    format_new_volume,
    format_property_string,
    format_qemu_disk,
    format_qemu_net,
    format_size,
    is_cloudinit_drive,
    is_disk_key,
    normalize_mac,
    parse_agent,
    parse_ipconfig,
    parse_lxc_mount,
    parse_lxc_net,
    parse_new_volume,
    parse_property_string,
    parse_qemu_disk,
    parse_qemu_memory,
    parse_qemu_net,
    parse_size,
    split_volume_id,
)

G = 1024 ** 3


def raises(field, value=None):
    """pytest.raises(ValueError) whose message must name the field (and the bad value if given)."""
    class _Check:
        def __enter__(self):
            self.ctx = pytest.raises(ValueError)
            self.info = self.ctx.__enter__()
            return self.info

        def __exit__(self, *exc):
            handled = self.ctx.__exit__(*exc)
            message = str(self.info.value)
            assert message.startswith(field + ':'), message
            if value is not None:
                assert value in message, message
            return handled
    return _Check()


# ------------------------------------------------------------ generic strings

class TestPropertyString:
    def test_plain(self):
        assert parse_property_string('bridge=vmbr0,tag=10') == {'bridge': 'vmbr0', 'tag': '10'}

    def test_default_key(self):
        assert parse_property_string('local-lvm:vm-100-disk-0,size=32G', default_key='file') == {
            'file': 'local-lvm:vm-100-disk-0', 'size': '32G'}

    def test_default_key_not_first(self):
        assert parse_property_string('size=32G,local:iso/x.iso', default_key='file') == {'size': '32G', 'file': 'local:iso/x.iso'}

    def test_value_may_contain_equals(self):
        assert parse_property_string('args=-cpu=host,b=x=y=z') == {'args': '-cpu=host', 'b': 'x=y=z'}

    def test_blank_items_are_ignored(self):
        assert parse_property_string(' ,a=1,, ,b=2,') == {'a': '1', 'b': '2'}
        assert parse_property_string('') == {}

    def test_value_whitespace_is_kept(self):
        assert parse_property_string('a= x ') == {'a': ' x '}

    @pytest.mark.parametrize('text, default_key', [
        ('a=1,a=2', None),
        ('x,file=y', 'file'),
        ('file=y,x', 'file'),
        ('x,y', 'file'),
    ])
    def test_duplicates(self, text, default_key):
        with pytest.raises(ValueError, match='more than once'):
            parse_property_string(text, default_key=default_key)

    @pytest.mark.parametrize('text', ['a=', '=b', 'vmbr0', 'a=1,\nb=2', 'a b=1', 'a,b=1'])
    def test_invalid(self, text):
        with pytest.raises(ValueError):
            parse_property_string(text)

    def test_not_a_string(self):
        with pytest.raises(ValueError):
            parse_property_string(None)

    def test_format_order(self):
        props = {'tag': 10, 'bridge': 'vmbr0', 'firewall': True, 'name': 'eth0', 'skip': None}
        assert format_property_string(props) == 'bridge=vmbr0,firewall=1,name=eth0,tag=10'
        assert format_property_string(props, order=('name', 'absent')) == 'name=eth0,bridge=vmbr0,firewall=1,tag=10'
        assert format_property_string({'size': '8G', 'file': 'local:100/x.raw'}, default_key='file') == 'local:100/x.raw,size=8G'

    def test_format_numbers(self):
        assert format_property_string({'a': 12.5, 'b': 3.0, 'c': 0, 'd': False}) == 'a=12.5,b=3,c=0,d=0'

    def test_format_default_value_with_equals_is_explicit(self):
        text = format_property_string({'file': 'local:iso/a=b.iso'}, default_key='file')
        assert text == 'file=local:iso/a=b.iso'
        assert parse_property_string(text, default_key='file') == {'file': 'local:iso/a=b.iso'}

    @pytest.mark.parametrize('props', [
        {'a': 'x,y'}, {'a': ''}, {'a': 'x\ny'}, {'bad key': '1'}, {'a=b': '1'}, {'a': float('nan')}, {'a': object()},
    ])
    def test_format_refuses_unrepresentable(self, props):
        with pytest.raises(ValueError):
            format_property_string(props)


KEYS = st.from_regex(r'\A[A-Za-z0-9][A-Za-z0-9_.\-]{0,12}\Z')
VALUES = st.text(st.characters(blacklist_characters=',\r\n', blacklist_categories=('Cs',)), min_size=1, max_size=16)


@given(props=st.dictionaries(KEYS, VALUES, max_size=8), default=st.one_of(st.none(), KEYS))
def test_property_string_round_trip(props, default):
    text = format_property_string(props, default_key=default)
    assert parse_property_string(text, default_key=default) == props
    assert format_property_string(parse_property_string(text, default_key=default), default_key=default) == text


@given(props=st.dictionaries(KEYS, VALUES, max_size=8), order=st.lists(KEYS, max_size=4))
def test_property_string_order_is_only_presentation(props, order):
    assert parse_property_string(format_property_string(props, order=order)) == props


# -------------------------------------------------------------------- scalars

class TestScalars:
    @pytest.mark.parametrize('value, expected', [
        ('2048', 2048), (2048, 2048), (2048.0, 2048), ('2048.0', 2048), (' 16 ', 16), ('-1', -1), ('+5', 5),
    ])
    def test_as_int(self, value, expected):
        assert as_int(value) == expected

    @pytest.mark.parametrize('value', ['2048.5', 2048.5, True, None, '', 'abc', '1e3', float('inf'), [1]])
    def test_as_int_invalid(self, value):
        with raises('memory'):
            as_int(value, 'memory')

    @pytest.mark.parametrize('value, expected', [
        ('1', True), (1, True), (True, True), ('on', True), ('YES', True), ('true', True),
        ('0', False), (0, False), (False, False), ('off', False), ('No', False), ('false', False),
    ])
    def test_as_bool(self, value, expected):
        assert as_bool(value) is expected

    @pytest.mark.parametrize('value', [2, -1, '2', '', 'enabled', None, 1.0])
    def test_as_bool_invalid(self, value):
        with raises('onboot'):
            as_bool(value, 'onboot')

    @pytest.mark.parametrize('text, expected', [
        ('32G', 32 * G), ('1T', 1024 * G), ('512M', 512 * 1024 ** 2), ('4K', 4096), ('1000', 1000),
        ('1.5G', 3 * G // 2), ('0.5K', 512), ('1.9', 1), ('0.001K', 1), (4096, 4096),
    ])
    def test_parse_size(self, text, expected):
        assert parse_size(text) == expected

    @pytest.mark.parametrize('text', ['0', '0G', '0.0001', '-1G', '32g', '32GiB', '32GB', '1P', '', ' 32G', 'G', '1.G', 'abc', -5, 0, True, None])
    def test_parse_size_invalid(self, text):
        with raises('size', repr(text)):
            parse_size(text)

    @pytest.mark.parametrize('size, expected', [
        (32 * G, '32G'), (1024 * G, '1T'), (1536 * G, '1536G'), (528 * 1024, '528K'), (4 * 1024 ** 2, '4M'), (1000, '1000'), (1, '1'),
    ])
    def test_format_size(self, size, expected):
        assert format_size(size) == expected

    @pytest.mark.parametrize('size', [0, -1024, 1.5, '32G', True, None])
    def test_format_size_invalid(self, size):
        with raises('size'):
            format_size(size)

    @pytest.mark.parametrize('text, expected', [
        ('bc:24:11:aa:bb:cc', 'BC:24:11:AA:BB:CC'), ('BC-24-11-AA-BB-CC', 'BC:24:11:AA:BB:CC'),
        ('bc2411aabbcc', 'BC:24:11:AA:BB:CC'), (' 02:00:00:00:00:01 ', '02:00:00:00:00:01'),
    ])
    def test_normalize_mac(self, text, expected):
        assert normalize_mac(text) == expected

    @pytest.mark.parametrize('text', [
        'BC:24:11:AA:BB', 'BC:24:11:AA:BB:CC:DD', 'GG:24:11:AA:BB:CC', 'BC:24-11:AA:BB:CC', '01:00:5E:00:00:01', 'FF:FF:FF:FF:FF:FF', '', None,
    ])
    def test_normalize_mac_invalid(self, text):
        with raises('hwaddr', repr(text)):
            normalize_mac(text, 'hwaddr')

    def test_qemu_memory(self):
        assert parse_qemu_memory('2048') == 2048
        assert parse_qemu_memory(2048) == 2048
        assert parse_qemu_memory('current=4096') == 4096
        with raises('memory'):
            parse_qemu_memory('big')
        with raises('memory'):
            parse_qemu_memory('foo=1')


@given(st.integers(min_value=1, max_value=2 ** 62))
def test_size_round_trip(size):
    text = format_size(size)
    assert parse_size(text) == size
    assert format_size(parse_size(text)) == text


@given(st.integers(min_value=1, max_value=2 ** 40), st.sampled_from(['', 'K', 'M', 'G', 'T']))
def test_format_size_uses_largest_exact_unit(number, unit):
    size = parse_size(f'{number}{unit}')
    text = format_size(size)
    assert parse_size(text) == size
    digits, unit = (text[:-1], text[-1]) if text[-1] in 'KMGT' else (text, '')
    if unit != 'T':
        assert int(digits) % 1024 != 0  # else a larger unit would have been used


# -------------------------------------------------------------------- volumes

class TestVolumes:
    def test_split(self):
        assert split_volume_id('local-lvm:vm-100-disk-0') == ('local-lvm', 'vm-100-disk-0')
        assert split_volume_id('local:iso/debian-12.iso') == ('local', 'iso/debian-12.iso')
        for other in ('none', 'cdrom', '/dev/sdb', 'x:y', ':y', 'local:', None):
            assert split_volume_id(other) is None

    def test_new_volume(self):
        assert parse_new_volume('local-lvm:32') == ('local-lvm', 32 * G)
        assert parse_new_volume('local-lvm:0.5') == ('local-lvm', G // 2)
        assert parse_new_volume('local-lvm:0') == ('local-lvm', 0)
        assert parse_new_volume('local-lvm:vm-100-disk-0') is None
        assert parse_new_volume('32') is None
        assert format_new_volume('local-lvm', 32 * G) == 'local-lvm:32'
        assert format_new_volume('local-lvm', '512M') == 'local-lvm:0.5'
        assert format_new_volume('local-lvm', 0) == 'local-lvm:0'
        assert format_new_volume('ceph', 2 ** 60 + 1024) == 'ceph:1073741824.00000095367431640625'

    @pytest.mark.parametrize('storage, size, field', [('local-lvm', 1000, 'size'), ('local-lvm', -1024, 'size'), ('9bad', G, 'storage'), ('', G, 'storage')])
    def test_new_volume_invalid(self, storage, size, field):
        with raises(field):
            format_new_volume(storage, size)

    @pytest.mark.parametrize('key, expected', [
        ('scsi0', ('scsi', 0)), ('scsi30', ('scsi', 30)), ('virtio15', ('virtio', 15)), ('sata5', ('sata', 5)),
        ('ide3', ('ide', 3)), ('efidisk0', ('efidisk', 0)), ('tpmstate0', ('tpmstate', 0)),
    ])
    def test_disk_keys(self, key, expected):
        assert disk_bus_and_index(key) == expected
        assert is_disk_key(key)

    @pytest.mark.parametrize('key', ['scsi31', 'ide4', 'sata6', 'virtio16', 'efidisk1', 'tpmstate1', 'scsi01', 'unused0', 'net0', 'scsi', '', None, 'SCSI0'])
    def test_not_disk_keys(self, key):
        assert not is_disk_key(key)
        with raises('disk'):
            disk_bus_and_index(key)

    def test_bus_table(self):
        assert sum(DISK_BUSES.values()) == 4 + 6 + 31 + 16 + 1 + 1

    @pytest.mark.parametrize('value, expected', [
        ('local-lvm:vm-100-cloudinit,media=cdrom', True),
        ('local:100/vm-100-cloudinit.qcow2,media=cdrom', True),
        ('local-lvm:cloudinit', True),
        ('file=local-lvm:vm-100-cloudinit,media=cdrom', True),
        ('volume=local-lvm:vm-100-cloudinit', True),
        ('local:iso/cloudinit-tools.iso,media=cdrom', False),
        ('local-lvm:vm-100-disk-0', False),
        ('none,media=cdrom', False),
        ('a,b', False),
    ])
    def test_is_cloudinit(self, value, expected):
        assert is_cloudinit_drive(value) is expected
        if value != 'a,b':
            assert parse_qemu_disk(value).is_cloudinit is expected


# --------------------------------------------------------------- QEMU netN

class TestQemuNet:
    def test_pve_default_form(self):
        net = parse_qemu_net('virtio=BC:24:11:2E:C1:5F,bridge=vmbr0,firewall=1,tag=10,mtu=1500,rate=12.5,queues=4,link_down=1')
        assert net == QemuNet(model='virtio', macaddr='BC:24:11:2E:C1:5F', bridge='vmbr0', firewall=True, tag=10, mtu=1500,
                              rate=12.5, queues=4, link_down=True)
        assert format_qemu_net(net) == 'virtio=BC:24:11:2E:C1:5F,bridge=vmbr0,firewall=1,link_down=1,mtu=1500,queues=4,rate=12.5,tag=10'

    def test_explicit_model_form(self):
        net = parse_qemu_net('model=e1000,macaddr=bc:24:11:aa:bb:cc,bridge=vmbr1')
        assert (net.model, net.macaddr, net.bridge) == ('e1000', 'BC:24:11:AA:BB:CC', 'vmbr1')
        assert format_qemu_net(net) == 'e1000=BC:24:11:AA:BB:CC,bridge=vmbr1'

    def test_bare_model_without_mac(self):
        net = parse_qemu_net('virtio,bridge=vmbr0')
        assert net.macaddr is None
        assert format_qemu_net(net) == 'virtio,bridge=vmbr0'
        assert format_qemu_net(QemuNet(model='vmxnet3')) == 'vmxnet3'

    def test_hyphenated_model_and_extra(self):
        net = parse_qemu_net('e1000-82540em=BC:24:11:AA:BB:CC,bridge=vmbr0,trunks=10;20-30,host-tunnel=1')
        assert net.model == 'e1000-82540em'
        assert net.trunks == '10;20-30'
        assert net.extra == {'host-tunnel': '1'}
        assert format_qemu_net(net) == 'e1000-82540em=BC:24:11:AA:BB:CC,bridge=vmbr0,host-tunnel=1,trunks=10;20-30'

    def test_canonicalises_booleans_and_numbers(self):
        assert format_qemu_net(parse_qemu_net('virtio=bc:24:11:aa:bb:cc,firewall=on,rate=12.50,bridge=vmbr0')) == \
            'virtio=BC:24:11:AA:BB:CC,bridge=vmbr0,firewall=1,rate=12.5'

    def test_constructor_coerces(self):
        net = QemuNet(model='virtio', macaddr='bc-24-11-aa-bb-cc', tag='10', firewall='1', rate='5')
        assert (net.macaddr, net.tag, net.firewall, net.rate) == ('BC:24:11:AA:BB:CC', 10, True, 5.0)
        assert dataclasses.replace(net, tag=20).tag == 20

    @pytest.mark.parametrize('text, field, value', [
        ('virtio=BC:24:11:AA:BB:ZZ,bridge=vmbr0', 'macaddr', 'BC:24:11:AA:BB:ZZ'),
        ('virtio=01:00:5E:00:00:01', 'macaddr', '01:00:5E:00:00:01'),
        ('model=virtio,macaddr=nope', 'macaddr', 'nope'),
        ('foo=BC:24:11:AA:BB:CC,bridge=vmbr0', 'model', 'foo'),
        ('model=rtl9000', 'model', 'rtl9000'),
        ('rtl9000,bridge=vmbr0', 'model', 'rtl9000'),
        ('bridge=vmbr0', 'model', None),
        ('virtio,tag=0', 'tag', "'0'"),
        ('virtio,tag=4095', 'tag', '4095'),
        ('virtio,mtu=70000', 'mtu', '70000'),
        ('virtio,queues=65', 'queues', '65'),
        ('virtio,rate=-1', 'rate', '-1'),
        ('virtio,firewall=maybe', 'firewall', 'maybe'),
        ('virtio,bridge=vm br0', 'bridge', 'vm br0'),
        ('virtio=BC:24:11:AA:BB:CC,e1000=BC:24:11:AA:BB:CD', 'model', None),
        ('model=virtio,virtio=BC:24:11:AA:BB:CC', 'model', None),
        ('virtio=BC:24:11:AA:BB:CC,macaddr=BC:24:11:AA:BB:CC', 'macaddr', None),
    ])
    def test_errors_name_the_field(self, text, field, value):
        with raises(field, value):
            parse_qemu_net(text)

    def test_extra_cannot_shadow_fields(self):
        with raises('bridge'):
            QemuNet(model='virtio', extra={'bridge': 'vmbr0'})
        with raises('virtio'):
            QemuNet(model='virtio', extra={'virtio': 'BC:24:11:AA:BB:CC'})

    def test_models(self):
        assert 'virtio' in QEMU_NET_MODELS and 'e1000e' in QEMU_NET_MODELS


# ------------------------------------------------------------- QEMU disks

class TestQemuDisk:
    def test_existing_disk(self):
        disk = parse_qemu_disk('local-lvm:vm-100-disk-0,cache=writeback,discard=on,iothread=1,size=32G,ssd=1')
        assert disk == QemuDisk(volume='local-lvm:vm-100-disk-0', cache='writeback', discard='on', iothread=True, size=32 * G, ssd=True)
        assert (disk.storage, disk.new_size, disk.is_cdrom, disk.is_cloudinit) == ('local-lvm', None, False, False)
        assert format_qemu_disk(disk) == 'local-lvm:vm-100-disk-0,cache=writeback,discard=on,iothread=1,size=32G,ssd=1'

    def test_new_disk(self):
        disk = parse_qemu_disk('local-lvm:32,format=raw,iothread=1')
        assert (disk.storage, disk.new_size, disk.format) == ('local-lvm', 32 * G, 'raw')
        assert format_qemu_disk(QemuDisk(volume=format_new_volume('local-lvm', 32 * G), backup=False)) == 'local-lvm:32,backup=0'

    def test_cdrom(self):
        assert parse_qemu_disk('none,media=cdrom').is_cdrom
        assert parse_qemu_disk('cdrom,media=cdrom').storage is None
        iso = parse_qemu_disk('local:iso/debian-12.7.0-amd64-netinst.iso,media=cdrom,size=631M')
        assert (iso.storage, iso.size, iso.media) == ('local', 631 * 1024 ** 2, 'cdrom')

    def test_cloudinit(self):
        disk = parse_qemu_disk('local-lvm:vm-100-cloudinit,media=cdrom')
        assert disk.is_cloudinit and disk.is_cdrom
        assert is_cloudinit_drive(disk)

    def test_efidisk_and_tpm(self):
        efi = parse_qemu_disk('local-lvm:vm-100-disk-1,efitype=4m,pre-enrolled-keys=1,size=4M')
        assert efi.size == 4 * 1024 ** 2
        assert efi.extra == {'efitype': '4m', 'pre-enrolled-keys': '1'}
        assert format_qemu_disk(efi) == 'local-lvm:vm-100-disk-1,efitype=4m,pre-enrolled-keys=1,size=4M'
        tpm = parse_qemu_disk('local-lvm:vm-100-disk-2,size=4M,version=v2.0')
        assert tpm.extra == {'version': 'v2.0'}
        assert format_qemu_disk(QemuDisk(volume='local-lvm:1', extra={'efitype': '4m', 'pre-enrolled-keys': True})) == \
            'local-lvm:1,efitype=4m,pre-enrolled-keys=1'

    def test_import_from_and_passthrough(self):
        disk = parse_qemu_disk('local-lvm:0,import-from=local:import/debian.qcow2')
        assert (disk.import_from, disk.new_size) == ('local:import/debian.qcow2', 0)
        assert format_qemu_disk(disk) == 'local-lvm:0,import-from=local:import/debian.qcow2'
        dev = parse_qemu_disk('/dev/disk/by-id/ata-ST4000-Z1,backup=0,size=3907018584K')
        assert (dev.storage, dev.backup, dev.size) == (None, False, 3907018584 * 1024)
        assert format_qemu_disk(dev) == '/dev/disk/by-id/ata-ST4000-Z1,backup=0,size=3907018584K'

    def test_aliases(self):
        assert parse_qemu_disk('volume=local-lvm:vm-100-disk-0,size=1G').volume == 'local-lvm:vm-100-disk-0'
        assert parse_qemu_disk('file=local-lvm:vm-100-disk-0').volume == 'local-lvm:vm-100-disk-0'
        disk = parse_qemu_disk('local-lvm:vm-100-disk-0,bps_rd_length=5')
        assert disk.extra == {'bps_rd_max_length': '5'}
        with raises('file'):
            parse_qemu_disk('local-lvm:vm-100-disk-0,volume=local-lvm:vm-100-disk-1')

    def test_odd_size_keeps_bytes(self):
        disk = parse_qemu_disk('local-lvm:vm-100-disk-0,size=10737418241')
        assert disk.size == 10 * G + 1
        assert format_qemu_disk(disk) == 'local-lvm:vm-100-disk-0,size=10737418241'

    @pytest.mark.parametrize('text, field, value', [
        ('local-lvm:vm-100-disk-0,size=32GB', 'size', '32GB'),
        ('local-lvm:vm-100-disk-0,size=-1', 'size', '-1'),
        ('local-lvm:vm-100-disk-0,cache=fast', 'cache', 'fast'),
        ('local-lvm:vm-100-disk-0,format=vdi', 'format', 'vdi'),
        ('local-lvm:vm-100-disk-0,discard=off', 'discard', 'off'),
        ('local-lvm:vm-100-disk-0,media=floppy', 'media', 'floppy'),
        ('local-lvm:vm-100-disk-0,ssd=2', 'ssd', "'2'"),
        ('local-lvm:vm-100-disk-0,aio=posix', 'aio', 'posix'),
        ('size=32G', 'file', None),
    ])
    def test_errors_name_the_field(self, text, field, value):
        with raises(field, value):
            parse_qemu_disk(text)


# ---------------------------------------------------------------- ipconfig

class TestIpConfig:
    def test_static(self):
        cfg = parse_ipconfig('ip=10.0.0.5/24,gw=10.0.0.1')
        assert cfg == IpConfig(ip='10.0.0.5/24', gw='10.0.0.1')
        assert format_ipconfig(cfg) == 'ip=10.0.0.5/24,gw=10.0.0.1'

    def test_order_and_ipv6_normalisation(self):
        cfg = parse_ipconfig('gw6=FD00:0::1,ip6=fd00:0:0::5/64,gw=192.168.1.1,ip=192.168.1.20/24')
        assert (cfg.ip6, cfg.gw6) == ('fd00::5/64', 'fd00::1')
        assert format_ipconfig(cfg) == 'ip=192.168.1.20/24,gw=192.168.1.1,ip6=fd00::5/64,gw6=fd00::1'

    @pytest.mark.parametrize('text', ['ip=dhcp', 'ip6=auto', 'ip6=dhcp', 'ip=dhcp,ip6=auto', 'ip=manual', 'ip6=manual', ''])
    def test_dynamic(self, text):
        assert format_ipconfig(parse_ipconfig(text)) == text

    @pytest.mark.parametrize('text, field, value', [
        ('ip=10.0.0.5', 'ip', '10.0.0.5'),
        ('ip=10.0.0.300/24', 'ip', '10.0.0.300/24'),
        ('ip=10.0.0.5/33', 'ip', '10.0.0.5/33'),
        ('ip=10.0.0.5/7', 'ip', '10.0.0.5/7'),
        ('ip=10.0.0.5/255.255.255.0', 'ip', '255.255.255.0'),
        ('ip=010.0.0.5/24', 'ip', '010.0.0.5/24'),
        ('ip=fd00::5/64', 'ip', 'fd00::5/64'),
        ('ip=auto', 'ip', 'auto'),
        ('ip6=10.0.0.5/24', 'ip6', '10.0.0.5/24'),
        ('ip6=fd00::5/129', 'ip6', 'fd00::5/129'),
        ('ip6=fe80::1%eth0/64', 'ip6', 'fe80::1%eth0/64'),
        ('ip=10.0.0.5/24,gw=10.0.0.256', 'gw', '10.0.0.256'),
        ('ip=10.0.0.5/24,gw=10.0.0.1/24', 'gw', '10.0.0.1/24'),
        ('ip6=auto,gw6=10.0.0.1', 'gw6', '10.0.0.1'),
        ('gw=10.0.0.1', 'gw', '10.0.0.1'),
        ('ip=dhcp,gw6=fd00::1', 'gw6', 'fd00::1'),
    ])
    def test_errors_name_the_field(self, text, field, value):
        with raises(field, value):
            parse_ipconfig(text)


# ------------------------------------------------------------------- agent

class TestAgent:
    @pytest.mark.parametrize('value, enabled', [('1', True), ('0', False), (1, True), (0, False), (True, True), ('enabled=1', True), ('on', True)])
    def test_simple(self, value, enabled):
        agent = parse_agent(value)
        assert agent == AgentConfig(enabled=enabled)
        assert format_agent(agent) == ('1' if enabled else '0')

    def test_options(self):
        agent = parse_agent('enabled=1,fstrim_cloned_disks=1,type=virtio')
        assert agent == AgentConfig(enabled=True, fstrim_cloned_disks=True, type='virtio')
        assert format_agent(agent) == '1,fstrim_cloned_disks=1,type=virtio'
        assert parse_agent('1,guest-fsfreeze=0').freeze_fs is False
        assert format_agent(AgentConfig(enabled=False, freeze_fs=True, type='isa')) == '0,freeze-fs=1,type=isa'

    @pytest.mark.parametrize('value, field', [('2', 'enabled'), ('type=isa', 'enabled'), ('1,type=usb', 'type'), (5, 'enabled'),
                                              ('1,freeze-fs=1,freeze-fs-on-backup=0', 'freeze-fs')])
    def test_errors_name_the_field(self, value, field):
        with raises(field):
            parse_agent(value)


# --------------------------------------------------------------- LXC netN

class TestLxcNet:
    def test_pve_string(self):
        text = 'name=eth0,bridge=vmbr0,firewall=1,gw=192.168.1.1,hwaddr=BC:24:11:5E:7A:01,ip=192.168.1.10/24,tag=20,type=veth'
        net = parse_lxc_net(text)
        assert net == LxcNet(name='eth0', bridge='vmbr0', firewall=True, gw='192.168.1.1', hwaddr='BC:24:11:5E:7A:01',
                             ip='192.168.1.10/24', tag=20, type='veth')
        assert format_lxc_net(net) == text

    def test_name_first_and_normalised(self):
        net = parse_lxc_net('type=veth,hwaddr=bc:24:11:5e:7a:01,ip6=auto,name=eth1,ip=dhcp,mtu=9000,rate=0.5')
        assert format_lxc_net(net) == 'name=eth1,hwaddr=BC:24:11:5E:7A:01,ip=dhcp,ip6=auto,mtu=9000,rate=0.5,type=veth'

    @pytest.mark.parametrize('text, field, value', [
        ('bridge=vmbr0', 'name', None),
        ('name=eth0,hwaddr=BC:24:11:5E:7A', 'hwaddr', 'BC:24:11:5E:7A'),
        ('name=eth0,ip=192.168.1.10', 'ip', '192.168.1.10'),
        ('name=eth0,ip6=dhcp6', 'ip6', 'dhcp6'),
        ('name=eth0,ip=dhcp,gw=gateway', 'gw', 'gateway'),
        ('name=eth0,mtu=63', 'mtu', '63'),
        ('name=eth0,type=macvlan', 'type', 'macvlan'),
        ('eth0,bridge=vmbr0', 'property string', 'eth0'),
    ])
    def test_errors_name_the_field(self, text, field, value):
        with raises(field, value):
            parse_lxc_net(text)


# ------------------------------------------------------------ LXC mounts

class TestLxcMount:
    def test_rootfs(self):
        root = parse_lxc_mount('local-lvm:vm-101-disk-0,size=8G')
        assert root == LxcMount(volume='local-lvm:vm-101-disk-0', size=8 * G)
        assert (root.storage, root.new_size) == ('local-lvm', None)
        assert format_lxc_mount(root) == 'local-lvm:vm-101-disk-0,size=8G'

    def test_new_rootfs(self):
        root = parse_lxc_mount('local-lvm:8')
        assert root.new_size == 8 * G
        assert format_lxc_mount(root) == 'local-lvm:8'

    def test_mount_point(self):
        text = 'local-lvm:vm-101-disk-1,mp=/data,acl=1,backup=1,quota=0,replicate=0,ro=1,shared=0,size=32G'
        mp = parse_lxc_mount(text)
        assert (mp.mp, mp.acl, mp.backup, mp.quota, mp.replicate, mp.ro, mp.shared) == ('/data', True, True, False, False, True, False)
        assert format_lxc_mount(mp) == text
        assert format_lxc_mount(parse_lxc_mount('size=32G,backup=1,mp=/data,volume=local-lvm:vm-101-disk-1')) == \
            'local-lvm:vm-101-disk-1,mp=/data,backup=1,size=32G'

    def test_bind_mount_and_options(self):
        mp = parse_lxc_mount('/srv/share,mp=/mnt/share,mountoptions=noatime;nodev')
        assert (mp.storage, mp.mountoptions) == (None, 'noatime;nodev')

    @pytest.mark.parametrize('text, field, value', [
        ('local-lvm:8,mp=data', 'mp', 'data'),
        ('local-lvm:8,size=8X', 'size', '8X'),
        ('local-lvm:8,acl=maybe', 'acl', 'maybe'),
        ('mp=/data', 'volume', None),
    ])
    def test_errors_name_the_field(self, text, field, value):
        with raises(field, value):
            parse_lxc_mount(text)


# ------------------------------------------------------- property round trips

def _known(cls):
    known = {key for _attr, key, _kind, _arg in cls._FIELDS} | set(cls._ALIASES) | cls._reserved()
    return known


def extras(cls):
    keys = st.from_regex(r'\A[a-z][a-z0-9_\-]{0,10}\Z').filter(lambda k: k not in _known(cls))
    return st.dictionaries(keys, VALUES, max_size=3)


def opt(strategy):
    return st.one_of(st.none(), strategy)


MACS = st.tuples(st.integers(0, 127).map(lambda b: b * 2), st.lists(st.integers(0, 255), min_size=5, max_size=5)).map(
    lambda t: ':'.join(f'{b:02x}' for b in [t[0]] + t[1]))
MACS_ANY_CASE = st.tuples(MACS, st.booleans()).map(lambda t: t[0].upper() if t[1] else t[0])
BRIDGES = st.from_regex(r'\Avmbr[0-9]{1,3}\Z')
STORAGES = st.from_regex(r'\A[a-z][a-z0-9\-]{0,10}[a-z0-9]\Z')
RATES = st.floats(min_value=0, max_value=1e6, allow_nan=False, allow_infinity=False)
SIZES = st.one_of(st.integers(0, 2 ** 50), st.integers(1, 2 ** 20).map(lambda n: n * G))
IP4CFG = st.one_of(st.sampled_from(['dhcp', 'manual']),
                   st.tuples(st.ip_addresses(v=4), st.integers(8, 32)).map(lambda t: f'{t[0]}/{t[1]}'))
IP6CFG = st.one_of(st.sampled_from(['auto', 'dhcp', 'manual']),
                   st.tuples(st.ip_addresses(v=6), st.integers(8, 128)).map(lambda t: f'{t[0]}/{t[1]}'))
VOLUMES = st.one_of(
    st.tuples(STORAGES, st.integers(100, 999999), st.integers(0, 30)).map(lambda t: f'{t[0]}:vm-{t[1]}-disk-{t[2]}'),
    st.tuples(STORAGES, st.integers(0, 2 ** 20).map(lambda k: k * 1024)).map(lambda t: format_new_volume(*t)),
    st.sampled_from(['none', 'cdrom', '/dev/sdb', '/dev/disk/by-id/nvme-X_1', 'local:iso/debian.iso', 'local-lvm:vm-100-cloudinit']),
)


def bools():
    return opt(st.booleans())


QEMU_NETS = st.builds(
    QemuNet, model=st.sampled_from(QEMU_NET_MODELS), macaddr=opt(MACS_ANY_CASE), bridge=opt(BRIDGES), tag=opt(st.integers(1, 4094)),
    firewall=bools(), link_down=bools(), mtu=opt(st.integers(1, 65520)), rate=opt(RATES), queues=opt(st.integers(0, 64)),
    trunks=opt(st.from_regex(r'\A[0-9]{1,4}(-[0-9]{1,4})?(;[0-9]{1,4})*\Z')), extra=extras(QemuNet))

QEMU_DISKS = st.builds(
    QemuDisk, volume=VOLUMES, media=opt(st.sampled_from(['cdrom', 'disk'])), size=opt(SIZES),
    format=opt(st.sampled_from(['raw', 'qcow2', 'vmdk'])), cache=opt(st.sampled_from(['none', 'writeback', 'writethrough', 'unsafe', 'directsync'])),
    discard=opt(st.sampled_from(['on', 'ignore'])), ssd=bools(), iothread=bools(), backup=bools(), replicate=bools(),
    aio=opt(st.sampled_from(['native', 'threads', 'io_uring'])), ro=bools(), import_from=opt(st.sampled_from(['local:import/x.qcow2', '/tmp/x.raw'])),
    extra=extras(QemuDisk))


@st.composite
def ipconfigs(draw):
    ip = draw(opt(IP4CFG))
    ip6 = draw(opt(IP6CFG))
    gw = draw(opt(st.ip_addresses(v=4).map(str))) if ip else None
    gw6 = draw(opt(st.ip_addresses(v=6).map(str))) if ip6 else None
    return IpConfig(ip=ip, gw=gw, ip6=ip6, gw6=gw6, extra=draw(extras(IpConfig)))


AGENTS = st.builds(AgentConfig, enabled=st.booleans(), fstrim_cloned_disks=bools(), freeze_fs=bools(),
                   type=opt(st.sampled_from(['virtio', 'isa'])), extra=extras(AgentConfig))


@st.composite
def lxc_nets(draw):
    ip = draw(opt(IP4CFG))
    ip6 = draw(opt(IP6CFG))
    return LxcNet(
        name=draw(st.from_regex(r'\Aeth[0-9]{1,2}\Z')), bridge=draw(opt(BRIDGES)), hwaddr=draw(opt(MACS_ANY_CASE)),
        ip=ip, gw=draw(opt(st.ip_addresses(v=4).map(str))), ip6=ip6, gw6=draw(opt(st.ip_addresses(v=6).map(str))),
        tag=draw(opt(st.integers(1, 4094))), firewall=draw(bools()), link_down=draw(bools()), mtu=draw(opt(st.integers(64, 65535))),
        rate=draw(opt(RATES)), trunks=draw(opt(st.from_regex(r'\A[0-9]{1,4}(;[0-9]{1,4})*\Z'))), type=draw(opt(st.just('veth'))),
        extra=draw(extras(LxcNet)))


LXC_MOUNTS = st.builds(
    LxcMount, volume=st.one_of(VOLUMES, st.just('/srv/data')), mp=opt(st.from_regex(r'\A(/[a-z0-9_]{1,8}){1,3}\Z')), size=opt(SIZES),
    acl=bools(), backup=bools(), quota=bools(), ro=bools(), replicate=bools(), shared=bools(),
    mountoptions=opt(st.sampled_from(['noatime', 'noatime;nodev', 'discard;lazytime'])), extra=extras(LxcMount))


CODECS = [
    pytest.param(QEMU_NETS, parse_qemu_net, format_qemu_net, id='qemu-net'),
    pytest.param(QEMU_DISKS, parse_qemu_disk, format_qemu_disk, id='qemu-disk'),
    pytest.param(ipconfigs(), parse_ipconfig, format_ipconfig, id='ipconfig'),
    pytest.param(AGENTS, parse_agent, format_agent, id='agent'),
    pytest.param(lxc_nets(), parse_lxc_net, format_lxc_net, id='lxc-net'),
    pytest.param(LXC_MOUNTS, parse_lxc_mount, format_lxc_mount, id='lxc-mount'),
]


@pytest.mark.parametrize('records, parse, fmt', CODECS)
def test_typed_round_trip(records, parse, fmt):
    @given(records)
    def check(record):
        text = fmt(record)
        assert parse(text) == record          # parse(format(x)) == x
        assert fmt(parse(text)) == text       # format(parse(s)) is canonical (a fixed point)
        assert ',,' not in text and not text.startswith(',') and not text.endswith(',')
    check()


@given(QEMU_NETS)
def test_qemu_net_model_form_equivalence(net):
    """model=X,macaddr=M (any order, any MAC case) parses to the same record as PVE's X=M form."""
    props = net.to_props()
    props['macaddr'] = props['macaddr'].lower() if 'macaddr' in props else None
    explicit = format_property_string(props, order=('macaddr', 'model'))
    assert parse_qemu_net(explicit) == net


@given(st.lists(st.sampled_from(['scsi', 'virtio', 'sata', 'ide']), min_size=1), st.integers(0, 40))
def test_disk_key_index_limits(buses, index):
    for bus in buses:
        key = f'{bus}{index}'
        assert is_disk_key(key) == (index < DISK_BUSES[bus])


@given(STORAGES, st.integers(0, 2 ** 50).map(lambda k: k * 1024))
def test_new_volume_round_trip(storage, size):
    assert parse_new_volume(format_new_volume(storage, size)) == (storage, size)


FUZZ_ALPHABET = st.sampled_from(list('=,:;/.- \nabcdefimnoprstuvwxyz0123456789ABCDEFGKMT')
                                + ['virtio', 'ip', 'gw', 'size', 'mp', 'name', 'hwaddr',
                                   'enabled', 'model', 'macaddr', 'volume', 'file'])
FUZZ_TEXT = st.lists(FUZZ_ALPHABET, max_size=30).map(''.join)


@pytest.mark.parametrize('parse, fmt', [(c.values[1], c.values[2]) for c in CODECS], ids=[c.id for c in CODECS])
def test_parsers_only_raise_value_error_and_canonicalise(parse, fmt):
    @given(FUZZ_TEXT)
    def check(text):
        try:
            record = parse(text)
        except ValueError:
            return
        canonical = fmt(record)
        assert parse(canonical) == record
        assert fmt(parse(canonical)) == canonical
    check()

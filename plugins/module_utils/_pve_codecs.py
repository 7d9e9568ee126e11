# Copyright (c) 2026 nbsync.proxmox contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Pure codecs for Proxmox VE property strings (no I/O, no Ansible imports).

PVE stores many guest options as *property strings*: comma separated ``key=value``
items, where one schema key may be the *default key* and then appears first, bare,
without ``key=`` (``local-lvm:vm-100-disk-0,size=32G``). The rules implemented here
follow ``PVE::JSONSchema::parse_property_string`` / ``print_property_string``:

* items are split on ``,`` (there is no escaping; values cannot contain commas);
  items that are empty or only white space are ignored;
* an item with ``=`` is ``key=value``: the key runs to the *first* ``=``, so values
  may contain ``=``; both key and value must be non-empty;
* an item without ``=`` is the value of the default key, which may be given once;
* canonical output is: the default key's value (bare), then required keys, then the
  remaining keys sorted by name - the order PVE itself prints in.

Sizes (``size=`` options, disk-size format) use PVE's ``parse_size``: a decimal
number with an optional binary unit ``K``/``M``/``G``/``T`` (powers of 1024); a bare
number means **bytes**, the result is truncated to whole bytes. The resize API's
``size`` parameter has the same meaning (plus an optional leading ``+``), whereas
the ``storage:N`` volume syntax that allocates a new disk counts **GiB**
(``local-lvm:32`` is a new 32 GiB volume) - see :func:`parse_new_volume`.

Every error is a :class:`ValueError` whose message names the offending field and value.
"""

from __future__ import (absolute_import, division, print_function)
from __future__ import annotations  # dataclass annotations below use PEP 604/585 syntax on Python 3.9

__metaclass__ = type

import dataclasses
import decimal
import ipaddress
import math
import re
from typing import ClassVar

__all__ = [
    'DISK_BUSES',
    'QEMU_NET_MODELS',
    'AgentConfig',
    'IpConfig',
    'LxcMount',
    'LxcNet',
    'QemuDisk',
    'QemuNet',
    'as_bool',
    'as_int',
    'disk_bus_and_index',
    'format_agent',
    'format_ipconfig',
    'format_lxc_mount',
    'format_lxc_net',
    'format_new_volume',
    'format_property_string',
    'format_qemu_disk',
    'format_qemu_net',
    'format_size',
    'is_cloudinit_drive',
    'is_disk_key',
    'normalize_mac',
    'parse_agent',
    'parse_ipconfig',
    'parse_lxc_mount',
    'parse_lxc_net',
    'parse_new_volume',
    'parse_property_string',
    'parse_qemu_disk',
    'parse_qemu_memory',
    'parse_qemu_net',
    'parse_size',
    'split_volume_id',
]

# NIC models of QEMU netN (the keys that may stand for "model=<key>,macaddr=<value>").
QEMU_NET_MODELS = (
    'e1000', 'e1000-82540em', 'e1000-82544gc', 'e1000-82545em', 'e1000e', 'i82551', 'i82557b',
    'i82559er', 'ne2k_isa', 'ne2k_pci', 'pcnet', 'rtl8139', 'virtio', 'vmxnet3',
)

# bus -> number of slots (indexes 0 .. n-1).
DISK_BUSES = {'ide': 4, 'sata': 6, 'scsi': 31, 'virtio': 16, 'efidisk': 1, 'tpmstate': 1}

_KEY_RE = re.compile(r'[A-Za-z0-9][A-Za-z0-9_.\-]*\Z')
_DISK_KEY_RE = re.compile(r'(ide|sata|scsi|virtio|efidisk|tpmstate)(0|[1-9][0-9]*)\Z')
_SIZE_RE = re.compile(r'([0-9]+(?:\.[0-9]+)?)([KMGT]?)\Z')
_NEW_VOLUME_RE = re.compile(r'([^/:\s]+):([0-9]+(?:\.[0-9]+)?)\Z')
_STORAGE_ID_RE = re.compile(r'[A-Za-z][A-Za-z0-9_.\-]*[A-Za-z0-9]\Z')
_MAC_RE = re.compile(r'[0-9A-F]{2}(?:([:\-]?)[0-9A-F]{2})(?:\1[0-9A-F]{2}){4}\Z')
_CLOUDINIT_RE = re.compile(r'[:/](?:vm-[0-9]+-)?cloudinit(?:\.(?:raw|cow|qcow|qcow2|qed|vmdk|cloop))?\Z')
_INT_RE = re.compile(r'[+-]?[0-9]+(?:\.0*)?\Z')
_NUMBER_RE = re.compile(r'[+-]?(?:[0-9]+\.[0-9]*|\.[0-9]+|[0-9]+)(?:[eE][+-]?[0-9]+)?\Z')
_TRUE = ('1', 'on', 'yes', 'true')
_FALSE = ('0', 'off', 'no', 'false')
_UNITS = {'': 1, 'K': 1024, 'M': 1024 ** 2, 'G': 1024 ** 3, 'T': 1024 ** 4}
_GIB = 1024 ** 3
_BRIDGE_RE = re.compile(r'[A-Za-z0-9_.\-]+\Z')
_DIGITS_RE = re.compile(r'[0-9]+\Z')

# Enough precision for exact size arithmetic on any realistic input.
_DECIMAL = decimal.Context(prec=200)


def is_digits(text):
    """'0'-'9' only (str.isdigit() is true for '\u00b2' too, which int() then refuses)."""
    return bool(_DIGITS_RE.match(str(text)))


def _fail(field, value, problem):
    return ValueError(f"{field}: {value!r} {problem}")


# ------------------------------------------------------------------ scalars

def as_int(value, field='value'):
    """An integer from what the API returned: 2048, '2048', 2048.0 or '2048.0'. Booleans are refused."""
    if isinstance(value, bool) or value is None:
        raise _fail(field, value, 'is not an integer')
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if math.isfinite(value) and value == int(value):
            return int(value)
        raise _fail(field, value, 'is not an integer')
    if isinstance(value, str):
        text = value.strip()
        if _INT_RE.match(text):
            return int(text.partition('.')[0])
    raise _fail(field, value, 'is not an integer')


def as_bool(value, field='value'):
    """A bool from a PVE boolean: True/False, 1/0, or (any case) '1'/'on'/'yes'/'true', '0'/'off'/'no'/'false'."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return value == 1
    if isinstance(value, str):
        low = value.strip().lower()
        if low in _TRUE:
            return True
        if low in _FALSE:
            return False
    raise _fail(field, value, 'is not a boolean (expected 1/0, on/off, yes/no or true/false)')


def _as_number(value, field):
    if isinstance(value, bool) or value is None:
        raise _fail(field, value, 'is not a number')
    if isinstance(value, (int, float)):
        number = float(value)
    elif isinstance(value, str) and _NUMBER_RE.match(value.strip()):
        number = float(value.strip())
    else:
        raise _fail(field, value, 'is not a number')
    if not math.isfinite(number):
        raise _fail(field, value, 'is not a finite number')
    return number


def _format_number(number):
    if number == int(number) and abs(number) < 1e15:
        return str(int(number))
    return repr(number)


def _size_bytes(value, field, allow_zero):
    if isinstance(value, bool):
        raise _fail(field, value, 'is not a size')
    if isinstance(value, int):
        size = value
    elif isinstance(value, str):
        match = _SIZE_RE.match(value)
        if not match:
            raise _fail(field, value, 'is not a size (expected a number with an optional unit K, M, G or T)')
        size = int(_DECIMAL.multiply(decimal.Decimal(match.group(1)), _UNITS[match.group(2)]))
    else:
        raise _fail(field, value, 'is not a size')
    if size < 0 or (size == 0 and not allow_zero):
        raise _fail(field, value, 'must be a positive size')
    return size


def parse_size(text, field='size'):
    """Bytes from a PVE disk size: '32G' -> 34359738368.

    Units are binary (K=1024 ... T=1024**4); a bare number is bytes; a fraction is allowed
    ('1.5G') and the result truncated to whole bytes as PVE does. An int is taken as bytes.
    Zero, negative numbers, other units (lower case, 'GiB', 'GB') and anything else raise ValueError.
    """
    return _size_bytes(text, field, allow_zero=False)


def format_size(size, field='size'):
    """PVE's spelling of a size in bytes: the largest unit that divides it exactly (34359738368 -> '32G', 1000 -> '1000')."""
    if isinstance(size, bool) or not isinstance(size, int) or size <= 0:
        raise _fail(field, size, 'must be a positive number of bytes')
    return _format_size(size)


def _format_size(size):
    for unit in ('T', 'G', 'M', 'K'):
        if size and size % _UNITS[unit] == 0:
            return f'{size // _UNITS[unit]}{unit}'
    return str(size)


def normalize_mac(value, field='macaddr'):
    """Upper-case colon form of a unicast MAC address ('bc:24:11:aa:bb:cc', 'BC-24-...' or 'bc2411aabbcc')."""
    text = value.strip().upper() if isinstance(value, str) else None
    if text is None or not _MAC_RE.match(text):
        raise _fail(field, value, 'is not a valid MAC address (expected XX:XX:XX:XX:XX:XX)')
    digits = text.replace(':', '').replace('-', '')
    if int(digits[1], 16) & 1:
        raise _fail(field, value, 'is a multicast MAC address (the I/G bit is set), a unicast address is required')
    return ':'.join(digits[i:i + 2] for i in range(0, 12, 2))


# ------------------------------------------------------------ property strings

def _check_key(key):
    if not isinstance(key, str) or not _KEY_RE.match(key):
        raise _fail('key', key, 'is not a valid property key')


def _value_text(key, value):
    """The string form of one value (bool -> '1'/'0', numbers in decimal), checked for property-string safety."""
    if isinstance(value, bool):
        return '1' if value else '0'
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise _fail(key, value, 'is not a finite number')
        return _format_number(value)
    if not isinstance(value, str):
        raise _fail(key, value, f'has an unsupported type {type(value).__name__}')
    if not value:
        raise _fail(key, value, 'must not be empty')
    if ',' in value:
        raise _fail(key, value, 'must not contain a comma')
    if '\n' in value or '\r' in value:
        raise _fail(key, value, 'must not contain a line break')
    return value


def parse_property_string(text, default_key=None):
    """Split a property string into a dict of strings, in the order the keys appeared.

    A bare item (no ``=``) is stored under ``default_key``; without a default key it is an
    error, as are duplicate keys, empty keys or values, invalid key names and line breaks.
    Values are not interpreted (booleans stay '1', sizes stay '32G'); aliases are not resolved.
    """
    if not isinstance(text, str):
        raise _fail('property string', text, 'is not a string')
    if '\n' in text or '\r' in text:
        raise _fail('property string', text, 'must not contain a line break')
    result = {}
    bare = False
    for part in text.split(','):
        if not part.strip():
            continue
        key, sep, value = part.partition('=')
        if sep:
            if not key or not value:
                raise _fail('property string', text, f"has an item without key or value: '{part}'")
            _check_key(key)
            if key in result:
                raise _fail(key, text, 'is given more than once')
            result[key] = value
        else:
            if default_key is None:
                raise _fail('property string', text, f"has a value without a key: '{part}'")
            if bare or default_key in result:
                raise _fail(default_key, text, 'is given more than once')
            bare = True
            result[default_key] = part
    return result


def format_property_string(props, default_key=None, order=()):
    """Join a dict into a canonical property string.

    The default key's value comes first and bare (unless it contains '=' or is blank; then
    it is written as ``key=value``, which PVE reads the same), then the keys listed in
    ``order`` that are present, then all others sorted by name. None values are omitted;
    booleans are written 1/0. Raises ValueError for values PVE cannot represent (commas, ...).
    """
    parts = []
    done = set()
    if default_key is not None and props.get(default_key) is not None:
        _check_key(default_key)
        value = _value_text(default_key, props[default_key])
        parts.append(value if '=' not in value and value.strip() else f'{default_key}={value}')
        done.add(default_key)
    for key in list(order) + sorted(props):
        if key in done or props.get(key) is None:
            continue
        done.add(key)
        _check_key(key)
        parts.append(f'{key}={_value_text(key, props[key])}')
    return ','.join(parts)


# ------------------------------------------------------------------ volumes

def split_volume_id(volume):
    """('local-lvm', 'vm-100-disk-0') for 'local-lvm:vm-100-disk-0'; None for 'none', 'cdrom' or a path."""
    if not isinstance(volume, str) or volume.startswith('/'):
        return None
    storage, sep, name = volume.partition(':')
    if not sep or not name or not _STORAGE_ID_RE.match(storage):
        return None
    return storage, name


def parse_new_volume(volume):
    """(storage, size_in_bytes) for the 'storage:N' syntax that allocates a new volume of N GiB, else None.

    N may be fractional ('local-lvm:0.5' is 512 MiB); 'local-lvm:0' (size chosen by PVE, as for
    efidisk0/tpmstate0 or with import-from) gives size 0.
    """
    match = _NEW_VOLUME_RE.match(volume) if isinstance(volume, str) else None
    if not match:
        return None
    return match.group(1), int(_DECIMAL.multiply(decimal.Decimal(match.group(2)), _GIB))


def format_new_volume(storage, size):
    """'storage:N' (N in GiB, exact decimal) for a new volume of ``size`` bytes (a multiple of 1 KiB, or 0)."""
    if not isinstance(storage, str) or not _STORAGE_ID_RE.match(storage):
        raise _fail('storage', storage, 'is not a valid storage ID')
    if isinstance(size, str):
        size = _size_bytes(size, 'size', allow_zero=True)
    if isinstance(size, bool) or not isinstance(size, int) or size < 0 or size % 1024:
        raise _fail('size', size, 'must be a whole number of KiB')
    gib = _DECIMAL.divide(decimal.Decimal(size), _GIB).normalize(_DECIMAL)
    text = f'{gib:f}'
    return f'{storage}:{text}'


def disk_bus_and_index(key):
    """('scsi', 0) for 'scsi0', ('efidisk', 0) for 'efidisk0'; ValueError for other keys or out-of-range slots."""
    match = _DISK_KEY_RE.match(key) if isinstance(key, str) else None
    if not match or int(match.group(2)) >= DISK_BUSES[match.group(1)]:
        raise _fail('disk', key, 'is not a QEMU disk key (ide0-3, sata0-5, scsi0-30, virtio0-15, efidisk0, tpmstate0)')
    return match.group(1), int(match.group(2))


def is_disk_key(key):
    """True for QEMU drive keys (ideN, sataN, scsiN, virtioN, efidisk0, tpmstate0); unusedN is not one."""
    try:
        disk_bus_and_index(key)
    except ValueError:
        return False
    return True


def is_cloudinit_drive(value):
    """True if a drive (string or QemuDisk) is a cloud-init drive ('local-lvm:vm-100-cloudinit', 'local-lvm:cloudinit')."""
    if isinstance(value, QemuDisk):
        volume = value.volume
    else:
        try:
            props = parse_property_string(value, default_key='file')
        except ValueError:
            return False
        volume = props.get('file', props.get('volume', ''))
    return bool(_CLOUDINIT_RE.search(volume))


# ----------------------------------------------------------- typed records

def _network(kind, field, value):
    if not isinstance(value, str):
        raise _fail(field, value, 'is not a string')
    text = value.strip()
    if kind == 'ip4cfg' and text in ('dhcp', 'manual'):
        return text
    if kind == 'ip6cfg' and text in ('auto', 'dhcp', 'manual'):
        return text
    version = 4 if kind in ('ip4cfg', 'ip4') else 6
    try:
        if kind in ('ip4', 'ip6'):
            if '/' in text or '%' in text:
                raise ValueError
            addr = ipaddress.ip_address(text)
            if addr.version != version:
                raise ValueError
            return str(addr)
        address, sep, bits = text.partition('/')
        if not sep or not _DIGITS_RE.match(bits) or '%' in address:
            raise ValueError
        iface = ipaddress.ip_interface(text)
        if iface.version != version or not 8 <= int(bits) <= (32 if version == 4 else 128):
            raise ValueError
        return str(iface)
    except ValueError:
        pass
    if kind == 'ip4':
        raise _fail(field, value, 'is not a valid IPv4 address')
    if kind == 'ip6':
        raise _fail(field, value, 'is not a valid IPv6 address')
    if kind == 'ip4cfg':
        raise _fail(field, value, "is not a valid IPv4 configuration (expected CIDR address/8-32, 'dhcp' or 'manual')")
    raise _fail(field, value, "is not a valid IPv6 configuration (expected CIDR address/8-128, 'auto', 'dhcp' or 'manual')")


def _coerce(kind, arg, key, value):
    """Convert and check one field value; ``arg`` is a (min, max) range for ints or a tuple of choices for strings."""
    if kind == 'bool':
        return as_bool(value, key)
    if kind == 'int':
        number = as_int(value, key)
        if arg and not arg[0] <= number <= arg[1]:
            raise _fail(key, value, f'is out of range {arg[0]}-{arg[1]}')
        return number
    if kind == 'num':
        number = _as_number(value, key)
        if number < 0:
            raise _fail(key, value, 'must not be negative')
        return number
    if kind == 'size':
        return _size_bytes(value, key, allow_zero=True)
    if kind == 'mac':
        return normalize_mac(value, key)
    if kind in ('ip4', 'ip6', 'ip4cfg', 'ip6cfg'):
        return _network(kind, key, value)
    text = _value_text(key, value) if isinstance(value, str) else None
    if text is None:
        raise _fail(key, value, 'is not a string')
    if kind == 'bridge' and not _BRIDGE_RE.match(text):
        raise _fail(key, value, 'is not a valid bridge name')
    if kind == 'path' and not text.startswith('/'):
        raise _fail(key, value, 'must be an absolute path')
    if arg and text not in arg:
        raise _fail(key, value, 'is not one of ' + ', '.join(arg))
    return text


def _render(kind, value):
    if kind == 'size':
        return _format_size(value)
    return _value_text('value', value)


class _Record:
    """Shared machinery for the frozen dataclasses below (not itself a dataclass).

    ``_FIELDS`` lists (attribute, PVE key, kind, arg); ``_ALIASES`` maps legacy keys to keys.
    Constructing a record coerces its values ('1' -> True, '32G' -> bytes, MACs upper-cased)
    and validates them, so a record can always be formatted.
    """

    _FIELDS = ()
    _ALIASES: ClassVar[dict[str, str]] = {}
    _DEFAULT_KEY = None
    _ORDER = ()

    def __post_init__(self):
        for attr, key, kind, arg in self._FIELDS:
            value = getattr(self, attr)
            if value is not None:
                object.__setattr__(self, attr, _coerce(kind, arg, key, value))
        known = {key for _attr, key, _kind, _arg in self._FIELDS} | set(self._ALIASES) | self._reserved()
        extra = {}
        for key, value in dict(self.extra or {}).items():
            _check_key(key)
            if key in known:
                raise _fail(key, value, 'belongs in its own field, not in extra')
            extra[key] = _value_text(key, value)
        object.__setattr__(self, 'extra', extra)
        self._validate()

    @classmethod
    def _reserved(cls):
        return set()

    def _validate(self):
        pass

    @classmethod
    def _from_props(cls, props):
        props = dict(props)
        for alias, target in cls._ALIASES.items():
            if alias in props:
                if target in props:
                    raise _fail(target, props[alias], f"is given twice (also as its alias '{alias}')")
                props[target] = props.pop(alias)
        kwargs = {}
        for attr, key, _kind, _arg in cls._FIELDS:
            if key in props:
                kwargs[attr] = props.pop(key)
        for field in dataclasses.fields(cls):
            if field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING and field.name not in kwargs:
                key = next(k for a, k, _kind, _arg in cls._FIELDS if a == field.name)
                raise ValueError(f'{key}: required property is missing')
        return cls(extra=props, **kwargs)

    def to_props(self):
        """The record as {PVE key: string}, None fields left out."""
        props = {}
        for attr, key, kind, _arg in self._FIELDS:
            value = getattr(self, attr)
            if value is not None:
                props[key] = _render(kind, value)
        props.update(self.extra)
        return props

    def to_string(self):
        """The canonical property string."""
        return format_property_string(self.to_props(), self._DEFAULT_KEY, self._ORDER)


_CACHE_MODES = ('none', 'writethrough', 'writeback', 'unsafe', 'directsync')
_IMAGE_FORMATS = ('raw', 'cow', 'qcow', 'qed', 'qcow2', 'vmdk', 'cloop')


@dataclasses.dataclass(frozen=True)
class QemuNet(_Record):
    """A QEMU ``netN`` value: ``virtio=BC:24:11:AA:BB:CC,bridge=vmbr0,firewall=1,tag=10``."""

    model: str
    macaddr: str | None = None
    bridge: str | None = None
    tag: int | None = None
    firewall: bool | None = None
    link_down: bool | None = None
    mtu: int | None = None
    rate: float | None = None
    queues: int | None = None
    trunks: str | None = None
    extra: dict[str, str] = dataclasses.field(default_factory=dict)

    _FIELDS = (
        ('model', 'model', 'str', QEMU_NET_MODELS),
        ('macaddr', 'macaddr', 'mac', None),
        ('bridge', 'bridge', 'bridge', None),
        ('tag', 'tag', 'int', (1, 4094)),
        ('firewall', 'firewall', 'bool', None),
        ('link_down', 'link_down', 'bool', None),
        ('mtu', 'mtu', 'int', (1, 65520)),
        ('rate', 'rate', 'num', None),
        ('queues', 'queues', 'int', (0, 64)),
        ('trunks', 'trunks', 'str', None),
    )

    @classmethod
    def _reserved(cls):
        return set(QEMU_NET_MODELS)

    def to_string(self):
        props = self.to_props()
        head = props.pop('model')
        mac = props.pop('macaddr', None)
        if mac:
            head = f'{head}={mac}'
        rest = format_property_string(props)
        return head + (',' + rest if rest else '')


def parse_qemu_net(text):
    """A QemuNet from ``virtio=MAC,...`` or ``model=virtio,macaddr=MAC,...`` (or a bare model)."""
    props = parse_property_string(text, default_key='model')
    for key in [k for k in props if k in QEMU_NET_MODELS]:
        if 'model' in props:
            raise _fail('model', text, 'is given more than once')
        if 'macaddr' in props:
            raise _fail('macaddr', text, 'is given more than once')
        props['macaddr'] = props.pop(key)
        props['model'] = key
    if 'model' not in props:
        for key, value in props.items():
            if _MAC_RE.match(value.upper()):
                raise _fail('model', key, 'is not a known NIC model (' + ', '.join(QEMU_NET_MODELS) + ')')
    if 'model' in props and props['model'] not in QEMU_NET_MODELS:
        raise _fail('model', props['model'], 'is not a known NIC model (' + ', '.join(QEMU_NET_MODELS) + ')')
    return QemuNet._from_props(props)


def format_qemu_net(net):
    """The canonical netN string: ``model=MAC`` first, then the other options sorted."""
    return net.to_string()


@dataclasses.dataclass(frozen=True)
class QemuDisk(_Record):
    """A QEMU drive (ideN, sataN, scsiN, virtioN, efidisk0, tpmstate0): ``local-lvm:vm-100-disk-0,iothread=1,size=32G``.

    ``volume`` is a volume ID, 'storage:N' for a new N GiB volume, 'none', 'cdrom' or a path.
    ``size`` is in bytes (informational in PVE). Options without a field are kept in ``extra``.
    """

    volume: str
    media: str | None = None
    size: int | None = None
    format: str | None = None
    cache: str | None = None
    discard: str | None = None
    ssd: bool | None = None
    iothread: bool | None = None
    backup: bool | None = None
    replicate: bool | None = None
    aio: str | None = None
    ro: bool | None = None
    import_from: str | None = None
    extra: dict[str, str] = dataclasses.field(default_factory=dict)

    _FIELDS = (
        ('volume', 'file', 'str', None),
        ('media', 'media', 'str', ('cdrom', 'disk')),
        ('size', 'size', 'size', None),
        ('format', 'format', 'str', _IMAGE_FORMATS),
        ('cache', 'cache', 'str', _CACHE_MODES),
        ('discard', 'discard', 'str', ('ignore', 'on')),
        ('ssd', 'ssd', 'bool', None),
        ('iothread', 'iothread', 'bool', None),
        ('backup', 'backup', 'bool', None),
        ('replicate', 'replicate', 'bool', None),
        ('aio', 'aio', 'str', ('native', 'threads', 'io_uring')),
        ('ro', 'ro', 'bool', None),
        ('import_from', 'import-from', 'str', None),
    )
    _ALIASES: ClassVar[dict[str, str]] = {
        'volume': 'file', 'bps_rd_length': 'bps_rd_max_length', 'bps_wr_length': 'bps_wr_max_length',
        'iops_rd_length': 'iops_rd_max_length', 'iops_wr_length': 'iops_wr_max_length',
    }
    _DEFAULT_KEY = 'file'

    @property
    def storage(self):
        """The storage ID of a volume ID or new-volume spec, else None."""
        parts = split_volume_id(self.volume)
        return parts[0] if parts else None

    @property
    def new_size(self):
        """Bytes to allocate if ``volume`` is 'storage:N' (N GiB), else None."""
        new = parse_new_volume(self.volume)
        return new[1] if new else None

    @property
    def is_cdrom(self):
        return self.media == 'cdrom'

    @property
    def is_cloudinit(self):
        return is_cloudinit_drive(self)


def parse_qemu_disk(text):
    """A QemuDisk from a drive string (``[file=]volume,opt=value,...``; ``volume=`` is accepted as alias of ``file=``)."""
    return QemuDisk._from_props(parse_property_string(text, default_key='file'))


def format_qemu_disk(disk):
    return disk.to_string()


@dataclasses.dataclass(frozen=True)
class IpConfig(_Record):
    """A cloud-init ``ipconfigN``: ``ip=10.0.0.5/24,gw=10.0.0.1,ip6=auto``. Addresses are checked with ipaddress."""

    ip: str | None = None
    gw: str | None = None
    ip6: str | None = None
    gw6: str | None = None
    extra: dict[str, str] = dataclasses.field(default_factory=dict)

    _FIELDS = (
        ('ip', 'ip', 'ip4cfg', None),
        ('gw', 'gw', 'ip4', None),
        ('ip6', 'ip6', 'ip6cfg', None),
        ('gw6', 'gw6', 'ip6', None),
    )
    _ORDER = ('ip', 'gw', 'ip6', 'gw6')

    def _validate(self):
        if self.gw is not None and self.ip is None:
            raise _fail('gw', self.gw, "requires 'ip'")
        if self.gw6 is not None and self.ip6 is None:
            raise _fail('gw6', self.gw6, "requires 'ip6'")


def parse_ipconfig(text):
    return IpConfig._from_props(parse_property_string(text))


def format_ipconfig(config):
    """``ip=..,gw=..,ip6=..,gw6=..`` in that order (PVE stores ipconfig as given, so any order is valid)."""
    return config.to_string()


@dataclasses.dataclass(frozen=True)
class AgentConfig(_Record):
    """The QEMU guest ``agent`` option: ``1`` or ``1,fstrim_cloned_disks=1,type=virtio``."""

    enabled: bool
    fstrim_cloned_disks: bool | None = None
    freeze_fs: bool | None = None
    type: str | None = None
    extra: dict[str, str] = dataclasses.field(default_factory=dict)

    _FIELDS = (
        ('enabled', 'enabled', 'bool', None),
        ('fstrim_cloned_disks', 'fstrim_cloned_disks', 'bool', None),
        ('freeze_fs', 'freeze-fs', 'bool', None),
        ('type', 'type', 'str', ('virtio', 'isa')),
    )
    _ALIASES: ClassVar[dict[str, str]] = {'freeze-fs-on-backup': 'freeze-fs', 'guest-fsfreeze': 'freeze-fs'}
    _DEFAULT_KEY = 'enabled'


def parse_agent(value):
    """An AgentConfig from '1', '0', 1, True or 'enabled=1,type=isa,...'."""
    if isinstance(value, (bool, int)):
        value = '1' if as_bool(value, 'enabled') else '0'
    return AgentConfig._from_props(parse_property_string(value, default_key='enabled'))


def format_agent(agent):
    return agent.to_string()


@dataclasses.dataclass(frozen=True)
class LxcNet(_Record):
    """A container ``netN``: ``name=eth0,bridge=vmbr0,hwaddr=BC:24:11:AA:BB:CC,ip=10.0.0.5/24,gw=10.0.0.1,type=veth``."""

    name: str
    bridge: str | None = None
    hwaddr: str | None = None
    ip: str | None = None
    gw: str | None = None
    ip6: str | None = None
    gw6: str | None = None
    tag: int | None = None
    firewall: bool | None = None
    link_down: bool | None = None
    mtu: int | None = None
    rate: float | None = None
    trunks: str | None = None
    type: str | None = None
    extra: dict[str, str] = dataclasses.field(default_factory=dict)

    _FIELDS = (
        ('name', 'name', 'str', None),
        ('bridge', 'bridge', 'bridge', None),
        ('hwaddr', 'hwaddr', 'mac', None),
        ('ip', 'ip', 'ip4cfg', None),
        ('gw', 'gw', 'ip4', None),
        ('ip6', 'ip6', 'ip6cfg', None),
        ('gw6', 'gw6', 'ip6', None),
        ('tag', 'tag', 'int', (1, 4094)),
        ('firewall', 'firewall', 'bool', None),
        ('link_down', 'link_down', 'bool', None),
        ('mtu', 'mtu', 'int', (64, 65535)),
        ('rate', 'rate', 'num', None),
        ('trunks', 'trunks', 'str', None),
        ('type', 'type', 'str', ('veth',)),
    )
    _ORDER = ('name',)


def parse_lxc_net(text):
    return LxcNet._from_props(parse_property_string(text))


def format_lxc_net(net):
    """``name=..`` first (the required key), then the other options sorted, as PVE prints it."""
    return net.to_string()


@dataclasses.dataclass(frozen=True)
class LxcMount(_Record):
    """A container ``rootfs`` or ``mpN``: ``local-lvm:vm-101-disk-1,mp=/data,backup=1,size=8G``.

    ``volume`` is a volume ID, 'storage:N' for a new N GiB volume, or a host path (bind mount).
    ``mp`` (the path in the container) is required for mpN and absent for rootfs.
    """

    volume: str
    mp: str | None = None
    size: int | None = None
    acl: bool | None = None
    backup: bool | None = None
    quota: bool | None = None
    ro: bool | None = None
    replicate: bool | None = None
    shared: bool | None = None
    mountoptions: str | None = None
    extra: dict[str, str] = dataclasses.field(default_factory=dict)

    _FIELDS = (
        ('volume', 'volume', 'str', None),
        ('mp', 'mp', 'path', None),
        ('size', 'size', 'size', None),
        ('acl', 'acl', 'bool', None),
        ('backup', 'backup', 'bool', None),
        ('quota', 'quota', 'bool', None),
        ('ro', 'ro', 'bool', None),
        ('replicate', 'replicate', 'bool', None),
        ('shared', 'shared', 'bool', None),
        ('mountoptions', 'mountoptions', 'str', None),
    )
    _DEFAULT_KEY = 'volume'
    _ORDER = ('mp',)

    @property
    def storage(self):
        parts = split_volume_id(self.volume)
        return parts[0] if parts else None

    @property
    def new_size(self):
        new = parse_new_volume(self.volume)
        return new[1] if new else None


def parse_lxc_mount(text):
    return LxcMount._from_props(parse_property_string(text, default_key='volume'))


def format_lxc_mount(mount):
    """Volume first, then ``mp=`` (required for mpN), then the other options sorted, as PVE prints it."""
    return mount.to_string()


def parse_qemu_memory(value):
    """MiB of a QEMU ``memory`` option: 2048, '2048' or 'current=2048' (PVE 8.1+ property string)."""
    if isinstance(value, str) and '=' in value:
        props = parse_property_string(value, default_key='current')
        if 'current' not in props:
            raise _fail('memory', value, "has no 'current' value")
        value = props['current']
    return as_int(value, 'memory')

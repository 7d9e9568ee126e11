# -*- coding: utf-8 -*-
# Copyright (c) 2026 nbsync.proxmox contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Pure planning of a guest's configuration: desired options vs. the config PVE has -> what to change.

No I/O. The module (or the reconciler) reads the config, calls ``plan_config``
and applies the plan's ``set``/``delete``/``resize`` through the client. Only
options the user set are compared, each normalised on both sides, so that a
second run against the result plans nothing.

Sub-objects merge: a NIC or disk the user describes keeps every property the
user did not name (its MAC, its volume, its other flags), so ``bridge: vmbr1``
changes the bridge and nothing else.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import dataclasses

try:
    from urllib.parse import quote, unquote
except ImportError:  # pragma: no cover - Python 2 is not supported, this keeps the import sanity test quiet
    from urllib import quote, unquote

from ansible_collections.nbsync.proxmox.plugins.module_utils._diff import DiffTracker
from ansible_collections.nbsync.proxmox.plugins.module_utils._errors import InvalidParameter
from ansible_collections.nbsync.proxmox.plugins.module_utils import _pve_codecs as codecs

_GIB = 1024 ** 3

# Options whose change PVE applies to a running QEMU guest at once (default hotplug: network, disk, usb;
# cloud-init values are only read at the next boot but need no restart to be stored).
QEMU_HOT = frozenset(('description', 'tags', 'onboot', 'protection', 'name', 'ciuser', 'cipassword', 'sshkeys',
                      'nameserver', 'searchdomain', 'cicustom', 'balloon'))
LXC_HOT = frozenset(('description', 'tags', 'onboot', 'protection', 'cores', 'memory', 'swap', 'hostname'))


class ConfigPlan:
    """What to change: ``set`` {key: value}, ``delete`` [keys], ``resize`` [(disk key, size string)]."""

    def __init__(self):
        self.set = {}
        self.delete = []
        self.resize = []
        self.tracker = DiffTracker()

    @property
    def changed(self):
        return bool(self.set or self.delete or self.resize)

    def keys(self):
        return sorted(set(self.set) | set(self.delete) | set(k for k, _s in self.resize))

    def restart_needed(self, kind):
        """Keys that a running guest only takes after a restart (an estimate for check mode)."""
        hot = QEMU_HOT if kind == 'qemu' else LXC_HOT
        return [k for k in sorted(set(self.set) | set(self.delete))
                if k not in hot and not k.startswith('net') and not codecs.is_disk_key(k)
                and not k.startswith('ipconfig')]


def _bad(obj, field, value, problem, hint=None):
    return InvalidParameter('{0}: {1} {2!r} {3}'.format(obj, field, value, problem), hint=hint)


def _codec(obj, func, *args):
    """Run a codec; its ValueError (which names field and value) becomes InvalidParameter naming the object."""
    try:
        return func(*args)
    except ValueError as exc:
        raise InvalidParameter('{0}: {1}'.format(obj, exc))


# --------------------------------------------------------------------------------------- normalisers

def _tags(value):
    if value is None:
        return None
    items = value if isinstance(value, (list, tuple)) else str(value).replace(',', ';').replace(' ', ';').split(';')
    return ';'.join(sorted(set(str(t).strip() for t in items if str(t).strip())))


def _text(value):
    return None if value is None else str(value).strip()


def _sshkeys_plain(value):
    """PVE stores sshkeys URL-encoded; compare the decoded keys, one per line, trailing space ignored."""
    if value is None:
        return None
    text = unquote(str(value))
    return '\n'.join(line.strip() for line in text.strip().splitlines() if line.strip())


def _sshkeys_wire(value):
    # PVE wants the keys URL-encoded, with %20 for spaces (its own UI does the same).
    return quote(_sshkeys_plain(value), safe='')


SCALARS = {
    # option -> (normaliser, PVE key)
    'cores': (lambda v: codecs.as_int(v, 'cores'), 'cores'),
    'sockets': (lambda v: codecs.as_int(v, 'sockets'), 'sockets'),
    'memory': (codecs.parse_qemu_memory, 'memory'),
    'balloon': (lambda v: codecs.as_int(v, 'balloon'), 'balloon'),
    'swap': (lambda v: codecs.as_int(v, 'swap'), 'swap'),
    'cpu': (_text, 'cpu'),
    'description': (_text, 'description'),
    'onboot': (lambda v: codecs.as_bool(v, 'onboot'), 'onboot'),
    'protection': (lambda v: codecs.as_bool(v, 'protection'), 'protection'),
    'ciuser': (_text, 'ciuser'),
    'nameserver': (_text, 'nameserver'),
    'searchdomain': (_text, 'searchdomain'),
    'cicustom': (_text, 'cicustom'),
    'tags': (_tags, 'tags'),
    'sshkeys': (_sshkeys_plain, 'sshkeys'),
}
QEMU_ONLY = ('sockets', 'cpu', 'balloon', 'ciuser', 'cicustom', 'sshkeys')   # nameserver, searchdomain: both kinds
LXC_ONLY = ('swap',)


def _wire(option, normalised):
    """The value to send for a scalar option."""
    if option == 'sshkeys':
        return _sshkeys_wire(normalised)
    if isinstance(normalised, bool):
        return 1 if normalised else 0
    return normalised


# ------------------------------------------------------------------------------------------- planner

def plan_config(desired, config, kind='qemu', name='guest', update_password=False):
    """Plan the config changes that make ``config`` (PVE's GET config) match ``desired`` (module options).

    desired: dict of options (None = not set by the user): cores, sockets, cpu, memory, balloon, swap,
      description, tags, onboot, protection, agent, ciuser, cipassword, sshkeys, nameserver, searchdomain,
      cicustom, ipconfig (list of dicts), nics (list of dicts), disks (list of dicts), default_storage.
    Returns a ConfigPlan. Raises InvalidParameter for input that can never be applied (a disk shrink,
    a malformed MAC or CIDR, a new disk without storage): before anything is written.
    """
    plan = ConfigPlan()
    tracker = plan.tracker
    for option, (norm, key) in SCALARS.items():
        want = desired.get(option)
        if want is None:
            continue
        if kind == 'lxc' and option in QEMU_ONLY or kind == 'qemu' and option in LXC_ONLY:
            raise _bad(name, option, want, 'is not an option of a {0} guest'.format('container' if kind == 'lxc'
                                                                                    else 'QEMU VM'))
        want_n = _codec(name, norm, want)
        if option == 'memory' and want_n <= 0:
            raise _bad(name, 'memory', want, 'must be a positive number of MiB')
        have = config.get(key)
        have_n = _codec(name, norm, have) if have not in (None, '') else None
        tracker.add(option, have_n, want_n)
        if have_n != want_n:
            plan.set[key] = _wire(option, want_n)

    if desired.get('agent') is not None:
        if kind == 'lxc':
            raise _bad(name, 'agent', desired['agent'], 'is not an option of a container')
        want = _codec(name, codecs.parse_agent, desired['agent'])
        have = _codec(name, codecs.parse_agent, config['agent']) if config.get('agent') not in (None, '') else None
        merged = dataclasses.replace(have, **_set_fields(want)) if have else want
        tracker.add('agent', have.to_string() if have else None, merged.to_string())
        if have is None or merged.to_string() != have.to_string():
            plan.set['agent'] = merged.to_string()

    if desired.get('cipassword') is not None:
        if kind == 'lxc':
            raise _bad(name, 'cipassword', '********', 'is not an option of a container')
        # PVE never returns the password (it shows '**********'): it can't be compared, so it is set
        # when the guest is new or the user asked for it (update_password), and then reported as changed.
        if update_password or not config.get('cipassword'):
            plan.set['cipassword'] = desired['cipassword']
            tracker.add('cipassword', '(hidden)' if config.get('cipassword') else None, '(hidden, new)')

    for index, item in enumerate(desired.get('ipconfig') or []):
        if kind == 'lxc':
            raise _bad(name, 'ipconfig', item, 'is for QEMU cloud-init; give a container its ip/gw on nics')
        key = 'ipconfig{0}'.format(item.get('index', index) if item.get('index') is not None else index)
        fields = dict((k, v) for k, v in item.items() if k in ('ip', 'gw', 'ip6', 'gw6') and v is not None)
        want = _codec('{0} {1}'.format(name, key), lambda f: codecs.IpConfig(**f), fields)
        have = _codec(name, codecs.parse_ipconfig, config[key]) if config.get(key) else None
        tracker.add(key, have.to_string() if have else None, want.to_string())
        if have is None or have.to_string() != want.to_string():
            plan.set[key] = want.to_string()

    for index, nic in enumerate(desired.get('nics') or []):
        _plan_nic(plan, nic, index, config, kind, name)

    for disk in desired.get('disks') or []:
        _plan_disk(plan, disk, config, kind, name, desired.get('default_storage'))
    return plan


def _set_fields(record):
    """The fields of a codec record that are set (not None), for dataclasses.replace merges."""
    out = {}
    for field in dataclasses.fields(record):
        value = getattr(record, field.name)
        if field.name == 'extra':
            continue
        if value is not None:
            out[field.name] = value
    return out


def _plan_nic(plan, nic, index, config, kind, name):
    key = nic.get('name') or 'net{0}'.format(index)
    obj = '{0} {1}'.format(name, key)
    if not key.startswith('net') or not codecs.is_digits(key[3:]):
        raise _bad(name, 'nics.name', key, 'must be netN (net0, net1, ...)')
    have_text = config.get(key)
    if kind == 'qemu':
        fields = dict(model=nic.get('model'), macaddr=nic.get('macaddr'), bridge=nic.get('bridge'),
                      tag=nic.get('tag'), firewall=nic.get('firewall'), mtu=nic.get('mtu'), rate=nic.get('rate'),
                      link_down=nic.get('link_down'))
        parse = codecs.parse_qemu_net
        build = codecs.QemuNet
        if have_text is None and not fields['model']:
            fields['model'] = 'virtio'
    else:
        fields = dict(name=nic.get('interface'), hwaddr=nic.get('macaddr'), bridge=nic.get('bridge'),
                      tag=nic.get('tag'), firewall=nic.get('firewall'), mtu=nic.get('mtu'), rate=nic.get('rate'),
                      ip=nic.get('ip'), gw=nic.get('gw'), ip6=nic.get('ip6'), gw6=nic.get('gw6'),
                      link_down=nic.get('link_down'))
        parse = codecs.parse_lxc_net
        build = codecs.LxcNet
        if have_text is None and not fields['name']:
            fields['name'] = 'eth{0}'.format(key[3:])
    fields = dict((k, v) for k, v in fields.items() if v is not None)
    if have_text is None:
        if kind == 'qemu' and not fields.get('bridge'):
            raise _bad(obj, 'bridge', None, 'is required for a new NIC', hint='give nics[].bridge, e.g. vmbr0')
        want = _codec(obj, lambda f: build(**f), fields)
        plan.tracker.add(key, None, want.to_string())
        plan.set[key] = want.to_string()
        return
    have = _codec(obj, parse, have_text)
    want = _codec(obj, lambda f: dataclasses.replace(have, **f), fields)
    plan.tracker.add(key, have.to_string(), want.to_string())
    if want.to_string() != have.to_string():
        plan.set[key] = want.to_string()


_DISK_OPTIONS = ('format', 'cache', 'discard', 'ssd', 'iothread', 'backup', 'replicate')


def _disk_fields(disk, kind):
    out = {}
    for option in _DISK_OPTIONS:
        value = disk.get(option)
        if value is None:
            continue
        if option == 'discard' and isinstance(value, bool):
            value = 'on' if value else 'ignore'
        out[option] = value
    if kind == 'lxc':
        out = dict((k, v) for k, v in out.items() if k in ('backup', 'replicate'))
        if disk.get('mp'):
            out['mp'] = disk['mp']
    return out


def _plan_disk(plan, disk, config, kind, name, default_storage):
    key = disk.get('name')
    obj = '{0} {1}'.format(name, key)
    if kind == 'qemu':
        if not key or not codecs.is_disk_key(key):
            raise _bad(name, 'disks.name', key, 'must be a disk slot: scsiN, virtioN, sataN or ideN')
        parse, build = codecs.parse_qemu_disk, codecs.QemuDisk
    else:
        if not key or not (key == 'rootfs' or (key.startswith('mp') and codecs.is_digits(key[2:]))):
            raise _bad(name, 'disks.name', key, 'must be rootfs or mpN for a container')
        parse, build = codecs.parse_lxc_mount, codecs.LxcMount
    want_size = _codec(obj, codecs.parse_size, disk['size'], 'size') if disk.get('size') is not None else None
    fields = _disk_fields(disk, kind)
    have_text = config.get(key)
    if have_text is None:
        storage = disk.get('storage') or default_storage
        if not storage or want_size is None:
            raise _bad(obj, 'size' if want_size is None else 'storage', None, 'is required for a new disk',
                       hint='give disks[].size and disks[].storage (or the module\'s storage option)')
        if want_size % _GIB:
            raise _bad(obj, 'size', disk['size'], 'must be whole GiB for a new disk (PVE allocates in GiB)')
        if kind == 'lxc' and key != 'rootfs' and not fields.get('mp'):
            raise _bad(obj, 'mp', None, 'is required for a new container mount point')
        volume = '{0}:{1}'.format(storage, want_size // _GIB)
        want = _codec(obj, lambda f: build(volume=volume, **f), fields)
        plan.tracker.add(key, None, '{0} ({1})'.format(want.to_string(), codecs.format_size(want_size)))
        plan.set[key] = want.to_string()
        return
    have = _codec(obj, parse, have_text)
    if kind == 'qemu' and have.is_cdrom:
        raise _bad(obj, 'name', key, 'is a CD-ROM drive, not a disk', hint='choose a free slot for a new disk')
    if want_size is not None:
        have_size = have.size
        if have_size is None:
            raise _bad(obj, 'size', disk['size'], 'cannot be compared: PVE reports no size for this disk')
        if want_size < have_size:
            raise _bad(obj, 'size', disk['size'], 'is smaller than the disk ({0}); shrinking a disk is refused'
                       .format(codecs.format_size(have_size)), hint='give a size of at least the current one')
        plan.tracker.add(key + '.size', codecs.format_size(have_size), codecs.format_size(want_size))
        if want_size > have_size:
            plan.resize.append((key, codecs.format_size(want_size)))
    if disk.get('storage') and have.storage and disk['storage'] != have.storage:
        raise _bad(obj, 'storage', disk['storage'], 'differs from where the disk lives ({0}); moving disks is '
                   'not done by this module'.format(have.storage))
    if fields:
        want = _codec(obj, lambda f: dataclasses.replace(have, **f), fields)
        plan.tracker.add(key, have.to_string(), want.to_string())
        if want.to_string() != have.to_string():
            plan.set[key] = want.to_string()


def mac_addresses(config):
    """{netN: MAC} of a guest's config (QEMU or LXC)."""
    out = {}
    for key in sorted(config):
        if not (key.startswith('net') and codecs.is_digits(key[3:])):
            continue
        text = config[key]
        try:
            if 'hwaddr=' in text or text.startswith('name='):
                mac = codecs.parse_lxc_net(text).hwaddr
            else:
                mac = codecs.parse_qemu_net(text).macaddr
        except ValueError:
            mac = None
        if mac:
            out[key] = mac
    return out

# -*- coding: utf-8 -*-
# Copyright (c) 2026 nbsync.proxmox contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Which guest NIC is which NetBox interface, and which disk slot is which NetBox virtual disk (pure).

The rules (docs/identity.md says the same for users):

* A NIC is its MAC. A NetBox interface whose MAC is on the guest is that ``netN``, wherever it sits.
  Without a MAC on the guest, the slot recorded for it (custom field ``proxmox_slot``) is its NIC.
  An interface with neither takes a free ``netN``: free among the other interfaces' slots and, on a
  guest that exists, among the NICs the guest already has, so a new interface never takes over a NIC.
  One exception, adoption: a guest found by name (NetBox has no vmid for it) whose unclaimed NICs are
  exactly as many as the interfaces without a MAC pairs them in slot order, and records their MACs.
* A disk is the slot recorded for it: the custom field ``proxmox_slot``, else a name that is a slot
  (``scsi0``, ``virtio1``, ``rootfs``, ``mp0``). A disk with neither takes a free slot on the VM's bus
  (a container: ``rootfs`` first, then ``mpN``), free among the recorded slots and, on a guest that
  exists and whose disks have been recorded before, among the guest's drives. (A guest none of whose
  disks has the custom field yet, one made before slots were recorded, keeps the slots the earlier
  versions gave: the first run records them, and from then on they never move.)
* Nothing is ever derived from the sort order of what exists: removing one interface or disk in NetBox
  leaves the others where they are. The slots chosen are written back to NetBox (``proxmox_slot``), so
  the choice is made once.

``resolve(spec, config)`` fills ``slot`` of each NicSpec and DiskSpec of the spec and returns the
problems (two objects claiming one slot, two NICs that would end with one MAC) as messages.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import re

from ansible_collections.nbsync.proxmox.plugins.module_utils import _pve_codecs as codecs

SLOT_FIELD = 'proxmox_slot'
QEMU_BUSES = ('scsi', 'virtio', 'sata', 'ide')
_NET = re.compile(r'^net([0-9]{1,2})$')
_QEMU_DISK = re.compile(r'^(scsi|virtio|sata|ide)([0-9]{1,2})$')
_LXC_DISK = re.compile(r'^(rootfs|mp[0-9]{1,3})$')


def nic_slot_ok(slot):
    return bool(slot) and bool(_NET.match(slot))


def disk_slot_ok(slot, kind):
    """A slot name a disk of this kind of guest can have (ASCII digits only: '²' is not a digit here)."""
    if not slot:
        return False
    return bool(_LXC_DISK.match(slot) if kind == 'lxc' else _QEMU_DISK.match(slot))


def recorded_disk_slot(recorded, name, kind):
    """The slot NetBox records for a disk: the custom field, else a name that is a slot; None if neither."""
    if recorded:
        return recorded
    lowered = (name or '').strip().lower()
    return lowered if disk_slot_ok(lowered, kind) else None


def guest_macs(config):
    """{netN: MAC (upper case)} of a guest's config, QEMU or LXC."""
    out = {}
    for key, text in (config or {}).items():
        if not _NET.match(key) or not isinstance(text, str):
            continue
        try:
            mac = codecs.parse_lxc_net(text).hwaddr if ('hwaddr=' in text or text.startswith('name=')) \
                else codecs.parse_qemu_net(text).macaddr
        except ValueError:
            mac = None
        if mac:
            out[key] = mac.upper()
    return out


def _next_free(prefix, taken, start=0):
    index = start
    while '{0}{1}'.format(prefix, index) in taken:
        index += 1
    return '{0}{1}'.format(prefix, index)


def resolve(spec, config, bus='scsi'):
    """Give every NIC and disk of ``spec`` its slot; ``config`` is the guest's config, None for a new guest.

    Returns a list of problems; a VM with any must not be applied.
    """
    problems = []
    problems.extend(_resolve_nics(spec, config, adopting=config is not None and spec.vmid is None))
    problems.extend(_resolve_disks(spec, config, bus))
    return problems


def _claim(claims, slot, who, problems, what):
    if slot in claims and claims[slot] != who:
        problems.append('{0} {1} and {2} both are {3}; give each its own (custom field {4})'.format(
            what, claims[slot], who, slot, SLOT_FIELD))
        return False
    claims[slot] = who
    return True


def _resolve_nics(spec, config, adopting=False):
    problems = []
    on_guest = guest_macs(config) if config is not None else {}
    slot_of_mac = dict((mac, slot) for slot, mac in on_guest.items())
    claims = {}
    unplaced = []
    for nic in spec.nics:
        slot = None
        if nic.mac and nic.mac.upper() in slot_of_mac:
            slot = slot_of_mac[nic.mac.upper()]
        elif nic.recorded_slot:
            slot = nic.recorded_slot
        if slot is None:
            unplaced.append(nic)
            continue
        if _claim(claims, slot, nic.name, problems, 'interfaces'):
            nic.slot = slot
    if adopting and unplaced:
        # A guest found by name that NetBox knows nothing of yet (an earlier run made it and could not write
        # back, or it predates NetBox): when its NICs that no interface claims are exactly as many as the
        # interfaces without a MAC, they are those interfaces, in slot order; their MACs are recorded.
        left = sorted((k for k in on_guest if k not in claims), key=lambda k: int(k[3:]))
        if len(left) == len(unplaced):
            for nic, slot in zip(unplaced, left):
                nic.slot = slot
                claims[slot] = nic.name
            unplaced = []
    taken = set(claims) | (set(k for k in (config or {}) if _NET.match(k)))
    for nic in unplaced:
        nic.slot = _next_free('net', taken)
        taken.add(nic.slot)
        claims[nic.slot] = nic.name
    # The MACs the guest would end with: NetBox's for the NICs it describes, the guest's for the others.
    final = dict(on_guest)
    for nic in spec.nics:
        if nic.slot and nic.mac:
            final[nic.slot] = nic.mac.upper()
        elif nic.slot and nic.slot not in on_guest:
            final.pop(nic.slot, None)
    seen = {}
    for slot in sorted(final):
        mac = final[slot]
        if mac in seen:
            problems.append('{0} and {1} would both have MAC {2}; a MAC belongs to one NIC: correct the '
                            'interface MACs in NetBox'.format(seen[mac], slot, mac))
        seen[mac] = slot
    return problems


def _resolve_disks(spec, config, bus):
    problems = []
    claims = {}
    unplaced = []
    any_recorded_by_field = any(d.recorded_slot for d in spec.disks)
    for disk in spec.disks:
        slot = recorded_disk_slot(disk.recorded_slot, disk.name, spec.kind)
        if slot is None:
            unplaced.append(disk)
            continue
        if _claim(claims, slot, disk.name, problems, 'virtual disks'):
            disk.slot = slot
    taken = set(claims)
    if config is not None and any_recorded_by_field:
        # Slots were recorded before: a disk without one is new, and must not take a drive the guest has.
        taken |= set(k for k in config if codecs.is_disk_key(k) or _LXC_DISK.match(k))
    for disk in unplaced:
        if spec.kind == 'lxc':
            disk.slot = 'rootfs' if 'rootfs' not in taken else _next_free('mp', taken)
        else:
            disk.slot = _next_free(bus, taken)
        taken.add(disk.slot)
    return problems

# -*- coding: utf-8 -*-
# Copyright (c) 2026 nbsync.proxmox contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The neutral model both systems are read into: plain data, no I/O, no Ansible imports.

NetBox's desired VMs and Proxmox's live guests both become ``VmSpec`` objects;
the planner (``_reconcile``) compares them. Units are fixed here once:
memory in MiB, disk sizes in bytes, VLANs as integer tags, MACs upper-case.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

# NetBox VM status -> what it means in Proxmox (see docs/netbox-contract.md).
#   power: the power state wanted; None = the guest must not exist (planned) or is left alone.
STATUS_MEANING = {
    'planned': {'exists': False, 'power': None},
    'staged': {'exists': True, 'power': 'stopped'},
    'active': {'exists': True, 'power': 'running'},
    'offline': {'exists': True, 'power': 'stopped'},
    'paused': {'exists': True, 'power': 'paused'},
    'failed': {'exists': None, 'power': None},          # left alone, reported
    'decommissioning': {'exists': False, 'power': None},
}


class NicSpec:
    """One NIC: the NetBox interface and the Proxmox netN it becomes."""

    __slots__ = ('slot', 'name', 'netbox_id', 'mac', 'bridge', 'vlan', 'ips', 'gateway', 'mtu', 'model',
                 'firewall', 'prefix_id', 'recorded_slot', 'prefix', 'prefix_vrf')

    def __init__(self, slot=None, name=None, netbox_id=None, mac=None, bridge=None, vlan=None, ips=None,
                 gateway=None, mtu=None, model=None, firewall=None, prefix_id=None, recorded_slot=None):
        self.slot = slot            # 'net0': decided by _identity.resolve (MAC, then the recorded slot)
        self.recorded_slot = recorded_slot  # what NetBox records (custom field proxmox_slot), or None
        self.name = name            # NetBox interface name ('eth0')
        self.netbox_id = netbox_id
        self.mac = mac
        self.bridge = bridge
        self.vlan = vlan
        self.ips = list(ips or [])  # CIDRs, IPv4 first
        self.gateway = gateway
        self.mtu = mtu
        self.model = model
        self.firewall = firewall
        self.prefix_id = prefix_id  # where a missing address is allocated from
        self.prefix = None          # that prefix as a CIDR, and its VRF's id: where its gateway is reserved
        self.prefix_vrf = None

    def __repr__(self):
        return 'NicSpec({0})'.format(', '.join('{0}={1!r}'.format(k, getattr(self, k)) for k in self.__slots__
                                               if getattr(self, k) not in (None, [])))


class DiskSpec:
    """One disk: slot (scsi0, virtio1, sata0; rootfs/mpN for LXC), size in bytes, storage."""

    __slots__ = ('slot', 'size', 'storage', 'netbox_id', 'name', 'recorded_slot')

    def __init__(self, slot, size, storage=None, netbox_id=None, name=None, recorded_slot=None):
        self.slot = slot            # decided by _identity.resolve (the recorded slot, else a free one)
        self.recorded_slot = recorded_slot  # custom field proxmox_slot as NetBox has it, or None
        self.size = size
        self.storage = storage
        self.netbox_id = netbox_id
        self.name = name

    def __repr__(self):
        return 'DiskSpec({0!r}, {1!r}, {2!r})'.format(self.slot, self.size, self.storage)


class VmSpec:
    """A guest as one side sees it. Identity: (cluster, vmid, kind); name only to adopt an unknown guest."""

    __slots__ = ('name', 'cluster', 'status', 'kind', 'vmid', 'node', 'vcpus', 'memory', 'disks', 'nics',
                 'tags', 'template', 'storage', 'netbox_id', 'role', 'tenant', 'site', 'dns_name', 'ciuser',
                 'sshkeys', 'nameserver', 'searchdomain', 'power', 'pool', 'description', 'errors',
                 'recorded_node', 'primary_ip4', 'primary_ip6', 'ip_ids', 'disk_bus')

    def __init__(self, name, cluster=None, status=None, kind='qemu', vmid=None, node=None, vcpus=None,
                 memory=None, disks=None, nics=None, tags=None, template=None, storage=None, netbox_id=None,
                 role=None, tenant=None, site=None, dns_name=None, ciuser=None, sshkeys=None, nameserver=None,
                 searchdomain=None, power=None, pool=None, description=None, errors=None):
        self.name = name
        self.cluster = cluster
        self.status = status
        self.kind = kind
        self.vmid = vmid
        self.node = node
        self.vcpus = vcpus
        self.memory = memory
        self.disks = list(disks or [])
        self.nics = list(nics or [])
        self.tags = sorted(tags or [])
        self.template = template
        self.storage = storage
        self.netbox_id = netbox_id
        self.role = role
        self.tenant = tenant
        self.site = site
        self.dns_name = dns_name
        self.ciuser = ciuser
        self.sshkeys = sshkeys
        self.nameserver = nameserver
        self.searchdomain = searchdomain
        self.power = power          # actual side: running / stopped / paused
        self.pool = pool
        self.description = description
        self.errors = list(errors or [])   # problems found while reading (reported per VM, never raised)
        # What NetBox records about the guest (the write-back's side): the node custom field as stored
        # (node above may come from defaults), the primary IPs' ids, and each NIC address's id.
        self.recorded_node = None
        self.primary_ip4 = None
        self.primary_ip6 = None
        self.ip_ids = {}
        self.disk_bus = 'scsi'      # where a QEMU disk without a recorded slot goes

    @property
    def key(self):
        return (self.cluster, self.vmid, self.kind)

    def __repr__(self):
        return 'VmSpec({0!r}, cluster={1!r}, vmid={2!r}, status={3!r})'.format(self.name, self.cluster, self.vmid,
                                                                               self.status)

# -*- coding: utf-8 -*-
# Copyright (c) 2026 nbsync.proxmox contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Read NetBox's desired VMs into the neutral model with a fixed number of paged list calls.

The calls do not grow with the number of VMs: clusters, VMs (and, in a run not limited
to clusters, VMs without a cluster that carry proxmox_* fields), interfaces (by
cluster), virtual disks, IP addresses of VM interfaces and prefixes (where a
missing address is allocated from), each one paged list. They are joined here.
``to_specs`` is pure (NetBox JSON in, VmSpec out) and unit-tested on its own.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import ipaddress

from ansible_collections.nbsync.proxmox.plugins.module_utils._errors import InvalidRequest
from ansible_collections.nbsync.proxmox.plugins.module_utils._identity import (
    QEMU_BUSES, SLOT_FIELD, disk_slot_ok, nic_slot_ok,
)
from ansible_collections.nbsync.proxmox.plugins.module_utils._model import DiskSpec, NicSpec, VmSpec

CLUSTER_TYPE = 'proxmox'
# Custom fields the collection creates on first use (name -> definition).
VM_FIELDS = {
    'proxmox_vmid': {'type': 'integer', 'label': 'Proxmox vmid', 'description': 'Set by nbsync.proxmox'},
    'proxmox_node': {'type': 'text', 'label': 'Proxmox node', 'description': 'Set by nbsync.proxmox'},
    'proxmox_type': {'type': 'text', 'label': 'Proxmox guest type (qemu or lxc)'},
    'proxmox_template': {'type': 'text', 'label': 'Proxmox template to clone from'},
    'proxmox_storage': {'type': 'text', 'label': 'Proxmox target storage'},
}
INTERFACE_FIELDS = {
    'proxmox_bridge': {'type': 'text', 'label': 'Proxmox bridge'},
    SLOT_FIELD: {'type': 'text', 'label': 'Proxmox slot',
                 'description': 'Set by nbsync.proxmox: the guest NIC (netN) or disk (scsi0, rootfs, mp0) this is'},
}
# One custom field serves interfaces and virtual disks (NetBox custom field names are unique).
DISK_FIELDS = {
    SLOT_FIELD: INTERFACE_FIELDS[SLOT_FIELD],
}
PREFIX_FIELDS = {
    'proxmox_gateway': {'type': 'text', 'label': 'Gateway for guests in this prefix'},
}
MIB = 1024 * 1024


def _ref(obj, attr='name'):
    return obj.get(attr) if isinstance(obj, dict) else None


def _value(obj):
    """NetBox choice fields are {"value": ..., "label": ...}."""
    return obj.get('value') if isinstance(obj, dict) else obj


def _merged_defaults(defaults, cluster, role):
    out = {}
    for key, value in (defaults or {}).items():
        if key not in ('clusters', 'roles'):
            out[key] = value
    out.update(((defaults or {}).get('clusters') or {}).get(cluster) or {})
    out.update(((defaults or {}).get('roles') or {}).get(role) or {})
    return out


def to_specs(vms, interfaces, disks, ips, defaults=None, prefixes=None):
    """Join NetBox's lists into VmSpec objects (pure).

    vms, interfaces, disks, ips, prefixes: lists of NetBox API dicts. defaults: the documented variables
    (template, storage, bridge, disk_bus, ciuser, sshkeys, nameserver, searchdomain, per cluster/role).
    Problems (a missing template, a zero memory, a duplicate MAC) go to spec.errors, never raised: one
    VM's bad data, whatever it is, fails that VM alone.
    NIC and disk slots are left to ``_identity.resolve``, which needs the guest's config too.
    """
    by_vm_if = {}
    for iface in interfaces:
        by_vm_if.setdefault(iface['virtual_machine']['id'], []).append(iface)
    by_vm_disk = {}
    for disk in disks:
        by_vm_disk.setdefault(disk['virtual_machine']['id'], []).append(disk)
    by_if_ip = {}
    for ip in ips:
        if ip.get('assigned_object_type') == 'virtualization.vminterface' and ip.get('assigned_object_id'):
            by_if_ip.setdefault(ip['assigned_object_id'], []).append(ip)
    prefix_index = _prefix_index(prefixes or [])
    specs = []
    for vm in vms:
        try:
            specs.append(_to_spec(vm, by_vm_if.get(vm['id'], []), by_vm_disk.get(vm['id'], []), by_if_ip,
                                  defaults, prefix_index))
        except Exception as exc:  # noqa: BLE001 - the isolation boundary: one VM's data never stops the run
            spec = VmSpec(name=vm.get('name'), cluster=_ref(vm.get('cluster')), status=_value(vm.get('status')),
                          netbox_id=vm.get('id'))
            spec.errors.append('reading the VM from NetBox failed: {0}: {1}'.format(type(exc).__name__, exc))
            specs.append(spec)
    return specs


def _int_field(value, what, errors):
    """An integer NetBox field; anything else (a float string, '²') is reported, never raised."""
    if value in (None, ''):
        return None
    try:
        number = int(float(value)) if not isinstance(value, int) else value
    except (TypeError, ValueError):
        errors.append('{0}: {1!r} is not a number'.format(what, value))
        return None
    return number


def _to_spec(vm, vm_ifaces, vm_disks, by_if_ip, defaults, prefix_index):
    cf = vm.get('custom_fields') or {}
    cluster = _ref(vm.get('cluster'))
    role = _ref(vm.get('role'), 'slug')
    conf = _merged_defaults(defaults, cluster, role)
    kind = str(cf.get('proxmox_type') or conf.get('type') or 'qemu').lower()
    errors = []
    vmid = cf.get('proxmox_vmid')
    if vmid is not None and (isinstance(vmid, bool) or not isinstance(vmid, int) or vmid <= 0):
        errors.append('custom field proxmox_vmid: {0!r} is not a vmid (a positive integer)'.format(vmid))
        vmid = None
    spec = VmSpec(
        name=vm['name'], cluster=cluster, status=_value(vm.get('status')), kind=kind,
        vmid=vmid, node=cf.get('proxmox_node') or conf.get('node'),
        vcpus=_int_field(vm.get('vcpus'), 'vcpus', errors),
        memory=_int_field(vm.get('memory'), 'memory', errors), tags=[t.get('name') for t in vm.get('tags') or []],
        template=cf.get('proxmox_template') or conf.get('template'),
        storage=cf.get('proxmox_storage') or conf.get('storage'), netbox_id=vm['id'], role=role,
        tenant=_ref(vm.get('tenant'), 'slug'), site=_ref(vm.get('site'), 'slug'),
        ciuser=conf.get('ciuser'), sshkeys=conf.get('sshkeys'), nameserver=conf.get('nameserver'),
        searchdomain=conf.get('searchdomain'), pool=conf.get('pool'), errors=errors,
    )
    spec.recorded_node = cf.get('proxmox_node')
    spec.primary_ip4 = _ref(vm.get('primary_ip4'), 'id')
    spec.primary_ip6 = _ref(vm.get('primary_ip6'), 'id')
    spec.disk_bus = str(conf.get('disk_bus') or 'scsi')
    if cluster is None:
        spec.errors.append('cluster: the VM has no cluster; assign it to a Proxmox cluster in NetBox')
    if kind not in ('qemu', 'lxc'):
        spec.errors.append("custom field proxmox_type: {0!r} is not 'qemu' or 'lxc'".format(kind))
    if spec.disk_bus not in QEMU_BUSES:
        spec.errors.append('defaults disk_bus: {0!r} is not one of {1}'.format(spec.disk_bus, ', '.join(QEMU_BUSES)))
    if spec.memory is not None and spec.memory <= 0:
        spec.errors.append('memory: {0} MB is not a positive size'.format(spec.memory))
    if spec.vcpus is not None and spec.vcpus <= 0:
        spec.errors.append('vcpus: {0} is not a positive count'.format(vm.get('vcpus')))
    for disk in sorted(vm_disks, key=lambda d: (d.get('name') or '', d['id'])):
        recorded = (disk.get('custom_fields') or {}).get(SLOT_FIELD) or None
        if recorded is not None and not disk_slot_ok(str(recorded), kind):
            spec.errors.append('virtual disk {0}: custom field {1} {2!r} is not a disk slot of a {3} guest ({4})'
                               .format(disk.get('name'), SLOT_FIELD, recorded, kind,
                                       'rootfs, mpN' if kind == 'lxc' else 'scsiN, virtioN, sataN, ideN'))
            continue
        raw = disk.get('size')
        size = _int_field(raw, 'virtual disk {0}: size'.format(disk.get('name')), spec.errors)
        if size is None and raw not in (None, ''):
            continue                                    # reported: not a number
        if size is None or size <= 0:
            spec.errors.append('virtual disk {0}: size {1} MB is not a positive size'.format(disk.get('name'), raw))
            continue
        spec.disks.append(DiskSpec(None, size * MIB, storage=spec.storage, netbox_id=disk['id'],
                                   name=disk.get('name'), recorded_slot=recorded))
    macs = {}
    for iface in sorted(vm_ifaces, key=lambda i: (i.get('name') or '', i['id'])):
        vlan = iface.get('untagged_vlan') or {}
        mac = _ref(iface.get('primary_mac_address'), 'mac_address') or iface.get('mac_address')
        mac = mac.upper() if mac else None
        icf = iface.get('custom_fields') or {}
        recorded = icf.get(SLOT_FIELD) or None
        if recorded is not None and not nic_slot_ok(str(recorded)):
            spec.errors.append('interface {0}: custom field {1} {2!r} is not a NIC slot (net0, net1, ...)'.format(
                iface.get('name'), SLOT_FIELD, recorded))
            recorded = None
        for ip in by_if_ip.get(iface['id'], []):
            spec.ip_ids[ip['address']] = ip['id']
        addresses = sorted((ip['address'] for ip in by_if_ip.get(iface['id'], [])),
                           key=lambda a: (ipaddress.ip_interface(a).version, a))
        nic = NicSpec(name=iface.get('name'), netbox_id=iface['id'], mac=mac,
                      bridge=icf.get('proxmox_bridge') or conf.get('bridge'), vlan=vlan.get('vid'),
                      ips=addresses, mtu=iface.get('mtu'), recorded_slot=recorded)
        prefix = _prefix_for(prefix_index, addresses, vlan.get('id'), role)
        if prefix:
            nic.prefix_id = prefix['id']
            nic.prefix = prefix.get('prefix')
            nic.prefix_vrf = _ref(prefix.get('vrf'), 'id')
            nic.gateway = (prefix.get('custom_fields') or {}).get('proxmox_gateway')
        if mac:
            if mac in macs:
                spec.errors.append('interfaces {0} and {1}: both have MAC {2}; give each NIC its own MAC'.format(
                    macs[mac], iface.get('name'), mac))
            macs[mac] = iface.get('name')
        if not nic.bridge:
            spec.errors.append('interface {0}: no bridge (custom field proxmox_bridge or defaults bridge)'
                               .format(iface.get('name')))
        spec.nics.append(nic)
    return spec


def _prefix_index(prefixes):
    out = []
    for prefix in prefixes:
        try:
            net = ipaddress.ip_network(prefix['prefix'], strict=False)
        except ValueError:
            continue
        out.append((net, prefix))
    # most specific first
    out.sort(key=lambda item: -item[0].prefixlen)
    return out


def _prefix_for(index, addresses, vlan_id, role):
    """The prefix an interface's address lives in, else the one on its VLAN, else one for the VM role."""
    for address in addresses:
        ip = ipaddress.ip_interface(address).ip
        for net, prefix in index:
            if ip in net:
                return prefix
    if vlan_id is not None:
        for _net, prefix in index:
            if (prefix.get('vlan') or {}).get('id') == vlan_id:
                return prefix
    if role:
        for _net, prefix in index:
            if _ref(prefix.get('role'), 'slug') == role:
                return prefix
    return None


class NetBoxReader:
    """The paged list calls behind ``to_specs``; the number of calls does not depend on the VM count."""

    def __init__(self, netbox):
        self.nb = netbox
        self.warnings = []

    def proxmox_clusters(self, cluster_names=None):
        try:
            clusters = self.nb.list('virtualization.clusters', type=CLUSTER_TYPE)
        except InvalidRequest as err:
            if 'type' not in err.field_errors:
                raise
            # NetBox refuses a filter on a cluster type it does not have: no Proxmox cluster, said plainly.
            self.warnings.append("NetBox has no cluster type with the slug '{0}', so there is no Proxmox cluster to "
                                 "synchronise: create it (Virtualization > Cluster Types) and give each Proxmox "
                                 "cluster that type".format(CLUSTER_TYPE))
            return []
        if cluster_names:
            clusters = [c for c in clusters if c['name'] in cluster_names]
        return clusters

    def read(self, defaults=None, cluster_names=None, tags=None, roles=None, names=None, clusters_read=None):
        """VmSpecs of the selected VMs and the clusters read; ``clusters_read``: the clusters already listed."""
        clusters = self.proxmox_clusters(cluster_names) if clusters_read is None else clusters_read
        filters = {}
        if tags:
            filters['tag'] = list(tags)
        if roles:
            filters['role'] = list(roles)
        if names:
            filters['name'] = list(names)
        # A VM meant for Proxmox but left without a cluster is reported, not silently skipped; a run
        # limited to clusters cannot select it, so only unlimited runs look for such VMs.
        orphans = [] if cluster_names else self.clusterless(filters, names)
        if not clusters:
            return to_specs(orphans, [], [], [], defaults), clusters
        ids = [c['id'] for c in clusters]
        vms = self.nb.list('virtualization.virtual_machines', cluster_id=ids, **filters)
        if not vms:
            return to_specs(orphans, [], [], [], defaults), clusters
        interfaces = self.nb.list('virtualization.interfaces', cluster_id=ids)
        wanted = set(v['id'] for v in vms)
        interfaces = [i for i in interfaces if i['virtual_machine']['id'] in wanted]
        disks = [d for d in self.nb.list('virtualization.virtual_disks') if d['virtual_machine']['id'] in wanted]
        ips = self.nb.list('ipam.ip_addresses', assigned_object_type='virtualization.vminterface')
        prefixes = self.nb.list('ipam.prefixes')
        return to_specs(vms, interfaces, disks, ips, defaults, prefixes) + to_specs(orphans, [], [], [], defaults), clusters

    def clusterless(self, filters, names=None):
        """VMs without a cluster that are meant for Proxmox: named in the run's limit, or carrying a
        proxmox_* custom field. Other cluster-less VMs (not ours to judge) are left out."""
        vms = self.nb.list('virtualization.virtual_machines', cluster_id='null', **filters)
        named = set(names or ())
        return [vm for vm in vms if vm['name'] in named
                or any(key.startswith('proxmox_') and value not in (None, '', [])
                       for key, value in (vm.get('custom_fields') or {}).items())]

    def ensure_custom_fields(self, check_mode=False):
        """Create the collection's custom fields on first use, and give an existing one an object type it
        lacks (proxmox_slot serves interfaces and disks); returns the names created or extended."""
        existing = dict((cf['name'], cf) for cf in self.nb.list('extras.custom_fields', name__isw='proxmox_'))
        wanted = {}
        for fields, object_type in ((VM_FIELDS, 'virtualization.virtualmachine'),
                                    (INTERFACE_FIELDS, 'virtualization.vminterface'),
                                    (DISK_FIELDS, 'virtualization.virtualdisk'),
                                    (PREFIX_FIELDS, 'ipam.prefix')):
            for name, definition in fields.items():
                item = wanted.setdefault(name, dict(definition, name=name, object_types=[]))
                item['object_types'].append(object_type)
                item.setdefault('label', name)
        create, extend, names = [], [], []
        for name, item in wanted.items():
            have = existing.get(name)
            types = list((have or {}).get('object_types') or [])
            missing = [t for t in item['object_types'] if t not in types]
            if have is None:
                create.append(item)
            elif missing:
                extend.append({'id': have['id'], 'object_types': types + missing})
            else:
                continue
            names.append(name)
        if not check_mode:
            self.nb.create('extras.custom_fields', create)
            self.nb.update('extras.custom_fields', extend)
        return names

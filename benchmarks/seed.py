"""Seed the lab's NetBox with the benchmark's 1,000 VMs (idempotent: creates only what is missing).

    export ANSIBLE_COLLECTIONS_PATH=$PWD/.build/collections PYTHONPATH=$PWD/.build/collections
    .venv/bin/python benchmarks/seed.py [--count 1000]

Cluster ``bench-1k`` (type slug ``proxmox``); per VM: status active, vcpus, memory, custom fields
proxmox_vmid/proxmox_node/proxmox_type, one interface ``eth0`` with a primary MAC and one IPv4 address,
one virtual disk ``scsi0``; one prefix with the custom field proxmox_gateway. NetBox takes about 35 ms
per created object here, so a first seed takes a few minutes; a second one only reads (about 10 s).
The fakepve side is not seeded here: ``run.py`` starts its own fakepve and loads the matching guests.
"""

import argparse
import time

import common

from ansible_collections.nbsync.proxmox.plugins.module_utils._netbox_client import NetBoxClient
from ansible_collections.nbsync.proxmox.plugins.module_utils._netbox_reader import NetBoxReader

CHUNK = 250


STARTED = time.monotonic()


def log(msg):
    print('[{0:6.1f}s] {1}'.format(time.monotonic() - STARTED, msg), flush=True)


def get_or_create(nb, endpoint, lookup, extra=None):
    found = nb.get(endpoint, **lookup)
    return found or nb.create(endpoint, [dict(lookup, **(extra or {}))])[0]


def create_chunked(nb, endpoint, items, what):
    made = []
    for part in common.chunks(items, CHUNK):
        made.extend(nb.create(endpoint, part))
        log('  {0}: {1}/{2} created'.format(what, len(made), len(items)))
    return made


def seed(nb, count):
    created = NetBoxReader(nb).ensure_custom_fields()
    if created:
        log('custom fields created: {0}'.format(', '.join(created)))
    ctype = get_or_create(nb, 'virtualization.cluster_types', {'slug': common.CLUSTER_TYPE}, {'name': 'Proxmox'})
    cluster = get_or_create(nb, 'virtualization.clusters', {'name': common.CLUSTER}, {'type': ctype['id']})
    get_or_create(nb, 'ipam.prefixes', {'prefix': common.PREFIX},
                  {'custom_fields': {'proxmox_gateway': common.GATEWAY}, 'description': 'nbsync.proxmox benchmark'})
    defs = [common.vm_def(i) for i in range(count)]

    # VMs: create the missing ones, correct the drifted ones
    vms = dict((v['name'], v) for v in nb.list('virtualization.virtual_machines', cluster_id=cluster['id']))
    want = {}
    for d in defs:
        want[d['name']] = {'name': d['name'], 'cluster': cluster['id'], 'status': 'active', 'vcpus': d['vcpus'],
                           'memory': d['memory'], 'custom_fields': {'proxmox_vmid': d['vmid'], 'proxmox_node': d['node'],
                                                                    'proxmox_type': 'qemu'}}
    missing = [w for name, w in want.items() if name not in vms]
    if missing:
        for vm in create_chunked(nb, 'virtualization.virtual_machines', missing, 'VMs'):
            vms[vm['name']] = vm
    drift = []
    for name, w in want.items():
        have = vms[name]
        cf = have.get('custom_fields') or {}
        status = have['status']['value'] if isinstance(have.get('status'), dict) else have.get('status')
        if (status, int(float(have.get('vcpus') or 0)), have.get('memory')) != ('active', w['vcpus'], w['memory']) \
                or any(cf.get(k) != v for k, v in w['custom_fields'].items()):
            drift.append(dict(w, id=have['id']))
    for part in common.chunks(drift, CHUNK):
        nb.update('virtualization.virtual_machines', part)
    log('VMs: {0} in cluster {1} ({2} created, {3} corrected)'.format(len(want), common.CLUSTER, len(missing), len(drift)))
    vm_id = dict((name, vms[name]['id']) for name in want)

    # one interface eth0 per VM
    ifaces = dict((i['virtual_machine']['id'], i) for i in nb.list('virtualization.interfaces', cluster_id=cluster['id'])
                  if i['name'] == 'eth0')
    missing = [{'virtual_machine': vm_id[d['name']], 'name': 'eth0'} for d in defs if vm_id[d['name']] not in ifaces]
    if missing:
        for iface in create_chunked(nb, 'virtualization.interfaces', missing, 'interfaces'):
            ifaces[iface['virtual_machine']['id']] = iface
    log('interfaces: {0} ({1} created)'.format(len(defs), len(missing)))

    # its primary MAC address
    macs = dict((m['assigned_object_id'], m) for m in nb.list('dcim.mac_addresses')
                if m.get('assigned_object_type') == 'virtualization.vminterface')
    missing = []
    for d in defs:
        iface = ifaces[vm_id[d['name']]]
        if iface['id'] not in macs:
            missing.append({'mac_address': d['mac'], 'assigned_object_type': 'virtualization.vminterface',
                            'assigned_object_id': iface['id']})
    if missing:
        for mac in create_chunked(nb, 'dcim.mac_addresses', missing, 'MAC addresses'):
            macs[mac['assigned_object_id']] = mac
    primary = []
    for d in defs:
        iface = ifaces[vm_id[d['name']]]
        have = (iface.get('primary_mac_address') or {}).get('id')
        slot = (iface.get('custom_fields') or {}).get('proxmox_slot')
        if have != macs[iface['id']]['id'] or slot != 'net0':
            # and the slot the sync records for it (a provisioned VM has it: the sync would write it otherwise)
            primary.append({'id': iface['id'], 'primary_mac_address': macs[iface['id']]['id'],
                            'custom_fields': {'proxmox_slot': 'net0'}})
    for part in common.chunks(primary, CHUNK):
        nb.update('virtualization.interfaces', part)
    log('MAC addresses: {0} created, {1} set as primary'.format(len(missing), len(primary)))

    # one IPv4 address on it
    ips = dict((ip['assigned_object_id'], ip) for ip in nb.list('ipam.ip_addresses', parent=common.PREFIX)
               if ip.get('assigned_object_type') == 'virtualization.vminterface')
    missing = [{'address': d['ip'], 'status': 'active', 'assigned_object_type': 'virtualization.vminterface',
                'assigned_object_id': ifaces[vm_id[d['name']]]['id']}
               for d in defs if ifaces[vm_id[d['name']]]['id'] not in ips]
    if missing:
        create_chunked(nb, 'ipam.ip_addresses', missing, 'IP addresses')
    log('IP addresses: {0} created'.format(len(missing)))

    # ... as the VM's primary IPv4 (what a provisioned VM has: the sync would set it otherwise)
    by_iface = dict((ip['assigned_object_id'], ip['id']) for ip in nb.list('ipam.ip_addresses', parent=common.PREFIX)
                    if ip.get('assigned_object_type') == 'virtualization.vminterface')
    current = dict((v['id'], (v.get('primary_ip4') or {}).get('id'))
                   for v in nb.list('virtualization.virtual_machines', cluster_id=cluster['id']))
    primary_ip = [{'id': vm_id[d['name']], 'primary_ip4': by_iface[ifaces[vm_id[d['name']]]['id']]} for d in defs
                  if current.get(vm_id[d['name']]) != by_iface.get(ifaces[vm_id[d['name']]]['id'])]
    for part in common.chunks(primary_ip, CHUNK):
        nb.update('virtualization.virtual_machines', part)
    log('primary IPv4: {0} set'.format(len(primary_ip)))

    # one virtual disk scsi0
    wanted_ids = set(vm_id.values())
    existing = [dk for dk in nb.list('virtualization.virtual_disks')
                if dk['virtual_machine']['id'] in wanted_ids and dk['name'] == 'scsi0']
    disks = set(dk['virtual_machine']['id'] for dk in existing)
    missing = [{'virtual_machine': vm_id[d['name']], 'name': 'scsi0', 'size': d['disk_mb'],
                'custom_fields': {'proxmox_slot': 'scsi0'}} for d in defs if vm_id[d['name']] not in disks]
    if missing:
        create_chunked(nb, 'virtualization.virtual_disks', missing, 'virtual disks')
    unslotted = [{'id': dk['id'], 'custom_fields': {'proxmox_slot': 'scsi0'}} for dk in existing
                 if (dk.get('custom_fields') or {}).get('proxmox_slot') != 'scsi0']
    for part in common.chunks(unslotted, CHUNK):
        nb.update('virtualization.virtual_disks', part)
    log('virtual disks: {0} created, {1} given their recorded slot'.format(len(missing), len(unslotted)))
    return cluster


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--count', type=int, default=common.COUNT)
    args = parser.parse_args()
    lab = common.load_lab()
    nb = NetBoxClient(lab['netbox']['url'], lab['netbox']['token'], timeout=300)
    seed(nb, args.count)
    log('done ({0} NetBox calls)'.format(nb.request_count))


if __name__ == '__main__':
    main()

"""Seed and remove a molecule scenario's world in the lab: its NetBox cluster, VMs and IPAM, and its PVE guests.

    python tests/molecule/lab_world.py seed  WORLD.yml   # reset the lab PVE, remove leftovers, seed NetBox
    python tests/molecule/lab_world.py clean WORLD.yml   # remove the scenario's guests and NetBox objects

WORLD.yml is a scenario's vars file with the key ``molecule_world`` (see
extensions/molecule/provision/inventory/group_vars/all/world.yml): one NetBox cluster of type ``proxmox``,
an optional VLAN and prefix (with the ``proxmox_gateway`` custom field), and VMs with interfaces, disks
and addresses. Reads the lab description from $NBSYNC_LAB_DIR/lab.json (default .lab/lab.json), seeds NetBox
the way tests/lab/demo/prepare.py does (the collection's NetBoxClient), and prints one JSON line that
holds no secret: ``{"changed": bool, ...}``. Guests are removed by name (the world's VM names) and by the
vmids NetBox recorded, never by a reset, so the other guests in the lab are left alone by ``clean``.
"""

import json
import os
import sys

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
LAB_DIR = os.environ.get('NBSYNC_LAB_DIR') or os.path.join(ROOT, '.lab')
sys.path.insert(0, os.path.join(ROOT, '.build', 'collections'))

from ansible_collections.nbsync.proxmox.plugins.module_utils._netbox_client import NetBoxClient  # noqa: E402
from ansible_collections.nbsync.proxmox.plugins.module_utils._netbox_reader import NetBoxReader  # noqa: E402
from ansible_collections.nbsync.proxmox.plugins.module_utils._pve_client import PveClient  # noqa: E402

TASK_TIMEOUT = 120


def load_lab():
    with open(os.path.join(LAB_DIR, 'lab.json')) as handle:
        return json.load(handle)


def clients(lab):
    tok = lab['pve']['token']
    nb = NetBoxClient(lab['netbox']['url'], lab['netbox']['token'])
    pve = PveClient.from_params(dict(api_host=lab['pve']['host'], api_port=lab['pve']['port'], api_user=tok['user'],
                                     api_token_id=tok['token_id'], api_token_secret=tok['secret'],
                                     ca_path=lab['pve']['ca_file']))
    return nb, pve


def reset_pve(lab):
    import requests
    response = requests.post(lab['pve']['control_url'] + '/reset', json={}, verify=lab['pve']['ca_file'], timeout=30,
                             headers={'X-Lab-Control': lab['pve']['control_token']})
    if response.status_code != 200:
        raise SystemExit('lab PVE reset failed: HTTP {0}'.format(response.status_code))


def get_or_create(nb, endpoint, lookup, extra=None):
    found = nb.get(endpoint, **lookup)
    return found or nb.create(endpoint, [dict(lookup, **(extra or {}))])[0]


def remove_guests(nb, pve, world):
    """Stop and purge the guests of the world's VMs (by name, and by the vmid NetBox recorded)."""
    names = set(vm['name'] for vm in world['vms'])
    vmids = set()
    cluster = nb.get('virtualization.clusters', name=world['cluster'])
    if cluster:
        for vm in nb.list('virtualization.virtual_machines', cluster_id=cluster['id']):
            names.add(vm['name'])
            if (vm.get('custom_fields') or {}).get('proxmox_vmid'):
                vmids.add(int(vm['custom_fields']['proxmox_vmid']))
    removed = []
    for guest in pve.guests():
        if guest.get('name') not in names and int(guest['vmid']) not in vmids:
            continue
        if guest.get('template'):
            continue
        base = '/nodes/{0}/{1}/{2}'.format(guest['node'], guest['type'], guest['vmid'])
        if guest.get('status') == 'running':
            pve.wait_for_task(pve.post(base + '/status/stop'), timeout=TASK_TIMEOUT, node=guest['node'])
        pve.wait_for_task(pve.delete(base, params={'purge': 1}), timeout=TASK_TIMEOUT, node=guest['node'])
        removed.append(guest['name'])
    return removed


def remove_netbox(nb, world):
    """Delete the world's NetBox objects (addresses, VMs, prefix, VLAN, cluster); shared ones stay."""
    count = 0
    cluster = nb.get('virtualization.clusters', name=world['cluster'])
    if cluster:
        for vm in nb.list('virtualization.virtual_machines', cluster_id=cluster['id']):
            ips = nb.list('ipam.ip_addresses', virtual_machine_id=vm['id'])
            nb.delete('ipam.ip_addresses', [i['id'] for i in ips])
            nb.delete('virtualization.virtual_machines', [vm['id']])
            count += 1 + len(ips)
    prefix = world.get('prefix')
    if prefix:
        ips = nb.list('ipam.ip_addresses', parent=prefix['prefix'])
        nb.delete('ipam.ip_addresses', [i['id'] for i in ips])
        found = nb.list('ipam.prefixes', prefix=prefix['prefix'])
        nb.delete('ipam.prefixes', [p['id'] for p in found])
        count += len(ips) + len(found)
    if world.get('vlan'):
        found = nb.list('ipam.vlans', name=world['vlan']['name'])
        nb.delete('ipam.vlans', [v['id'] for v in found])
        count += len(found)
    if cluster:
        nb.delete('virtualization.clusters', [cluster['id']])
        count += 1
    return count


def seed(nb, world):
    NetBoxReader(nb).ensure_custom_fields()
    ctype = get_or_create(nb, 'virtualization.cluster_types', {'slug': 'proxmox'}, {'name': 'Proxmox'})
    cluster = nb.create('virtualization.clusters', [{'name': world['cluster'], 'type': ctype['id']}])[0]
    vlan = None
    if world.get('vlan'):
        vlan = nb.create('ipam.vlans', [{'name': world['vlan']['name'], 'vid': world['vlan']['vid']}])[0]
    if world.get('prefix'):
        prefix = world['prefix']
        nb.create('ipam.prefixes', [dict({'prefix': prefix['prefix'], 'custom_fields': {'proxmox_gateway': prefix['gateway']}},
                                         **({'vlan': vlan['id']} if vlan else {}))])
        length = prefix['prefix'].split('/')[1]
        nb.create('ipam.ip_addresses', [{'address': '{0}/{1}'.format(prefix['gateway'], length), 'description': 'gateway'}])
    for spec in world['vms']:
        vm = nb.create('virtualization.virtual_machines', [{
            'name': spec['name'], 'cluster': cluster['id'], 'status': spec['status'], 'vcpus': spec['vcpus'],
            'memory': spec['memory'], 'custom_fields': spec.get('custom_fields') or {}}])[0]
        ifaces = spec.get('interfaces') or []
        made = nb.create('virtualization.interfaces', [
            dict({'virtual_machine': vm['id'], 'name': i['name']},
                 **({'mode': 'access', 'untagged_vlan': vlan['id']} if i.get('vlan') and vlan else {}),
                 **({'custom_fields': {'proxmox_bridge': i['bridge']}} if i.get('bridge') else {}))
            for i in ifaces]) if ifaces else []
        by_name = dict((i['name'], i) for i in made)
        ips = [{'address': i['ip'], 'assigned_object_type': 'virtualization.vminterface',
                'assigned_object_id': by_name[i['name']]['id']} for i in ifaces if i.get('ip')]
        if ips:
            nb.create('ipam.ip_addresses', ips)
        if spec.get('disks'):
            nb.create('virtualization.virtual_disks', [{'virtual_machine': vm['id'], 'name': d['name'], 'size': d['size']}
                                                       for d in spec['disks']])
    return len(world['vms'])


def main(argv):
    if len(argv) != 3 or argv[1] not in ('seed', 'clean'):
        raise SystemExit('usage: lab_world.py seed|clean WORLD.yml')
    with open(argv[2]) as handle:
        world = yaml.safe_load(handle)
    world = world.get('molecule_world', world)
    lab = load_lab()
    nb, pve = clients(lab)
    if argv[1] == 'seed':
        reset_pve(lab)
        leftovers = remove_netbox(nb, world)
        seeded = seed(nb, world)
        result = {'changed': True, 'cluster': world['cluster'], 'seeded_vms': seeded, 'removed_leftovers': leftovers}
    else:
        guests = remove_guests(nb, pve, world)
        objects = remove_netbox(nb, world)
        result = {'changed': bool(guests or objects), 'cluster': world['cluster'], 'removed_guests': guests,
                  'removed_netbox_objects': objects}
    print(json.dumps(result))


if __name__ == '__main__':
    main(sys.argv)

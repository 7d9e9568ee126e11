"""`make demo`: load an example desired state into the lab's NetBox and write a vaulted inventory for it.

Idempotent: objects are looked up by name and created only when missing, so a second `make demo` shows a
run that changes nothing. Writes .lab/demo/ (inventory, an encrypted vault with the lab's tokens, and the
vault password file), never printing a secret.
"""

import json
import os
import secrets
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))
LAB_DIR = os.environ.get('NBSYNC_LAB_DIR', os.path.join(ROOT, '.lab'))
DEMO = os.path.join(LAB_DIR, 'demo')
sys.path.insert(0, os.path.join(ROOT, '.build', 'collections'))

from ansible_collections.nbsync.proxmox.plugins.module_utils._netbox_client import NetBoxClient  # noqa: E402
from ansible_collections.nbsync.proxmox.plugins.module_utils._netbox_reader import NetBoxReader  # noqa: E402

CLUSTER = 'demo'
VMS = [
    # name, status, vcpus, memory, role, custom fields, interfaces [(name, vlan, bridge)], disks [(name, MB)], ips
    ('demo-web1', 'active', 2, 2048, None, {}, [('eth0', 120, None), ('eth1', None, 'vmbr1')],
     [('scsi0', 12288), ('data', 4096)], {'eth1': '192.168.250.11/24'}),
    ('demo-db1', 'active', 4, 4096, 'database', {}, [('eth0', 120, None)],
     [('scsi0', 16384), ('virtio1', 8192), ('sata1', 2048)], {}),
    ('demo-ct1', 'staged', 1, 1024, None, {'proxmox_type': 'lxc', 'proxmox_template': 'debian12-lxc'},
     [('eth0', None, None)], [('root', 6144), ('srv', 2048)], {'eth0': '192.168.251.21/24'}),
    ('demo-off1', 'offline', 1, 1024, None, {}, [('eth0', None, None)], [('scsi0', 8192)],
     {'eth0': '192.168.251.31/24'}),
    ('demo-plan1', 'planned', 2, 2048, None, {}, [('eth0', 120, None)], [('scsi0', 10240)], {}),
]


def get_or_create(nb, endpoint, lookup, extra=None):
    found = nb.get(endpoint, **lookup)
    return found or nb.create(endpoint, [dict(lookup, **(extra or {}))])[0]


def seed(nb):
    NetBoxReader(nb).ensure_custom_fields()
    ctype = get_or_create(nb, 'virtualization.cluster_types', {'slug': 'proxmox'}, {'name': 'Proxmox'})
    cluster = get_or_create(nb, 'virtualization.clusters', {'name': CLUSTER}, {'type': ctype['id']})
    role = get_or_create(nb, 'dcim.device_roles', {'slug': 'database'}, {'name': 'Database', 'vm_role': True})
    vlan = get_or_create(nb, 'ipam.vlans', {'name': 'demo-120'}, {'vid': 120})
    prefix = nb.get('ipam.prefixes', prefix='192.168.120.0/24')
    if prefix is None:
        prefix = nb.create('ipam.prefixes', [{'prefix': '192.168.120.0/24', 'vlan': vlan['id'],
                                              'custom_fields': {'proxmox_gateway': '192.168.120.1'}}])[0]
        nb.create('ipam.ip_addresses', [{'address': '192.168.120.1/24', 'description': 'gateway'}])
    for name, status, vcpus, memory, role_slug, cf, ifaces, disks, ips in VMS:
        if nb.get('virtualization.virtual_machines', name=name):
            continue
        vm = nb.create('virtualization.virtual_machines', [{
            'name': name, 'cluster': cluster['id'], 'status': status, 'vcpus': vcpus, 'memory': memory,
            'role': role['id'] if role_slug else None, 'custom_fields': cf}])[0]
        made = nb.create('virtualization.interfaces', [
            dict({'virtual_machine': vm['id'], 'name': iname},
                 **({'mode': 'access', 'untagged_vlan': vlan['id']} if vid else {}),
                 **({'custom_fields': {'proxmox_bridge': bridge}} if bridge else {}))
            for iname, vid, bridge in ifaces])
        by_name = dict((i['name'], i) for i in made)
        if ips:
            nb.create('ipam.ip_addresses', [{'address': address, 'assigned_object_type': 'virtualization.vminterface',
                                             'assigned_object_id': by_name[iname]['id']}
                                            for iname, address in ips.items()])
        nb.create('virtualization.virtual_disks', [{'virtual_machine': vm['id'], 'name': d, 'size': mb}
                                                   for d, mb in disks])


def write_inventory(lab):
    inv = os.path.join(DEMO, 'inventory')
    group_vars = os.path.join(inv, 'group_vars', 'all')
    os.makedirs(group_vars, exist_ok=True)
    with open(os.path.join(inv, 'hosts.yml'), 'w') as out:
        out.write('all:\n  hosts:\n    localhost:\n      ansible_connection: local\n'
                  '      ansible_python_interpreter: "{{ ansible_playbook_python }}"\n')
    settings = {
        'nbsync_netbox_url': lab['netbox']['url'],
        'nbsync_defaults': {'template': 'debian12-cloudinit', 'storage': 'local-lvm', 'bridge': 'vmbr0',
                            'ciuser': 'demo', 'nameserver': '192.168.120.53', 'searchdomain': 'lab.example',
                            'roles': {'database': {'template': 'ubuntu2404-cloudinit', 'storage': 'ceph-rbd'}}},
        'nbsync_limit_clusters': [CLUSTER],
    }
    with open(os.path.join(group_vars, 'nbsync.yml'), 'w') as out:
        json.dump(settings, out, indent=2)   # JSON is YAML
    password_file = os.path.join(DEMO, 'vault-pass')
    if not os.path.exists(password_file):
        with os.fdopen(os.open(password_file, os.O_WRONLY | os.O_CREAT, 0o600), 'w') as out:
            out.write(secrets.token_urlsafe(24) + '\n')
    tok = lab['pve']['token']
    vault = {
        'nbsync_netbox_token': lab['netbox']['token'],
        'nbsync_proxmox_clusters': [{'name': CLUSTER, 'api_host': lab['pve']['host'], 'api_port': lab['pve']['port'],
                                     'api_token': '{0}!{1}={2}'.format(tok['user'], tok['token_id'], tok['secret']),
                                     'ca_path': lab['pve']['ca_file']}],
    }
    plain = os.path.join(group_vars, 'vault.yml')
    with os.fdopen(os.open(plain, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), 'w') as out:
        json.dump(vault, out)
    vault_cmd = os.path.join(os.path.dirname(sys.executable), 'ansible-vault')
    subprocess.run([vault_cmd, 'encrypt', '--vault-password-file', password_file, plain], check=True,
                   stdout=subprocess.DEVNULL)
    return inv, password_file


def main():
    with open(os.path.join(LAB_DIR, 'lab.json')) as handle:
        lab = json.load(handle)
    seed(NetBoxClient(lab['netbox']['url'], lab['netbox']['token']))
    inv, password_file = write_inventory(lab)
    print('demo: NetBox holds {0} VMs in cluster {1!r}; inventory {2} (secrets in an ansible-vault file, '
          'password file {3})'.format(len(VMS), CLUSTER, os.path.relpath(inv, ROOT), os.path.relpath(password_file, ROOT)))


if __name__ == '__main__':
    main()

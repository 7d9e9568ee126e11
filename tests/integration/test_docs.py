"""Every module's documentation renders with ansible-doc, and every module is in an action group."""

import json
import os
import subprocess
import sys

import pytest
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MODULES = sorted(f[:-3] for f in os.listdir(os.path.join(ROOT, 'plugins', 'modules')) if f.endswith('.py'))
ENV = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, '.build', 'collections'))


def test_every_module_renders():
    doc = os.path.join(os.path.dirname(sys.executable), 'ansible-doc')
    out = subprocess.run([doc, '-t', 'module', '--json'] + ['nbsync.proxmox.' + m for m in MODULES], env=ENV,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, check=False)
    assert out.returncode == 0, out.stderr
    docs = json.loads(out.stdout)
    assert sorted(docs) == ['nbsync.proxmox.' + m for m in MODULES]
    for name, entry in docs.items():
        assert entry['doc']['short_description'], name
        assert entry['examples'].strip(), name
        assert entry['return'], name


@pytest.mark.parametrize('module', MODULES)
def test_module_is_in_an_action_group(module):
    with open(os.path.join(ROOT, 'meta', 'runtime.yml')) as handle:
        groups = yaml.safe_load(handle)['action_groups']
    assert any(module in members for members in groups.values())


def test_the_example_inventory_decrypts_and_the_playbooks_parse():
    """The documented layout works as shipped: the example vault opens with the example password file, the
    variables the role needs are there, and the main and demo playbooks pass --syntax-check."""
    bindir = os.path.dirname(sys.executable)
    inventory = os.path.join(ROOT, 'examples', 'inventory')
    password = os.path.join(ROOT, 'examples', 'vault-password.txt')
    out = subprocess.run([os.path.join(bindir, 'ansible-inventory'), '-i', inventory, '--host', 'localhost',
                          '--vault-password-file', password], env=ENV, cwd=ROOT,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, check=False)
    assert out.returncode == 0, out.stderr
    hostvars = json.loads(out.stdout)
    assert hostvars['nbsync_netbox_token'] and hostvars['nbsync_proxmox_clusters']
    assert all(c.get('name') and c.get('api_host') for c in hostvars['nbsync_proxmox_clusters'])
    with open(os.path.join(inventory, 'group_vars', 'all', 'vault.yml')) as handle:
        assert handle.readline().startswith('$ANSIBLE_VAULT;')              # encrypted as committed
    for playbook in ('proxmox-vm-manager.yml', 'demo.yml'):
        out = subprocess.run([os.path.join(bindir, 'ansible-playbook'), '-i', inventory, '--syntax-check',
                              '--vault-password-file', password, os.path.join('playbooks', playbook)],
                             env=ENV, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=False)
        assert out.returncode == 0, out.stdout

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

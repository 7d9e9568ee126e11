"""Runs each integration target (tests/integration/targets/<name>/tasks/main.yml) with ansible-playbook
against the lab. The targets follow the Ansible habit: check mode (nothing changes), for real (read back),
again (changed=false), then the bad inputs with their messages. Connection options come from the lab via
module_defaults, so the targets never name a secret."""

import json
import os
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
TARGETS = os.path.join(HERE, 'targets')
COLLECTIONS = os.path.join(ROOT, '.build', 'collections')

PLAYBOOK = """
- name: integration target {name}
  hosts: localhost
  connection: local
  gather_facts: false
  vars_files:
    - {vars_file}
  module_defaults:
    group/nbsync.proxmox.proxmox:
      api_host: "{{{{ lab.pve.host }}}}"
      api_port: "{{{{ lab.pve.port }}}}"
      api_user: "{{{{ lab.pve.token.user }}}}"
      api_token_id: "{{{{ lab.pve.token.token_id }}}}"
      api_token_secret: "{{{{ lab.pve.token.secret }}}}"
      ca_path: "{{{{ lab.pve.ca_file }}}}"
    group/nbsync.proxmox.pbs:
      pbs_api_host: "{{{{ lab.pbs.host }}}}"
      pbs_api_port: "{{{{ lab.pbs.port }}}}"
      pbs_api_user: "{{{{ lab.pbs.token.user }}}}"
      pbs_api_token_id: "{{{{ lab.pbs.token.token_id }}}}"
      pbs_api_token_secret: "{{{{ lab.pbs.token.secret }}}}"
      pbs_ca_path: "{{{{ lab.pbs.ca_file }}}}"
  roles:
    - role: {target}
"""


def target_names():
    if not os.path.isdir(TARGETS):
        return []
    return sorted(d for d in os.listdir(TARGETS) if os.path.isfile(os.path.join(TARGETS, d, 'tasks', 'main.yml')))


def run_playbook(tmp_path, lab, target, *extra):
    """ansible-playbook on one target; returns the CompletedProcess (stdout+stderr in .stdout)."""
    vars_file = tmp_path / 'lab_vars.json'
    vars_file.write_text(json.dumps({'lab': lab}))
    os.chmod(vars_file, 0o600)
    playbook = tmp_path / 'target.yml'
    playbook.write_text(PLAYBOOK.format(name=os.path.basename(target), vars_file=vars_file, target=target))
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=COLLECTIONS, ANSIBLE_COLLECTIONS_SCAN_SYS_PATH='false',
               ANSIBLE_NOCOLOR='1', ANSIBLE_FORCE_COLOR='0', ANSIBLE_RETRY_FILES_ENABLED='0',
               ANSIBLE_LOCALHOST_WARNING='0', ANSIBLE_INVENTORY_UNPARSED_WARNING='0',
               ANSIBLE_PYTHON_INTERPRETER=sys.executable)
    bindir = os.path.dirname(sys.executable)
    cmd = [os.path.join(bindir, 'ansible-playbook'), '-i', 'localhost,', str(playbook)] + list(extra)
    return subprocess.run(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          timeout=900, check=False)


@pytest.mark.parametrize('name', target_names())
def test_target(name, lab, tmp_path, pve_control, pbs_control):
    pve_control.reset()
    pbs_control.reset()
    result = run_playbook(tmp_path, lab, os.path.join(TARGETS, name))
    assert result.returncode == 0, result.stdout[-6000:]
    assert 'failed=0' in result.stdout


def _secrets(lab):
    found = []

    def walk(node, key=''):
        if isinstance(node, dict):
            for k, v in node.items():
                walk(v, k)
        elif isinstance(node, str) and any(w in key for w in ('secret', 'password', 'token')) and len(node) >= 8:
            found.append(node)
    walk(lab)
    return found


def test_no_secret_in_output_at_vvvv(lab, tmp_path, pve_control):
    """The secrets reach the modules through module_defaults; none may appear in -vvvv output."""
    result = run_playbook(tmp_path, lab, os.path.join(TARGETS, 'proxmox_info'), '-vvvv')
    assert result.returncode == 0, result.stdout[-4000:]
    secrets = _secrets(lab)
    assert len(secrets) >= 4
    leaked = [s[:4] + '...' for s in secrets if s in result.stdout]
    assert not leaked, 'secrets in -vvvv output: {0}'.format(leaked)


def test_connection_options_fall_back_to_the_environment(lab, tmp_path):
    """PROXMOX_* (as community.proxmox reads them) and PBS_* stand in for the module's connection options;
    the secret comes in the environment, never on a command line, and is not printed."""
    pve, pbs = lab['pve'], lab['pbs']
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=COLLECTIONS, ANSIBLE_COLLECTIONS_SCAN_SYS_PATH='false',
               ANSIBLE_NOCOLOR='1', ANSIBLE_LOCALHOST_WARNING='0', ANSIBLE_INVENTORY_UNPARSED_WARNING='0',
               ANSIBLE_PYTHON_INTERPRETER=sys.executable,
               PROXMOX_HOST=pve['host'], PROXMOX_PORT=str(pve['port']), PROXMOX_USER=pve['token']['user'],
               PROXMOX_TOKEN_ID=pve['token']['token_id'], PROXMOX_TOKEN_SECRET=pve['token']['secret'],
               PROXMOX_CA_PATH=pve['ca_file'],
               PBS_HOST=pbs['host'], PBS_PORT=str(pbs['port']), PBS_TOKEN='{0}!{1}:{2}'.format(
                   pbs['token']['user'], pbs['token']['token_id'], pbs['token']['secret']),
               PBS_CA_PATH=pbs['ca_file'])
    bindir = os.path.dirname(sys.executable)
    for module, args, expect in (('nbsync.proxmox.proxmox_info', 'gather=version', '"version"'),
                                 ('nbsync.proxmox.pbs_datastore_info', '', '"datastores"')):
        cmd = [os.path.join(bindir, 'ansible'), '-i', 'localhost,', '-c', 'local', 'localhost', '-m', module, '-vvv']
        if args:
            cmd += ['-a', args]
        proc = subprocess.run(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              timeout=300, check=False)
        assert proc.returncode == 0, proc.stdout[-3000:]
        assert expect in proc.stdout
        assert pve['token']['secret'] not in proc.stdout and pbs['token']['secret'] not in proc.stdout

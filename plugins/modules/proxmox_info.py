#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026 nbsync.proxmox contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r'''
module: proxmox_info
short_description: Facts about a Proxmox VE cluster from one bulk read
version_added: 0.1.0
description:
  - Returns the PVE version, the nodes and their state, and every guest (QEMU VMs and LXC containers) of the
    cluster, read with one C(/cluster/resources) call rather than one call per guest.
extends_documentation_fragment:
  - nbsync.proxmox.pve
attributes:
  check_mode:
    support: full
    description: Reads only; runs the same in check mode.
  diff_mode:
    support: none
    description: Reads only.
options:
  gather:
    description: Which parts to read.
    type: list
    elements: str
    choices: [version, nodes, guests, storages]
    default: [version, nodes, guests]
author:
  - nbsync.proxmox developers (!UNKNOWN)
'''

EXAMPLES = r'''
- name: Read the cluster with a token kept in ansible-vault
  nbsync.proxmox.proxmox_info:
    api_host: pve1.example.com
    api_user: ansible@pve
    api_token_id: automation
    api_token_secret: "{{ vault_pve_token_secret }}"
    ca_path: /etc/ssl/pve-root-ca.pem
  register: cluster

- name: Set the connection once for every module of the collection
  module_defaults:
    group/nbsync.proxmox.proxmox:
      api_host: pve1.example.com
      api_token: "{{ vault_pve_token }}"
  block:
    - name: Only the guests
      nbsync.proxmox.proxmox_info:
        gather: [guests]
'''

RETURN = r'''
version:
  description: The PVE version answer.
  returned: when O(gather) has V(version)
  type: dict
  sample: {"version": "9.0.3", "release": "9.0", "repoid": "1a2b3c4d"}
nodes:
  description: The cluster's nodes with their status.
  returned: when O(gather) has V(nodes)
  type: list
  elements: dict
  sample: [{"node": "pve1", "status": "online"}]
guests:
  description: Every QEMU VM and LXC container, as C(/cluster/resources) lists them, with integer vmids.
  returned: when O(gather) has V(guests)
  type: list
  elements: dict
  sample: [{"vmid": 100, "name": "web1", "type": "qemu", "node": "pve1", "status": "running"}]
storages:
  description: Storages per node from C(/cluster/resources).
  returned: when O(gather) has V(storages)
  type: list
  elements: dict
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.nbsync.proxmox.plugins.module_utils import _module
from ansible_collections.nbsync.proxmox.plugins.module_utils._arg_specs import pve_argument_spec
from ansible_collections.nbsync.proxmox.plugins.module_utils._pve_client import PveClient


def gather(module):
    client = PveClient.from_params(module.params)
    wanted = set(module.params['gather'])
    result = dict(changed=False)
    if 'version' in wanted:
        result['version'] = client.version()
    if 'nodes' in wanted:
        result['nodes'] = sorted(client.nodes(), key=lambda n: n.get('node', ''))
    if 'guests' in wanted or 'storages' in wanted:
        resources = client.cluster_resources()
        if 'guests' in wanted:
            guests = [dict(r, vmid=int(r['vmid'])) for r in resources if r.get('type') in ('qemu', 'lxc')]
            result['guests'] = sorted(guests, key=lambda g: g['vmid'])
        if 'storages' in wanted:
            result['storages'] = [r for r in resources if r.get('type') == 'storage']
    return result


def main():
    argument_spec = pve_argument_spec()
    argument_spec.update(
        gather=dict(type='list', elements='str', default=['version', 'nodes', 'guests'],
                    choices=['version', 'nodes', 'guests', 'storages']),
    )
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    _module.run(module, gather)


if __name__ == '__main__':
    main()

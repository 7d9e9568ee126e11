#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026 nbsync.proxmox contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r'''
module: proxmox_snapshot_info
short_description: List the snapshots of a QEMU VM or LXC container
version_added: 0.1.0
description:
  - Lists a guest's snapshots, oldest first, with the snapshot its current state descends from.
  - The guest is found by vmid or name with one C(/cluster/resources) call, then one snapshot list call.
extends_documentation_fragment:
  - nbsync.proxmox.pve
attributes:
  check_mode:
    support: full
    description: Reads only.
  diff_mode:
    support: none
    description: Reads only.
options:
  vmid:
    description: The guest's vmid.
    type: int
  name:
    description: The guest's name (a name two guests carry is an error).
    type: str
seealso:
  - module: nbsync.proxmox.proxmox_snapshot
author:
  - nbsync.proxmox developers (!UNKNOWN)
'''

EXAMPLES = r'''
- name: Snapshots of web1
  nbsync.proxmox.proxmox_snapshot_info:
    name: web1
  register: snaps
'''

RETURN = r'''
snapshots:
  description: The snapshots, oldest first, without PVE's C(current) pseudo-snapshot.
  returned: always
  type: list
  elements: dict
  sample: [{"name": "before-upgrade", "description": "", "snaptime": 1767312000, "vmstate": false}]
parent:
  description: The snapshot the guest's current state descends from, or null.
  returned: always
  type: str
vmid:
  description: The guest's vmid.
  returned: always
  type: int
node:
  description: The guest's node.
  returned: always
  type: str
type:
  description: V(qemu) or V(lxc).
  returned: always
  type: str
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.nbsync.proxmox.plugins.module_utils import _module
from ansible_collections.nbsync.proxmox.plugins.module_utils._arg_specs import pve_argument_spec
from ansible_collections.nbsync.proxmox.plugins.module_utils._pve_client import PveClient
from ansible_collections.nbsync.proxmox.plugins.module_utils._snapshot import SnapshotRunner


def list_snapshots(module):
    runner = SnapshotRunner(PveClient.from_params(module.params))
    guest = runner.resolve(vmid=module.params['vmid'], name=module.params['name'])
    snapshots, parent = runner.snapshots(guest)
    return dict(changed=False, snapshots=snapshots, parent=parent, vmid=guest['vmid'], node=guest['node'],
                type=guest['type'])


def main():
    spec = pve_argument_spec()
    spec.update(vmid=dict(type='int'), name=dict(type='str'))
    module = AnsibleModule(argument_spec=spec, supports_check_mode=True, required_one_of=[('vmid', 'name')],
                           mutually_exclusive=[('vmid', 'name')])
    _module.run(module, list_snapshots)


if __name__ == '__main__':
    main()

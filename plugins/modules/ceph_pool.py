#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026 nbsync.proxmox contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r'''
module: ceph_pool
short_description: Create, update or delete a Ceph pool through a Proxmox VE node
version_added: 0.1.0
description:
  - Manages a pool of the Ceph cluster that Proxmox VE runs (hyper-converged Ceph), through the API of one PVE
    node (C(/nodes/{node}/ceph/pool)).
  - Only the options you set are compared; an update sends only the settings that differ.
  - Create, update and delete are PVE tasks; the module waits for each one (up to O(timeout)).
  - After a write the module reads the pool back. Where Ceph did not end where you asked (PVE applies O(size)
    first, which resets C(min_size), so a new pool with O(size=2) gets C(min_size=1) even when O(min_size=2) is
    given), it applies one more update in the same run, so the pool matches and a second run changes nothing.
  - A pool that a PVE storage uses (an RBD storage on the pool) is not deleted unless O(force=true).
extends_documentation_fragment:
  - nbsync.proxmox.pve
attributes:
  check_mode:
    support: full
    description: Reads the pool and returns the planned actions without writing.
  diff_mode:
    support: full
    description: Returns the settings that change, before and after.
options:
  name:
    description:
      - Name of the pool. It may not contain V(:), V(/) or white space.
    type: str
    required: true
  state:
    description:
      - V(present) creates the pool or updates the settings that differ; V(absent) deletes it.
    type: str
    choices: [present, absent]
    default: present
  node:
    description:
      - The PVE node to speak through (any node of the cluster with Ceph installed serves the whole Ceph cluster).
      - When omitted, the first online node by name, from one C(/nodes) call. A node that the cluster lacks or
        that is offline is an error.
    type: str
  size:
    description: Number of replicas per object (1 to 7). PVE's default for a new pool is V(3).
    type: int
  min_size:
    description:
      - Minimum number of replicas for I/O (1 to 7, at most O(size)). PVE's default for a new pool is V(2).
    type: int
  pg_num:
    description:
      - Number of placement groups (1 to 32768, a power of two). PVE's default for a new pool is V(128).
      - With O(pg_autoscale_mode=on) the autoscaler may change it again; use V(warn) or V(off) to keep it.
    type: int
  pg_num_min:
    description: Minimum number of placement groups the autoscaler may go down to (0 clears it).
    type: int
  pg_autoscale_mode:
    description: The placement group autoscaler mode. PVE's default for a new pool is V(warn).
    type: str
    choices: ['on', 'off', 'warn']
  crush_rule:
    description:
      - Name of the CRUSH rule that places the pool's data (for example V(replicated_rule)).
      - When it would be set or changed, the module first reads the cluster's rules (C(GET /nodes/{node}/ceph/rules),
        which needs C(Sys.Audit) on C(/)) and refuses a rule that does not exist, naming the ones that do,
        in check mode too.
    type: str
  application:
    description:
      - The Ceph application the pool serves. PVE's default for a new pool is V(rbd).
      - An existing pool's application cannot be changed to another one (Ceph refuses a second application).
    type: str
    choices: [rbd, cephfs, rgw]
  target_size:
    description:
      - The size the pool is expected to grow to, for the autoscaler; bytes, or a number with a unit
        V(K), V(M), V(G) or V(T) (powers of 1024), like V(100G). V(0) clears it.
      - Give either O(target_size) or O(target_size_ratio).
    type: str
  target_size_ratio:
    description: The share of the cluster's capacity the pool is expected to use, for the autoscaler. V(0) clears it.
    type: float
  add_storages:
    description:
      - Also have an RBD storage entry named like the pool (content C(images,rootdir)), created with the pool, or
        added to an existing pool that lacks it. Fails when a storage of that name exists for something else.
    type: bool
    default: false
  force:
    description:
      - With O(state=absent), delete the pool even though PVE storages use it; PVE's C(force) and
        C(remove_storages) are set, so those storage entries are removed too (the data on the pool is lost).
    type: bool
    default: false
  timeout:
    description: Seconds to wait for each PVE task (create, update, delete).
    type: int
    default: 300
notes:
  - Needs C(Sys.Modify) on C(/) to write (C(Sys.Audit) or C(Datastore.Audit) to read), and C(Datastore.Allocate)
    on C(/storage) for O(add_storages) and for O(force) when storages are removed.
  - Erasure-coded pools are not managed by this module.
seealso:
  - module: nbsync.proxmox.ceph_pool_info
author:
  - nbsync.proxmox developers (!UNKNOWN)
'''

EXAMPLES = r'''
- name: A replicated pool for VM disks, with its PVE storage
  nbsync.proxmox.ceph_pool:
    name: vmpool
    size: 3
    min_size: 2
    pg_autoscale_mode: 'on'
    target_size: 500G
    application: rbd
    add_storages: true

- name: Two replicas through a given node
  nbsync.proxmox.ceph_pool:
    name: scratch
    node: pve2
    size: 2
    min_size: 2
    pg_num: 64
    pg_autoscale_mode: 'off'

- name: Delete a pool and the storage entries that use it
  nbsync.proxmox.ceph_pool:
    name: scratch
    state: absent
    force: true
'''

RETURN = r'''
pool:
  description: The pool as read back from the server (in check mode, as it is now); null when absent.
  returned: always
  type: dict
  sample:
    name: vmpool
    id: 3
    type: replicated
    size: 3
    min_size: 2
    pg_num: 128
    pg_num_min: null
    pg_num_final: 128
    pg_autoscale_mode: 'on'
    crush_rule: replicated_rule
    applications: [rbd]
    target_size: 536870912000
    target_size_ratio: null
    bytes_used: 0
    percent_used: 0.0
    storages: [vmpool]
node:
  description: The node the module spoke through.
  returned: always
  type: str
  sample: pve1
actions:
  description: The writes planned (in check mode) or made, each with the parameters sent and the reasons.
  returned: always
  type: list
  elements: dict
  sample: [{"action": "update", "params": {"min_size": 2}, "reasons": ["min_size: 1 -> 2"]}]
changes:
  description: One line per changed field, C(field before -> after).
  returned: always
  type: list
  elements: str
  sample: ["size: 3 -> 2"]
diff:
  description: Before and after of the fields that change.
  returned: when diff mode is on
  type: dict
  sample: {"before": {"size": 3}, "after": {"size": 2}}
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.nbsync.proxmox.plugins.module_utils import _module
from ansible_collections.nbsync.proxmox.plugins.module_utils._arg_specs import pve_argument_spec
from ansible_collections.nbsync.proxmox.plugins.module_utils._ceph import run_pool
from ansible_collections.nbsync.proxmox.plugins.module_utils._pve_client import PveClient


def action(module):
    client = PveClient.from_params(module.params)
    result = run_pool(client, module.params, check_mode=module.check_mode)
    if not module._diff:
        result.pop('diff', None)
    return result


def main():
    argument_spec = pve_argument_spec()
    argument_spec.update(
        name=dict(type='str', required=True),
        state=dict(type='str', default='present', choices=['present', 'absent']),
        node=dict(type='str'),
        size=dict(type='int'),
        min_size=dict(type='int'),
        pg_num=dict(type='int'),
        pg_num_min=dict(type='int'),
        pg_autoscale_mode=dict(type='str', choices=['on', 'off', 'warn']),
        crush_rule=dict(type='str'),
        application=dict(type='str', choices=['rbd', 'cephfs', 'rgw']),
        target_size=dict(type='str'),
        target_size_ratio=dict(type='float'),
        add_storages=dict(type='bool', default=False),
        force=dict(type='bool', default=False),
        timeout=dict(type='int', default=300),
    )
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    _module.run(module, action)


if __name__ == '__main__':
    main()

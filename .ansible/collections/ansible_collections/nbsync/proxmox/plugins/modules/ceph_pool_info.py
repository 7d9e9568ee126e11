#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026 nbsync.proxmox contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r'''
module: ceph_pool_info
short_description: Facts about the Ceph pools of a Proxmox VE cluster
version_added: 0.1.0
description:
  - Lists the pools of the Ceph cluster that Proxmox VE runs, read with one C(/nodes/{node}/ceph/pool) call,
    each with the PVE storages that use it (from one C(/storage) call).
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
  name:
    description: Only this pool. A pool that does not exist gives an empty list, not an error.
    type: str
  node:
    description:
      - The PVE node to speak through. When omitted, the first online node by name, from one C(/nodes) call.
        A node that the cluster lacks or that is offline is an error.
    type: str
notes:
  - Needs C(Sys.Audit) or C(Datastore.Audit) on C(/).
seealso:
  - module: nbsync.proxmox.ceph_pool
author:
  - nbsync.proxmox developers (!UNKNOWN)
'''

EXAMPLES = r'''
- name: Every pool
  nbsync.proxmox.ceph_pool_info:
  register: ceph

- name: One pool, through a given node
  nbsync.proxmox.ceph_pool_info:
    name: vmpool
    node: pve2
  register: vmpool

- name: Its replicas
  ansible.builtin.debug:
    msg: "{{ vmpool.pools[0].size }}/{{ vmpool.pools[0].min_size }}"
  when: vmpool.pools | length == 1
'''

RETURN = r'''
node:
  description: The node the module spoke through.
  returned: always
  type: str
  sample: pve1
pools:
  description:
    - The pools, in Ceph's pool id order. Sizes are in bytes; C(crush_rule) is the rule's name; C(applications)
      lists the enabled Ceph applications; C(storages) the PVE RBD storages on the pool.
  returned: always
  type: list
  elements: dict
  sample:
    - name: rbd
      id: 2
      type: replicated
      size: 3
      min_size: 2
      pg_num: 32
      pg_num_min: null
      pg_num_final: 32
      pg_autoscale_mode: 'on'
      crush_rule: replicated_rule
      applications: [rbd]
      target_size: null
      target_size_ratio: null
      bytes_used: 10741612544
      percent_used: 0.0033
      storages: [ceph-rbd]
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.nbsync.proxmox.plugins.module_utils import _module
from ansible_collections.nbsync.proxmox.plugins.module_utils._arg_specs import pve_argument_spec
from ansible_collections.nbsync.proxmox.plugins.module_utils._ceph import run_info
from ansible_collections.nbsync.proxmox.plugins.module_utils._pve_client import PveClient


def gather(module):
    return run_info(PveClient.from_params(module.params), module.params)


def main():
    argument_spec = pve_argument_spec()
    argument_spec.update(
        name=dict(type='str'),
        node=dict(type='str'),
    )
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    _module.run(module, gather)


if __name__ == '__main__':
    main()

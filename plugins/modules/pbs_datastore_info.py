#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026 nbsync.proxmox contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r'''
module: pbs_datastore_info
short_description: Datastores of a Proxmox Backup Server with their configuration, usage and jobs
version_added: 0.1.0
description:
  - Returns the datastores of a Proxmox Backup Server (PBS) with their configuration and usage, and optionally
    the sync, verify and prune jobs of each.
  - Bulk reads only, whatever the number of datastores, C(/config/datastore) once, C(/status/datastore-usage) once,
    and C(/admin/sync), C(/admin/verify), C(/admin/prune) once each for the job types in O(jobs).
  - PBS lists only what the token may see (C(Datastore.Audit) on the datastore); others are left out, not refused.
extends_documentation_fragment:
  - nbsync.proxmox.pbs
attributes:
  check_mode:
    support: full
    description: Reads only; runs the same in check mode.
  diff_mode:
    support: none
    description: Reads only.
options:
  name:
    description:
      - Only these datastores. A name PBS does not list (it does not exist, or the token cannot see it) fails the
        task with the names that are visible.
      - All visible datastores when omitted.
    type: list
    elements: str
    aliases: [store]
  jobs:
    description: Also return the jobs of these types for each datastore, with their schedule state.
    type: list
    elements: str
    choices: [sync, verify, prune]
    default: []
seealso:
  - module: nbsync.proxmox.pbs_job
author:
  - nbsync.proxmox developers (!UNKNOWN)
'''

EXAMPLES = r'''
- name: All datastores with their usage and jobs
  nbsync.proxmox.pbs_datastore_info:
    pbs_api_host: pbs1.example.com
    pbs_api_token: "{{ vault_pbs_token }}"
    pbs_ca_path: /etc/ssl/pbs-root-ca.pem
    jobs: [sync, verify, prune]
  register: pbs

- name: Warn when a datastore is more than 80 % full
  ansible.builtin.debug:
    msg: "{{ item.name }} is {{ (100 * item.usage.used / item.usage.total) | round(1) }} % full"
  loop: "{{ pbs.datastores }}"
  when: item.usage and item.usage.used / item.usage.total > 0.8

- name: One datastore
  nbsync.proxmox.pbs_datastore_info:
    name: store1
  register: store1
'''

RETURN = r'''
datastores:
  description:
    - The datastores, sorted by name, each its configuration as C(/config/datastore) returns it (PBS property
      names such as C(gc-schedule)), plus RV(datastores[].usage) and, when O(jobs) is given, RV(datastores[].jobs).
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: The datastore's name.
      type: str
    path:
      description: Its directory on the PBS.
      type: str
    usage:
      description: Bytes C(total), C(used) and C(avail), or V(null) when PBS did not report them.
      type: dict
    jobs:
      description:
        - Per job type asked for in O(jobs), the jobs of this datastore as C(/admin/<type>) lists them, with
          C(next-run), C(last-run-state), C(last-run-upid), C(last-run-endtime) where PBS knows them.
      type: dict
      returned: when O(jobs) is not empty
  sample:
    - name: store1
      path: /backup/store1
      gc-schedule: daily
      usage: {total: 1099511627776, used: 107374182400, avail: 992137445376}
      jobs:
        verify: [{id: verify-store1, store: store1, schedule: daily, next-run: 1767225600}]
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.nbsync.proxmox.plugins.module_utils import _module
from ansible_collections.nbsync.proxmox.plugins.module_utils._arg_specs import pbs_argument_spec
from ansible_collections.nbsync.proxmox.plugins.module_utils._pbs_client import PbsClient
from ansible_collections.nbsync.proxmox.plugins.module_utils._pbs_jobs import datastore_facts


def gather(module):
    client = PbsClient.from_params(module.params)
    job_types = sorted(set(module.params['jobs']))
    return dict(changed=False, datastores=datastore_facts(client, module.params['name'], job_types))


def main():
    argument_spec = pbs_argument_spec()
    argument_spec.update(
        name=dict(type='list', elements='str', aliases=['store']),
        jobs=dict(type='list', elements='str', default=[], choices=['sync', 'verify', 'prune']),
    )
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    _module.run(module, gather)


if __name__ == '__main__':
    main()

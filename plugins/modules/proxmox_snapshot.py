#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026 nbsync.proxmox contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r'''
module: proxmox_snapshot
short_description: Create, delete, roll back and prune snapshots of Proxmox VE guests
version_added: 0.1.0
description:
  - Manages the snapshots of one QEMU VM or LXC container, found by O(vmid) or O(name) with one
    C(/cluster/resources) call.
  - Creates a snapshot (with a description and, for QEMU, the RAM state), updates the description of an
    existing one, deletes one, or rolls the guest back to one (and starts it if asked).
  - Every run returns the guest's snapshots in RV(snapshots).
  - Keeps the newest O(retention.keep) snapshots whose names start with O(retention.prefix) and removes the
    older ones, for rotating snapshots such as C(auto-20260101).
  - Waits for every PVE task to finish. When PVE refuses an action because the guest is locked (a backup,
    another snapshot, a migration), the action is repeated with backoff until O(timeout).
  - Snapshot names are checked against PVE's format before anything is written.
extends_documentation_fragment:
  - nbsync.proxmox.pve
attributes:
  check_mode:
    support: full
    description: Reads the guest and its snapshots and returns the planned RV(actions) without writing.
  diff_mode:
    support: full
    description:
      - For O(state=present) and O(state=absent) the snapshots (name and description) before and after.
      - For O(state=rollback) the snapshot rolled back to and the guest's parent snapshot.
options:
  vmid:
    description:
      - The guest's id. Give O(vmid) or O(name).
    type: int
  name:
    description:
      - The guest's name. Give O(vmid) or O(name); a name that two guests share is an error.
    type: str
  snapname:
    description:
      - Name of the snapshot. PVE's format C(pve-configid) applies, checked before any write; a letter first,
        then at least one of C(A-Z a-z 0-9 _ -), at most 40 characters; V(current) is reserved, and
        V(pending) for QEMU, V(vzdump) for LXC.
      - Required with O(state=absent) and O(state=rollback), and with O(state=present) unless O(retention)
        is given (then the task only prunes).
    type: str
  description:
    description:
      - Description of the snapshot. When the snapshot exists already and its description differs, the
        description is updated (the only property of a snapshot PVE can change).
      - Not set means the description is not compared.
    type: str
  vmstate:
    description:
      - For QEMU VMs, save the RAM of a running VM in the snapshot. Used only when the snapshot is created
        (PVE saves RAM only of a running VM and cannot add it later), so it is not compared with an existing
        snapshot. An error for LXC containers.
    type: bool
    default: false
  state:
    description:
      - V(present) creates the snapshot if it is missing (an existing one is C(changed=false), apart from a
        different O(description)), then applies O(retention).
      - V(absent) deletes the snapshot if it exists.
      - V(rollback) rolls the guest back to the snapshot. This is B(always a change) (and runs again on each
        run). PVE records which snapshot the guest descends from (C(parent)), but not whether its disks or
        config changed since, so the module cannot honestly say a rollback is not needed. Guard the task with a
        C(when) condition if it should run once.
      - There is no V(list) state (ansible-test forbids V(list), V(info) and V(get) as states, as reading
        belongs in an C(_info) module); every state returns RV(snapshots).
    type: str
    choices: [present, absent, rollback]
    default: present
  start_after_rollback:
    description:
      - With O(state=rollback), start the guest when the rollback is done (PVE's C(start) flag; needs
        C(VM.PowerMgmt)).
    type: bool
    default: false
  retention:
    description:
      - With O(state=present), keep only the newest O(retention.keep) snapshots whose names start with
        O(retention.prefix) and delete the others, oldest first. Newest means the latest C(snaptime); the
        snapshot named by O(snapname) (new or existing) counts as the newest and is never removed. Snapshots
        not matching the prefix are never touched. Check mode returns the names that would go in RV(removed).
    type: dict
    suboptions:
      prefix:
        description: The name prefix that selects the snapshots under retention, for example V(auto-).
        type: str
        required: true
      keep:
        description:
          - How many of the matching snapshots to keep. V(0) removes them all (not allowed when O(snapname)
            itself matches the prefix).
        type: int
        required: true
  timeout:
    description:
      - Seconds each snapshot action may take, counting both the retries while the guest is locked and the
        wait for the PVE task. At the deadline the module fails; a task may still be running in PVE.
    type: int
    default: 300
notes:
  - Needs C(VM.Snapshot) on C(/vms/<vmid>) to create, delete or update snapshots, and C(VM.Snapshot) or
    C(VM.Snapshot.Rollback) to roll back; C(VM.Audit) to see the guest.
  - A guest on a node that does not answer (status C(unknown) in the cluster) fails before anything is written.
  - The apply step stops at the first failed action; actions before it (for example the new snapshot before
    a failed retention delete) stay done, and the message says which action failed.
seealso:
  - module: nbsync.proxmox.proxmox_info
author:
  - nbsync.proxmox developers (!UNKNOWN)
'''

EXAMPLES = r'''
- name: Snapshot a VM before an upgrade, with its RAM
  nbsync.proxmox.proxmox_snapshot:
    name: web1
    snapname: before-upgrade
    description: before the PostgreSQL 17 upgrade
    vmstate: true

- name: Nightly snapshot of a container, keeping the newest seven
  nbsync.proxmox.proxmox_snapshot:
    vmid: 210
    snapname: "auto-{{ now(fmt='%Y%m%d') }}"
    retention:
      prefix: auto-
      keep: 7

- name: Only prune, without taking a snapshot
  nbsync.proxmox.proxmox_snapshot:
    vmid: 210
    retention:
      prefix: auto-
      keep: 3

- name: Roll back and start the guest again
  nbsync.proxmox.proxmox_snapshot:
    vmid: 100
    snapname: before-upgrade
    state: rollback
    start_after_rollback: true

- name: Delete the snapshot
  nbsync.proxmox.proxmox_snapshot:
    vmid: 100
    snapname: before-upgrade
    state: absent

- name: The snapshots are returned by every state
  nbsync.proxmox.proxmox_snapshot:
    vmid: 100
    snapname: before-upgrade
    state: absent
  register: result

- name: Show them
  ansible.builtin.debug:
    msg: "{{ result.snapshots | map(attribute='name') }}"
'''

RETURN = r'''
snapshots:
  description:
    - The guest's snapshots, oldest first, read from the server after the changes (in check mode, as they are
      now). PVE's C(current) pseudo-snapshot is left out; its parent is RV(parent).
  returned: always
  type: list
  elements: dict
  sample:
    - {"name": "auto-20260101", "description": "", "snaptime": 1767225600, "vmstate": false}
    - {"name": "before-upgrade", "description": "before the upgrade", "snaptime": 1767312000,
       "vmstate": true, "parent": "auto-20260101"}
parent:
  description: The snapshot the guest's current state descends from, or null.
  returned: always
  type: str
  sample: before-upgrade
removed:
  description: Names of the snapshots deleted (or, in check mode, that would be) by O(state=absent) or O(retention).
  returned: always
  type: list
  elements: str
  sample: ["auto-20251201", "auto-20251202"]
actions:
  description: The planned actions, in the order they run, each with its reason; in check mode nothing ran.
  returned: always
  type: list
  elements: dict
  sample:
    - {"action": "create", "snapname": "auto-20260103", "reason": "snapshot auto-20260103 does not exist"}
    - {"action": "delete", "snapname": "auto-20260101",
       "reason": "retention: only the newest 2 snapshot(s) named auto-* are kept"}
vmid:
  description: The guest's id.
  returned: always
  type: int
  sample: 100
node:
  description: The node the guest is on.
  returned: always
  type: str
  sample: pve1
type:
  description: V(qemu) or V(lxc).
  returned: always
  type: str
  sample: qemu
diff:
  description: Before and after, with C(--diff).
  returned: when diff mode is on
  type: dict
  sample: {"before": {"snapshots": {"a1": ""}}, "after": {"snapshots": {"a1": "", "a2": "nightly"}}}
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.nbsync.proxmox.plugins.module_utils import _module
from ansible_collections.nbsync.proxmox.plugins.module_utils._arg_specs import pve_argument_spec
from ansible_collections.nbsync.proxmox.plugins.module_utils._pve_client import PveClient
from ansible_collections.nbsync.proxmox.plugins.module_utils._snapshot import (
    SnapshotRunner, describe, plan, validate_for_guest, validate_params,
)


def manage(module):
    params = module.params
    validate_params(params)
    runner = SnapshotRunner(PveClient.from_params(params), timeout=params['timeout'])
    guest = runner.resolve(vmid=params['vmid'], name=params['name'])
    validate_for_guest(params, guest)
    snapshots, parent = runner.snapshots(guest)
    actions, tracker = plan(params, snapshots, parent, kind=guest['type'], status=guest.get('status'),
                            label='guest {0}'.format(describe(guest)))
    if actions and not module.check_mode:
        runner.apply(guest, actions)
        snapshots, parent = runner.snapshots(guest)
    result = dict(
        changed=tracker.changed,
        snapshots=snapshots,
        parent=parent,
        removed=[a['snapname'] for a in actions if a['action'] == 'delete'],
        actions=[dict((k, a[k]) for k in ('action', 'snapname', 'reason')) for a in actions],
        vmid=guest['vmid'], node=guest['node'], type=guest['type'],
    )
    if module._diff:
        result['diff'] = tracker.diff()
    return result


def main():
    argument_spec = pve_argument_spec()
    argument_spec.update(
        vmid=dict(type='int'),
        name=dict(type='str'),
        snapname=dict(type='str'),
        description=dict(type='str'),
        vmstate=dict(type='bool', default=False),
        state=dict(type='str', default='present', choices=['present', 'absent', 'rollback']),
        start_after_rollback=dict(type='bool', default=False),
        retention=dict(type='dict', options=dict(
            prefix=dict(type='str', required=True),
            keep=dict(type='int', required=True),
        )),
        timeout=dict(type='int', default=300),
    )
    module = AnsibleModule(
        argument_spec=argument_spec,
        supports_check_mode=True,
        mutually_exclusive=[('vmid', 'name')],
        required_one_of=[('vmid', 'name')],
        required_if=[('state', 'absent', ('snapname',)), ('state', 'rollback', ('snapname',)),
                     ('state', 'present', ('snapname', 'retention'), True)],
    )
    _module.run(module, manage)


if __name__ == '__main__':
    main()

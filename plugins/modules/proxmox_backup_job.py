#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026 nbsync.proxmox contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r'''
module: proxmox_backup_job
short_description: Manage Proxmox VE cluster backup (vzdump) jobs
version_added: 0.1.0
description:
  - Creates, updates and deletes the scheduled backup jobs of a Proxmox VE cluster (C(/cluster/backup),
    Datacenter > Backup in the UI), for example nightly backups to a Proxmox Backup Server storage.
  - The job is found by its O(id). Only the options you set are compared, each normalised (O(vmids) as a
    set, O(retention) as numbers, O(enabled) as a boolean), so a second run with the same options changes
    nothing.
  - To remove an option from a job, list it in O(unset); an option left out is left as it is.
  - Before writing, the storage is checked with one C(/storage) call (it must exist and take the
    C(backup) content type) and the pool with one C(/pools) call, so a wrong name changes nothing.
  - Creating, changing and deleting jobs needs C(Sys.Modify) on C(/); writing to a storage needs
    C(Datastore.Allocate) on C(/storage/<storage>); a pool needs C(VM.Backup) on C(/pool/<pool>).
extends_documentation_fragment:
  - nbsync.proxmox.pve
attributes:
  check_mode:
    support: full
    description: Reads the job, storage and pool, reports the planned changes in RV(plan) and writes nothing.
  diff_mode:
    support: full
    description: Before and after of every option that changes.
options:
  id:
    description:
      - The job's ID. Starts with a letter; letters, digits, V(-) and V(_), at least two characters.
      - Jobs made in the PVE UI have IDs like V(backup-1a2b3c4d-5e6f); use that to manage them.
    type: str
    required: true
  state:
    description:
      - V(present) creates the job or brings the given options to their values; V(absent) deletes it.
    type: str
    choices: [present, absent]
    default: present
  schedule:
    description:
      - When the job runs, a systemd-like calendar event as PVE takes it, for example V(21:00),
        V(sat 02:30) or V(mon..fri 22:00). PVE checks the syntax; a schedule it refuses fails the task
        with PVE's reason and changes nothing.
      - Required to create a job.
    type: str
  storage:
    description:
      - The storage the backups go to, for example a storage of type C(pbs). It must exist and have the
        content type C(backup).
      - Without it PVE uses V(local) (when creating).
    type: str
  vmids:
    description:
      - The guests to back up, by vmid. Compared as a set (order and duplicates do not matter).
      - Setting it replaces O(all) or O(pool) on the job. Give only one of O(vmids), O(all)=V(true) and O(pool).
    type: list
    elements: int
  all:
    description:
      - V(true) backs up every guest of the cluster (on the job's nodes). Replaces O(vmids) and O(pool) on the job.
      - V(false) alone cannot take the guests away from a job; switch to O(vmids) or O(pool) instead.
    type: bool
  pool:
    description:
      - Back up the guests of this resource pool. It must exist. Replaces O(vmids) and O(all) on the job.
    type: str
  mode:
    description:
      - Backup mode.
    type: str
    choices: [snapshot, suspend, stop]
  compression:
    description:
      - Compression of the backup files (PBS storages always compress; this applies to file storages).
        V(none) is PVE's V(0).
    type: str
    choices: [none, lzo, gzip, zstd]
  retention:
    description:
      - How many backups to keep (PVE's C(prune-backups)). Compared as a whole, the keep settings you give
        replace those of the job; a keep setting left out is not kept.
      - Without it (and not set on the job) the storage's own retention applies; to return to that, list
        V(retention) in O(unset).
    type: dict
    suboptions:
      keep_last:
        description: Keep the last N backups.
        type: int
      keep_hourly:
        description: Keep backups for the last N hours (one per hour).
        type: int
      keep_daily:
        description: Keep backups for the last N days (one per day).
        type: int
      keep_weekly:
        description: Keep backups for the last N weeks (one per week).
        type: int
      keep_monthly:
        description: Keep backups for the last N months (one per month).
        type: int
      keep_yearly:
        description: Keep backups for the last N years (one per year).
        type: int
      keep_all:
        description: Keep every backup. Cannot be combined with the other keep settings.
        type: bool
  notes_template:
    description:
      - Template for the notes of each backup, for example V({{guestname}} on {{node}}) (PVE expands
        C({{cluster}}), C({{guestname}}), C({{node}}) and C({{vmid}})). One line.
      - PVE takes it only together with a storage; the job's storage is sent with it.
    type: str
  comment:
    description:
      - Free-text description of the job.
    type: str
  enabled:
    description:
      - Whether the job runs on its schedule. PVE creates jobs enabled.
    type: bool
  unset:
    description:
      - Options to remove from the job (PVE's C(delete) parameter), so that PVE's default applies again.
        An option cannot be both given and unset.
    type: list
    elements: str
    choices: [comment, compression, mode, notes_template, retention, storage]
    default: []
notes:
  - The job's selection is one of O(vmids), O(all) or O(pool); PVE replaces the previous selection when you
    set another (the diff shows both).
  - Other vzdump options of a job (mail, bandwidth, fleecing, exclusions...) are left as they are.
seealso:
  - name: PVE backup jobs
    description: Scheduled backups in the Proxmox VE administration guide.
    link: https://pve.proxmox.com/pve-docs/chapter-vzdump.html
author:
  - nbsync.proxmox developers (!UNKNOWN)
'''

EXAMPLES = r'''
- name: Nightly backups of two VMs to a Proxmox Backup Server storage
  nbsync.proxmox.proxmox_backup_job:
    api_host: pve1.example.com
    api_token: "{{ vault_pve_token }}"
    ca_path: /etc/ssl/pve-root-ca.pem
    id: nightly
    schedule: "21:00"
    storage: pbs-store
    vmids: [100, 101]
    mode: snapshot
    retention:
      keep_last: 3
      keep_daily: 7
      keep_weekly: 4
    notes_template: "{{ '{{guestname}}' }} nightly"
    comment: managed by Ansible

- name: Back up the whole pool "prod" on Saturdays instead
  nbsync.proxmox.proxmox_backup_job:
    id: nightly
    schedule: "sat 02:30"
    pool: prod

- name: Pause the job and return to the storage's retention
  nbsync.proxmox.proxmox_backup_job:
    id: nightly
    enabled: false
    unset: [retention]

- name: Remove the job
  nbsync.proxmox.proxmox_backup_job:
    id: nightly
    state: absent
'''

RETURN = r'''
job:
  description:
    - The job as PVE has it after the run (C(GET /cluster/backup)), with PVE's own keys (C(vmid) as a
      comma-separated string, C(prune-backups) as an object). In check mode, the job as it is now.
    - V(null) when the job does not exist (after O(state=absent), or before a create in check mode).
  returned: always
  type: dict
  sample: {"id": "nightly", "schedule": "21:00", "storage": "pbs-store", "vmid": "100,101", "mode": "snapshot",
           "prune-backups": {"keep-last": "3", "keep-daily": "7"}, "enabled": 1, "type": "vzdump"}
action:
  description: What was done (or would be, in check mode).
  returned: always
  type: str
  sample: update
  choices: [create, update, delete, none]
changes:
  description:
    - 'One line per changed option, in the form C(option: before -> after).'
  returned: always
  type: list
  elements: str
  sample: ["schedule: 21:00 -> sat 02:30", "retention: {'keep_last': 3} -> {'keep_last': 5}"]
plan:
  description: The planned request, as sent to PVE (in check mode, as it would be sent).
  returned: always
  type: dict
  contains:
    id:
      description: The job ID.
      type: str
    action:
      description: create, update, delete or none.
      type: str
    data:
      description: The PVE parameters of the POST or PUT.
      type: dict
    delete:
      description: The PVE properties removed (PVE's C(delete) parameter).
      type: list
      elements: str
    changes:
      description: Same as RV(changes).
      type: list
      elements: str
diff:
  description: Before and after of the options that change, with this module's option names.
  returned: always
  type: dict
  sample: {"before": {"enabled": true}, "after": {"enabled": false}}
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.nbsync.proxmox.plugins.module_utils import _module
from ansible_collections.nbsync.proxmox.plugins.module_utils._arg_specs import pve_argument_spec
from ansible_collections.nbsync.proxmox.plugins.module_utils._backup_jobs import (
    MODES, UNSETTABLE, ensure_job,
)
from ansible_collections.nbsync.proxmox.plugins.module_utils._pve_client import PveClient


def run(module):
    client = PveClient.from_params(module.params)
    return ensure_job(client, module.params, check_mode=module.check_mode)


def main():
    argument_spec = pve_argument_spec()
    argument_spec.update(
        id=dict(type='str', required=True),
        state=dict(type='str', choices=['present', 'absent'], default='present'),
        schedule=dict(type='str'),
        storage=dict(type='str'),
        vmids=dict(type='list', elements='int'),
        all=dict(type='bool'),
        pool=dict(type='str'),
        mode=dict(type='str', choices=list(MODES)),
        compression=dict(type='str', choices=['none', 'lzo', 'gzip', 'zstd']),
        retention=dict(type='dict', options=dict(
            keep_last=dict(type='int'),
            keep_hourly=dict(type='int'),
            keep_daily=dict(type='int'),
            keep_weekly=dict(type='int'),
            keep_monthly=dict(type='int'),
            keep_yearly=dict(type='int'),
            keep_all=dict(type='bool'),
        )),
        notes_template=dict(type='str'),
        comment=dict(type='str'),
        enabled=dict(type='bool'),
        unset=dict(type='list', elements='str', choices=list(UNSETTABLE), default=[]),
    )
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    _module.run(module, run)


if __name__ == '__main__':
    main()

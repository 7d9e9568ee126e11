#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026 nbsync.proxmox contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r'''
module: pbs_job
short_description: Manage Proxmox Backup Server sync, verify and prune jobs
version_added: 0.1.0
description:
  - Creates, updates and deletes sync, verify and prune jobs of a Proxmox Backup Server (PBS) through its API,
    and runs a job on demand, waiting for its task.
  - Only the options you set are compared, after normalising types (V(1) and V(true) are the same boolean);
    an option you leave out is never touched. A property PBS leaves absent counts as PBS's default
    (O(remove_vanished=false), O(ignore_verified=true), O(disable=false), an empty O(namespace) or O(comment)),
    so setting an option to its default on an existing job is no change.
  - "B(Removing a property): list the option in O(unset), for example O(unset=[schedule, max_depth]). For text
    options an empty string does the same (O(comment=\"\"), O(namespace=\"\") for the root namespace).
    O(store), and O(remote_store) of a sync job and O(schedule) of a prune job, cannot be removed."
  - Options that do not belong to the job type (for example O(keep_last) on a verify job) are refused before any
    API call. PBS does not check, when a job is saved, that its datastore or remote exists; this module does, so a
    wrong O(store), O(remote) or (for a local sync) O(remote_store) fails before anything is written.
  - Updates send the digest PBS returned with the read, so a job changed by someone else between the read and
    the write is not overwritten; PBS refuses the write and the task fails (run it again).
extends_documentation_fragment:
  - nbsync.proxmox.pbs
attributes:
  check_mode:
    support: full
    description: Reads the job and reports what would change (RV(changes), RV(job)); writes and runs nothing.
  diff_mode:
    support: full
    description: Before and after of each changed option, by its Ansible name.
options:
  type:
    description: The kind of job.
    type: str
    required: true
    choices: [sync, verify, prune]
  id:
    description: The job's id (3 to 32 characters of V(A-Za-z0-9_.-)). Ids are unique per job type.
    type: str
    required: true
    aliases: [name]
  state:
    description: V(present) creates or updates the job; V(absent) deletes it.
    type: str
    choices: [present, absent]
    default: present
  store:
    description:
      - The datastore the job works on (the target of a sync job). Must exist.
      - Required to create a job.
    type: str
  namespace:
    description: Namespace in O(store) (PBS C(ns)); V("") is the root namespace.
    type: str
  schedule:
    description:
      - When the job runs, as a PBS calendar event (V(daily), V(hourly), V(mon..fri 02:30), V(*:0/15)).
        PBS checks it and its message is returned when it refuses one.
      - Required to create a prune job. Without a schedule a sync or verify job only runs on demand.
    type: str
  comment:
    description: Free text.
    type: str
  max_depth:
    description: How many namespace levels below O(namespace) the job descends (0 to 7); unset means all.
    type: int
  remote:
    description:
      - Sync only. The configured remote to pull from. Must exist on the PBS.
      - Without it (or after O(unset=[remote])) the job syncs from the local datastore O(remote_store).
    type: str
  remote_store:
    description: Sync only. The datastore to pull from, on O(remote) (or locally). Required to create a sync job.
    type: str
  remote_namespace:
    description: Sync only. Namespace in O(remote_store) (PBS C(remote-ns)).
    type: str
  remove_vanished:
    description: Sync only. Delete backups that no longer exist on the source. PBS's default is V(false).
    type: bool
  owner:
    description: Sync only. The user or token owning the synced backup groups (PBS's default is V(root@pam)).
    type: str
  group_filter:
    description:
      - Sync only. Which backup groups to sync, as PBS group filters (V(type:vm), V(group:vm/100),
        V(exclude:regex:^ct/)). Compared as a set.
    type: list
    elements: str
  transfer_last:
    description: Sync only. Only the N newest snapshots of each group are synced.
    type: int
  ignore_verified:
    description: Verify only. Skip snapshots already verified and not outdated. PBS's default is V(true).
    type: bool
  outdated_after:
    description: Verify only. Days after which a verification is outdated and is done again.
    type: int
  disable:
    description: Prune only. Keep the job but do not run it on its schedule.
    type: bool
  keep_last:
    description: Prune only. Number of newest backups to keep.
    type: int
  keep_hourly:
    description: Prune only. Number of hourly backups to keep.
    type: int
  keep_daily:
    description: Prune only. Number of daily backups to keep.
    type: int
  keep_weekly:
    description: Prune only. Number of weekly backups to keep.
    type: int
  keep_monthly:
    description: Prune only. Number of monthly backups to keep.
    type: int
  keep_yearly:
    description: Prune only. Number of yearly backups to keep.
    type: int
  unset:
    description:
      - Options whose property is removed from the job (PBS's C(delete) list), so PBS's default applies again.
      - An option cannot be both set and listed here.
    type: list
    elements: str
    default: []
    choices: [namespace, schedule, comment, max_depth, remote, remote_namespace, remove_vanished, owner,
              group_filter, transfer_last, ignore_verified, outdated_after, disable, keep_last, keep_hourly,
              keep_daily, keep_weekly, keep_monthly, keep_yearly]
  run_now:
    description:
      - Run the job (after creating or updating it) and wait for its task to end. A failed run fails the task
        with PBS's exit status and the end of the task log.
      - A run is an action, so O(run_now=true) B(always) reports C(changed), also when the job's configuration
        was already as wanted, and in check mode (where nothing runs).
    type: bool
    default: false
  timeout:
    description:
      - Seconds to wait for the task of O(run_now). When it passes the module fails; the task may still finish
        on the server.
    type: int
    default: 600
seealso:
  - module: nbsync.proxmox.pbs_datastore_info
author:
  - nbsync.proxmox developers (!UNKNOWN)
'''

EXAMPLES = r'''
- name: Verify store1 every night, re-verifying after 30 days
  nbsync.proxmox.pbs_job:
    pbs_api_host: pbs1.example.com
    pbs_api_token: "{{ vault_pbs_token }}"
    pbs_ca_path: /etc/ssl/pbs-root-ca.pem
    type: verify
    id: verify-store1
    store: store1
    schedule: daily
    outdated_after: 30

- name: Connection once for every PBS module
  module_defaults:
    group/nbsync.proxmox.pbs:
      pbs_api_host: pbs1.example.com
      pbs_api_token: "{{ vault_pbs_token }}"
  block:
    - name: Pull store1 from the offsite PBS hourly, and run it now
      nbsync.proxmox.pbs_job:
        type: sync
        id: pull-offsite
        store: store1
        remote: offsite
        remote_store: backups
        schedule: hourly
        remove_vanished: true
        run_now: true
        timeout: 3600

    - name: Keep 7 daily and 4 weekly backups
      nbsync.proxmox.pbs_job:
        type: prune
        id: prune-store1
        store: store1
        schedule: daily
        keep_daily: 7
        keep_weekly: 4

    - name: Take the schedule and comment off the verify job (it then runs only on demand)
      nbsync.proxmox.pbs_job:
        type: verify
        id: verify-store1
        unset: [schedule, comment]

    - name: Delete the sync job
      nbsync.proxmox.pbs_job:
        type: sync
        id: pull-offsite
        state: absent
'''

RETURN = r'''
action:
  description: What was (or in check mode, would be) done to the configuration.
  returned: always
  type: str
  sample: update
changes:
  description: "One line per changed option, C(option: before -> after); C(run: job started) when O(run_now)."
  returned: always
  type: list
  elements: str
  sample: ["schedule: daily -> hourly", "keep_daily: (unset) -> 7"]
job:
  description:
    - The job's configuration in PBS's property names, read back after the write (in check mode, as it would be).
      V(null) when the job is absent.
  returned: always
  type: dict
  sample: {"id": "verify-store1", "store": "store1", "schedule": "daily", "outdated-after": 30}
task:
  description: The task of O(run_now).
  returned: when O(run_now) ran the job (not in check mode)
  type: dict
  contains:
    upid:
      description: The task id.
      type: str
    status:
      description: V(stopped) once the task ended.
      type: str
    exitstatus:
      description: V(OK) or the PBS warning text.
      type: str
  sample: {"upid": "UPID:pbs:...:verificationjob:store1\\x3averify-store1:root@pam!ansible:", "status": "stopped",
           "exitstatus": "OK"}
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.nbsync.proxmox.plugins.module_utils import _module
from ansible_collections.nbsync.proxmox.plugins.module_utils import _pbs_jobs
from ansible_collections.nbsync.proxmox.plugins.module_utils._arg_specs import pbs_argument_spec
from ansible_collections.nbsync.proxmox.plugins.module_utils._pbs_client import PbsClient

JOB_OPTIONS = dict(
    store=dict(type='str'),
    namespace=dict(type='str'),
    schedule=dict(type='str'),
    comment=dict(type='str'),
    max_depth=dict(type='int'),
    remote=dict(type='str'),
    remote_store=dict(type='str'),
    remote_namespace=dict(type='str'),
    remove_vanished=dict(type='bool'),
    owner=dict(type='str'),
    group_filter=dict(type='list', elements='str'),
    transfer_last=dict(type='int'),
    ignore_verified=dict(type='bool'),
    outdated_after=dict(type='int'),
    disable=dict(type='bool'),
    keep_last=dict(type='int'),
    keep_hourly=dict(type='int'),
    keep_daily=dict(type='int'),
    keep_weekly=dict(type='int'),
    keep_monthly=dict(type='int'),
    keep_yearly=dict(type='int'),
)
UNSETTABLE = ['namespace', 'schedule', 'comment', 'max_depth', 'remote', 'remote_namespace', 'remove_vanished',
              'owner', 'group_filter', 'transfer_last', 'ignore_verified', 'outdated_after', 'disable'] + \
    list(_pbs_jobs.KEEP_OPTIONS)


def manage(module):
    p = module.params
    options = dict((k, p[k]) for k in JOB_OPTIONS)
    # Everything that can be refused without the server is refused before a client exists.
    _pbs_jobs.validate(p['type'], p['id'], options, p['unset'], p['state'], p['run_now'])
    client = PbsClient.from_params(p)
    return _pbs_jobs.ensure_job(client, p['type'], p['id'], options, unset=p['unset'], state=p['state'],
                                run_now=p['run_now'], timeout=p['timeout'], check_mode=module.check_mode,
                                want_diff=module._diff)


def main():
    argument_spec = pbs_argument_spec()
    argument_spec.update(
        type=dict(type='str', required=True, choices=list(_pbs_jobs.JOB_TYPES)),
        id=dict(type='str', required=True, aliases=['name']),
        state=dict(type='str', default='present', choices=['present', 'absent']),
        unset=dict(type='list', elements='str', default=[], choices=UNSETTABLE),
        run_now=dict(type='bool', default=False),
        timeout=dict(type='int', default=600),
        **JOB_OPTIONS
    )
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    _module.run(module, manage)


if __name__ == '__main__':
    main()

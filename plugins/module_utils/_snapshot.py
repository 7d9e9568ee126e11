# -*- coding: utf-8 -*-
# Copyright (c) 2026 nbsync.proxmox contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Snapshots of QEMU VMs and LXC containers: a pure planner and the apply step of ``proxmox_snapshot``.

``plan()`` compares what the user asked for with the guest's snapshot list (as ``normalize_snapshots``
makes it) and returns the actions, each with its reason, plus a DiffTracker; it does no I/O.
``SnapshotRunner`` resolves the guest, reads the list and applies the actions: it waits on every task
and repeats an action refused because the guest is locked (by a backup, another snapshot, ...) with
backoff until the action's deadline.

Rollback is always a change: PVE's config keeps ``parent`` (the snapshot the current state descends
from), but not whether disks or config changed since, so "already rolled back" cannot be known.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import random
import re
import time

from ansible_collections.nbsync.proxmox.plugins.module_utils._diff import DiffTracker
from ansible_collections.nbsync.proxmox.plugins.module_utils._errors import (
    InvalidRequest, Locked, NotFound, TaskFailed, Unavailable,
)

# PVE's pve-configid format (PVE::JSONSchema): a letter, then at least one of [A-Za-z0-9_-]; the
# snapshot API caps snapname at 40 characters.
SNAPNAME_RE = re.compile(r'^[A-Za-z][A-Za-z0-9_-]+$')
SNAPNAME_MAX = 40
# Names PVE refuses: 'current' (the pseudo-snapshot "You are here!") for both; 'pending' (any case)
# for QEMU; 'vzdump' (the backup's temporary snapshot) for LXC.
CURRENT = 'current'

# A lock refused inside a task reaches us as the task's exit status ("VM is locked (backup)",
# "CT is locked (snapshot-delete)"), not as an HTTP error the transport's classify() sees. The
# transport's _VM_LOCKED uses \w+ and misses 'snapshot-delete'; see the report for the shared fix.
TASK_LOCKED = re.compile(r'(?:VM|CT) is locked \(([\w-]+)\)')

STATES = ('present', 'absent', 'rollback')
FIRST_RETRY = 0.5
MAX_RETRY = 5.0
LAST_WINDOW = 1.0   # seconds a retried action keeps for its task at least


# --------------------------------------------------------------------------- validation (pure)

def snapname_problem(name, kind=None):
    """Why ``name`` is not a usable snapshot name (a sentence), or None when it is."""
    if not isinstance(name, str) or not name:
        return 'must not be empty'
    if len(name) > SNAPNAME_MAX:
        return 'is {0} characters long; PVE allows at most {1}'.format(len(name), SNAPNAME_MAX)
    if not SNAPNAME_RE.match(name):
        return ('must start with a letter and have at least two characters of A-Z, a-z, 0-9, '
                '"_" and "-" (PVE format pve-configid)')
    if name == CURRENT:
        return 'is reserved by PVE (the current state)'
    if kind == 'qemu' and name.lower() == 'pending':
        return 'is reserved by PVE for QEMU VMs (pending changes)'
    if kind == 'lxc' and name == 'vzdump':
        return 'is reserved by PVE for LXC containers (the backup snapshot)'
    return None


def validate_params(params):
    """Checks that need no server: raises InvalidRequest naming the option, before anything is read."""
    state = params.get('state') or 'present'
    snapname = params.get('snapname')
    retention = params.get('retention')
    errors = {}
    if snapname is not None:
        problem = snapname_problem(snapname)
        if problem:
            errors['snapname'] = '{0!r} {1}'.format(snapname, problem)
    if state in ('absent', 'rollback') and snapname is None:
        errors['snapname'] = 'is required with state={0}'.format(state)
    if state == 'present' and snapname is None and not retention:
        errors['snapname'] = 'is required with state=present unless retention is given'
    if retention:
        if state != 'present':
            errors['retention'] = 'applies only with state=present'
        prefix = retention.get('prefix')
        keep = retention.get('keep')
        if not prefix:
            errors['retention.prefix'] = 'must not be empty (an empty prefix would match every snapshot)'
        if keep is None or int(keep) < 0:
            errors['retention.keep'] = 'must be 0 or more'
        elif int(keep) == 0 and snapname and prefix and snapname.startswith(prefix):
            errors['retention.keep'] = ('0 would remove the snapshot {0!r} this task creates; keep at least 1'
                                        .format(snapname))
    if params.get('start_after_rollback') and state != 'rollback':
        errors['start_after_rollback'] = 'applies only with state=rollback'
    timeout = params.get('timeout')
    if timeout is not None and timeout <= 0:
        errors['timeout'] = 'must be more than 0 seconds'
    if errors:
        raise InvalidRequest('invalid options for proxmox_snapshot', field_errors=errors,
                             hint='nothing was changed')


def validate_for_guest(params, guest):
    """Checks that need the guest's type: vmstate is QEMU only; the name against that type's reserved names."""
    kind = guest['type']
    errors = {}
    if params.get('vmstate') and kind != 'qemu':
        errors['vmstate'] = 'applies to QEMU VMs only; guest {0} is an LXC container'.format(guest['vmid'])
    snapname = params.get('snapname')
    if snapname is not None and params.get('state') == 'present':
        problem = snapname_problem(snapname, kind)
        if problem:
            errors['snapname'] = '{0!r} {1}'.format(snapname, problem)
    if errors:
        raise InvalidRequest('invalid options for guest {0}'.format(describe(guest)), field_errors=errors,
                             hint='nothing was changed')


def describe(guest):
    """'100 (web1) on pve1' for messages."""
    name = guest.get('name')
    return '{0}{1} on {2}'.format(guest['vmid'], ' ({0})'.format(name) if name else '', guest.get('node', '?'))


# --------------------------------------------------------------------------- normalising (pure)

def _description(value):
    """PVE stores descriptions as comment lines and returns them with a trailing newline."""
    return '' if value is None else str(value).rstrip('\n')


def normalize_snapshots(raw, kind):
    """The API's snapshot list -> (snapshots oldest first, the current state's parent).

    The 'current' pseudo-snapshot ("You are here!") is not a snapshot: it is dropped, its ``parent``
    returned apart. Types are normalised: snaptime int, vmstate bool (QEMU only), description without
    PVE's trailing newline.
    """
    snapshots = []
    parent = None
    for item in raw or []:
        if item.get('name') == CURRENT:
            parent = item.get('parent')
            continue
        snap = {'name': item.get('name'), 'description': _description(item.get('description')),
                'snaptime': int(item.get('snaptime') or 0)}
        if kind == 'qemu':
            snap['vmstate'] = str(item.get('vmstate', 0)).lower() in ('1', 'true')
        if item.get('parent'):
            snap['parent'] = item['parent']
        if item.get('snapstate'):
            snap['snapstate'] = item['snapstate']
        snapshots.append(snap)
    snapshots.sort(key=lambda s: (s['snaptime'], s['name']))
    return snapshots, parent


# --------------------------------------------------------------------------- planning (pure)

def _action(action, snapname, reason, **params):
    return {'action': action, 'snapname': snapname, 'reason': reason, 'params': params}


def retention_victims(snapshots, prefix, keep, protect=None):
    """Names to remove so that only the newest ``keep`` snapshots starting with ``prefix`` remain.

    Newest by snaptime (name breaks ties). ``protect`` (the snapshot the task asks to be present, new or
    existing) counts as the newest of all, so retention never removes it and a second run plans nothing.
    Returned oldest first, the order they are removed in.
    """
    matching = [(s['snaptime'], s['name']) for s in snapshots if s['name'].startswith(prefix) and s['name'] != protect]
    if protect and protect.startswith(prefix):
        matching.append((float('inf'), protect))
    matching.sort(reverse=True)
    doomed = [name for _t, name in matching[int(keep):]]
    return list(reversed(doomed))


def plan(params, snapshots, current_parent=None, kind='qemu', status=None, label='the guest'):
    """What to do, without doing it.

    params: the module's options (state, snapname, description, vmstate, retention, start_after_rollback).
    snapshots: as ``normalize_snapshots`` returns them. Returns (actions, tracker): each action is
    {action: create|update|delete|rollback, snapname, reason, params}; the tracker holds the before/after
    of the snapshot map {name: description} (and, for a rollback, of the guest's parent).
    Raises NotFound for a rollback to a snapshot the guest lacks.
    """
    state = params.get('state') or 'present'
    snapname = params.get('snapname')
    by_name = dict((s['name'], s) for s in snapshots)
    before = dict((s['name'], s['description']) for s in snapshots)
    after = dict(before)
    actions = []
    tracker = DiffTracker()

    if state == 'present':
        if snapname is not None and snapname not in by_name:
            body = {}
            if params.get('description') is not None:
                body['description'] = params['description']
            if params.get('vmstate') and kind == 'qemu':
                body['vmstate'] = 1
            actions.append(_action('create', snapname, 'snapshot {0} does not exist'.format(snapname), **body))
            after[snapname] = _description(params.get('description'))
        elif snapname is not None and params.get('description') is not None:
            have = by_name[snapname]['description']
            want = _description(params['description'])
            if have != want:
                actions.append(_action('update', snapname, 'description: {0!r} -> {1!r}'.format(have, want),
                                       description=params['description']))
                after[snapname] = want
        retention = params.get('retention')
        if retention:
            prefix, keep = retention['prefix'], int(retention['keep'])
            for name in retention_victims(snapshots, prefix, keep, protect=snapname):
                actions.append(_action('delete', name, 'retention: only the newest {0} snapshot(s) named {1}* '
                                       'are kept'.format(keep, prefix)))
                after.pop(name, None)
        tracker.add('snapshots', before, after)
    elif state == 'absent':
        if snapname in by_name:
            actions.append(_action('delete', snapname, 'state=absent'))
            after.pop(snapname)
        tracker.add('snapshots', before, after)
    elif state == 'rollback':
        if snapname not in by_name:
            raise NotFound('{0} has no snapshot {1!r}{2}'.format(
                label, snapname, '; it has: ' + ', '.join(sorted(by_name)) if by_name else '; it has none'),
                hint='nothing was changed')
        snap = by_name[snapname]
        if snap.get('snapstate'):
            raise InvalidRequest('snapshot {0!r} of {1} is incomplete (snapstate {2}); PVE cannot roll back to '
                                 'it'.format(snapname, label, snap['snapstate']), hint='delete it and take a new one')
        body = {'start': 1} if params.get('start_after_rollback') else {}
        reason = 'rollback to {0} (always a change: PVE cannot tell whether the guest changed since)'.format(
            snapname)
        actions.append(_action('rollback', snapname, reason, **body))
        tracker.add('rollback', None, snapname)
        tracker.add('parent', current_parent, snapname)
        if params.get('start_after_rollback'):
            tracker.add('status', status, 'running')
    else:
        raise InvalidRequest('state must be one of {0}'.format(', '.join(STATES)))
    return actions, tracker


# --------------------------------------------------------------------------- apply (I/O)

def lock_of(err):
    """The lock that refused an action ('backup', 'snapshot', 'config'...), or None if ``err`` is not a lock."""
    if isinstance(err, Locked):
        return err.lock or 'config'
    if isinstance(err, TaskFailed):
        found = TASK_LOCKED.search(str(err.exitstatus or ''))
        if found:
            return found.group(1)
    return None


class SnapshotRunner:
    """Resolves the guest, reads its snapshots and applies planned actions through a PveClient."""

    def __init__(self, client, timeout=300, clock=time.monotonic, sleep=time.sleep):
        self.client = client
        self.timeout = float(timeout)
        self._clock = clock
        self._sleep = sleep

    def resolve(self, vmid=None, name=None):
        """The guest's /cluster/resources entry (one call); NotFound or Unavailable with what to do."""
        guest = self.client.find_guest(vmid=vmid, name=name)
        if guest is None:
            what = 'vmid {0}'.format(vmid) if vmid is not None else 'name {0!r}'.format(name)
            raise NotFound('no QEMU VM or LXC container with {0} in the cluster'.format(what),
                           hint='check the {0}; a token sees only the guests it has VM.Audit on'.format(
                               'vmid' if vmid is not None else 'name'))
        guest = dict(guest, vmid=int(guest['vmid']))
        if guest.get('status') == 'unknown':
            raise Unavailable('node {0} of guest {1} does not answer (the cluster reports the guest\'s status '
                              'as unknown)'.format(guest.get('node'), describe(guest)),
                              hint='bring the node back online, then run again; nothing was changed')
        if guest.get('template'):
            raise InvalidRequest('guest {0} is a template; PVE cannot snapshot, delete snapshots of or roll '
                                 'back a template'.format(describe(guest)))
        return guest

    @staticmethod
    def _base(guest):
        return '/nodes/{0}/{1}/{2}/snapshot'.format(guest['node'], guest['type'], guest['vmid'])

    def snapshots(self, guest):
        return normalize_snapshots(self.client.get(self._base(guest)), guest['type'])

    def apply(self, guest, actions):
        """Perform the actions in order, each waited on; returns the names deleted."""
        removed = []
        for action in actions:
            self._run(guest, action)
            if action['action'] == 'delete':
                removed.append(action['snapname'])
        return removed

    def _request(self, guest, action):
        base = self._base(guest)
        name = action['snapname']
        params = action['params']
        if action['action'] == 'create':
            return self.client.post(base, data=dict(params, snapname=name))
        if action['action'] == 'delete':
            return self.client.delete('{0}/{1}'.format(base, name))
        if action['action'] == 'rollback':
            return self.client.post('{0}/{1}/rollback'.format(base, name), data=params or None)
        if action['action'] == 'update':
            return self.client.put('{0}/{1}/config'.format(base, name), data=params)
        raise InvalidRequest('unknown snapshot action {0!r}'.format(action['action']))

    def _run(self, guest, action):
        """One action: request, wait for its task; while the guest is locked, retry with backoff.

        ``timeout`` seconds from the first attempt is the deadline for both. A retry is only started while
        at least ``LAST_WINDOW`` seconds remain for its task, so a write is never sent that cannot be waited on.
        """
        started = self._clock()
        deadline = started + self.timeout
        delay = FIRST_RETRY
        while True:
            try:
                upid = self._request(guest, action)
                if isinstance(upid, str) and upid.startswith('UPID:'):
                    remaining = max(0.0, deadline - self._clock())
                    self.client.wait_for_task(upid, timeout=remaining, node=guest['node'])
                return
            except (Locked, TaskFailed) as err:
                lock = lock_of(err)
                if lock is None:
                    raise
                tool = 'qm' if guest['type'] == 'qemu' else 'pct'
                pause = min(delay * random.uniform(0.75, 1.0), deadline - self._clock() - LAST_WINDOW)
                if pause <= 0:
                    raise Locked('guest {0} was still locked ({1}) after {2:.0f} s of retries (timeout {3:g} s), '
                                 'so the {4} of snapshot {5!r} did not run'.format(
                                     describe(guest), lock, self._clock() - started, self.timeout,
                                     action['action'], action['snapname']),
                                 lock=lock, path=getattr(err, 'path', None),
                                 hint='wait for the task holding the lock, raise timeout, or clear a stale lock '
                                      'with "{0} unlock {1}"'.format(tool, guest['vmid']))
                self._sleep(pause)
                delay = min(MAX_RETRY, delay * 2)

# -*- coding: utf-8 -*-
# Copyright (c) 2026 nbsync.proxmox contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""PVE cluster backup (vzdump) jobs, ``/cluster/backup``: the logic behind ``proxmox_backup_job``.

Two halves:

* pure planning (no I/O): ``validate_params`` checks the options alone, ``desired_from_params`` and
  ``job_fields`` bring the user's options and PVE's job into one normalised form (module option names,
  vmids as a sorted list of ints, retention as a dict of ints, booleans as bools), and ``plan_job``
  compares them and returns a ``JobPlan``: the action, the PVE parameters to send, the keys to delete
  and a DiffTracker with one record per field.
* ``ensure_job``: reads the jobs with one list call, plans, checks the storage (one ``/storage`` call)
  and the pool (one ``/pools?poolid=`` call) that would be written, then creates, updates or deletes
  and reads the job back.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import re

from ansible_collections.nbsync.proxmox.plugins.module_utils._diff import DiffTracker
from ansible_collections.nbsync.proxmox.plugins.module_utils._errors import InvalidRequest, NbsyncError, NotFound
from ansible_collections.nbsync.proxmox.plugins.module_utils._pve_codecs import (
    as_bool, as_int, format_property_string, parse_property_string,
)

# Module option -> PVE job property.
PVE_KEYS = {
    'schedule': 'schedule',
    'storage': 'storage',
    'vmids': 'vmid',
    'all': 'all',
    'pool': 'pool',
    'mode': 'mode',
    'compression': 'compress',
    'retention': 'prune-backups',
    'notes_template': 'notes-template',
    'comment': 'comment',
    'enabled': 'enabled',
}
# In the order a diff and the reasons list them.
FIELDS = ('schedule', 'storage', 'vmids', 'all', 'pool', 'mode', 'compression', 'retention', 'notes_template',
          'comment', 'enabled')
# Options a user may remove from a job with ``unset`` (PVE's ``delete`` parameter). PVE cannot delete
# schedule or enabled, and the selection (vmids/all/pool) is replaced, not removed.
UNSETTABLE = ('comment', 'compression', 'mode', 'notes_template', 'retention', 'storage')
RETENTION_KEYS = ('keep_last', 'keep_hourly', 'keep_daily', 'keep_weekly', 'keep_monthly', 'keep_yearly',
                  'keep_all')
SELECTION = ('vmids', 'all', 'pool')
MODES = ('snapshot', 'suspend', 'stop')
# Our names -> PVE's compress values; PVE's '1' is the legacy spelling of lzo.
COMPRESSION_TO_PVE = {'none': '0', 'lzo': 'lzo', 'gzip': 'gzip', 'zstd': 'zstd'}
COMPRESSION_FROM_PVE = {'0': 'none', '1': 'lzo', 'lzo': 'lzo', 'gzip': 'gzip', 'zstd': 'zstd'}
# PVE::JSONSchema::pve_verify_configid.
_CONFIG_ID = re.compile(r'^[a-z][a-z0-9_-]+$', re.IGNORECASE)
MIN_VMID = 100
MAX_VMID = 999999999


def _refuse(job_id, text, field=None):
    """A local refusal: the message names the job; ``field_errors`` (for machines) names the option."""
    err = InvalidRequest("backup job '{0}': {1}".format(job_id, text))
    if field:
        err.field_errors = {field: text}   # set after rendering, so the message does not repeat the text
    return err


# ------------------------------------------------------------------ normalising

def normalize_vmids(value):
    """[101, '100'] or '101,100' -> [100, 101] (sorted, unique); None stays None."""
    if value is None:
        return None
    items = value.split(',') if isinstance(value, str) else list(value)
    return sorted(set(as_int(v, 'vmid') for v in items if str(v).strip()))


def normalize_retention(value):
    """PVE's prune-backups (object from GET, or property string) or the option's dict -> {keep_x: int|bool}.

    Keys left None are dropped; keep_all is a bool, the others ints. None (or empty) -> None.
    """
    if value is None:
        return None
    if isinstance(value, str):
        value = parse_property_string(value)
    out = {}
    for key, raw in value.items():
        name = key.replace('-', '_')
        if raw is None:
            continue
        if name not in RETENTION_KEYS:
            raise ValueError('retention: unknown key {0!r}'.format(key))
        out[name] = as_bool(raw, name) if name == 'keep_all' else as_int(raw, name)
    return out or None


def format_retention(retention):
    """{keep_last: 3, keep_daily: 7} -> 'keep-daily=7,keep-last=3' (PVE's property string for POST/PUT)."""
    return format_property_string(dict((k.replace('_', '-'), v) for k, v in retention.items()))


def normalize_compression(value):
    if value is None:
        return None
    text = str(value).strip()
    return COMPRESSION_FROM_PVE.get(text, text)


def _text(value):
    return None if value is None else str(value).strip()


def _bool(value):
    return None if value is None else as_bool(value)


NORMALIZE = {
    'schedule': _text,
    'storage': _text,
    'vmids': normalize_vmids,
    'all': _bool,
    'pool': _text,
    'mode': _text,
    'compression': normalize_compression,
    'retention': normalize_retention,
    'notes_template': lambda v: None if v is None else str(v),
    'comment': lambda v: None if v is None else str(v),
    'enabled': _bool,
}


def job_fields(job):
    """A PVE job (as GET /cluster/backup lists it) -> {option: normalised value} for every option we manage.

    PVE leaves out ``all`` when it is 0 and ``enabled`` when it is 1 (its defaults); they are filled in
    here so that ``all: false`` or ``enabled: true`` match a job that does not spell them out.
    """
    if job is None:
        return None
    out = {}
    for field in FIELDS:
        out[field] = NORMALIZE[field](job.get(PVE_KEYS[field]))
    if out['all'] is None:
        out['all'] = False
    if out['enabled'] is None:
        out['enabled'] = True
    return out


def to_pve(field, value):
    """A normalised option value -> the form PVE takes in POST/PUT."""
    if field == 'vmids':
        return ','.join(str(v) for v in value)
    if field == 'retention':
        return format_retention(value)
    if field == 'compression':
        return COMPRESSION_TO_PVE[value]
    if isinstance(value, bool):
        return 1 if value else 0
    return value


# ------------------------------------------------------------------ validation

def validate_params(params):
    """Checks that need no server; raises InvalidRequest naming the job, the option and what to do."""
    job_id = params.get('id')
    if not job_id or not _CONFIG_ID.match(job_id):
        raise _refuse(job_id, 'id must start with a letter and be at least two letters, digits, - or _', 'id')
    if params.get('state', 'present') == 'absent':
        return
    if params.get('vmids') is not None and params.get('all'):
        raise _refuse(job_id, 'vmids and all: true cannot both be set; choose the guests with one of vmids, '
                              'all: true or pool', 'vmids')
    chosen = [f for f in SELECTION if params.get(f) is not None and params.get(f) is not False]
    if len(chosen) > 1:
        raise _refuse(job_id, '{0} cannot both be set; choose the guests with one of vmids, all: true or pool'.format(
            ' and '.join(chosen)), chosen[0])
    vmids = params.get('vmids')
    if vmids is not None:
        if not vmids:
            raise _refuse(job_id, 'vmids must name at least one guest (or use all: true or pool)', 'vmids')
        bad = [v for v in vmids if not MIN_VMID <= int(v) <= MAX_VMID]
        if bad:
            raise _refuse(job_id, 'vmids {0} out of range; a vmid is {1} to {2}'.format(
                ', '.join(str(b) for b in bad), MIN_VMID, MAX_VMID), 'vmids')
    if params.get('schedule') is not None and not str(params['schedule']).strip():
        raise _refuse(job_id, 'schedule must not be empty (a systemd-like calendar event, e.g. "21:00" or '
                              '"sat 02:30")', 'schedule')
    retention = params.get('retention')
    if retention is not None:
        given = dict((k, v) for k, v in retention.items() if v is not None)
        if not given:
            raise _refuse(job_id, 'retention needs at least one keep_* setting; to remove the retention '
                                  'from the job, list retention in unset', 'retention')
        negative = [k for k, v in given.items() if k != 'keep_all' and int(v) < 0]
        if negative:
            raise _refuse(job_id, 'retention {0} must be 0 or more'.format(', '.join(sorted(negative))), 'retention')
        if given.get('keep_all') and len(given) > 1:
            raise _refuse(job_id, 'retention keep_all: true cannot be combined with other keep_* settings',
                          'retention')
    both = [f for f in (params.get('unset') or []) if params.get(f) is not None]
    if both:
        raise _refuse(job_id, '{0} is both given a value and listed in unset; drop one'.format(
            ', '.join(both)), both[0])
    if params.get('notes_template') is not None and '\n' in params['notes_template']:
        raise _refuse(job_id, 'notes_template must be one line (PVE stores it in jobs.cfg)', 'notes_template')


def desired_from_params(params):
    """The options the user set, normalised; options left None are not compared."""
    return dict((f, NORMALIZE[f](params.get(f))) for f in FIELDS if params.get(f) is not None)


# ------------------------------------------------------------------ planning

class JobPlan:
    """What to do with one job. ``action``: create, update, delete or none."""

    def __init__(self, job_id, action, data=None, delete=None, tracker=None, checks=None):
        self.job_id = job_id
        self.action = action
        self.data = dict(data or {})
        self.delete = list(delete or [])
        self.tracker = tracker or DiffTracker()
        # References the server must confirm before the write: {'storage': name, 'pool': name}.
        self.checks = dict(checks or {})

    @property
    def changed(self):
        return self.action != 'none'

    def reasons(self):
        return self.tracker.reasons()

    def as_dict(self):
        return {'id': self.job_id, 'action': self.action, 'data': dict(self.data), 'delete': list(self.delete),
                'changes': self.reasons()}


def find_job(jobs, job_id):
    return next((j for j in jobs or [] if j.get('id') == job_id), None)


def plan_job(job_id, state, desired, unset, current):
    """Compare the desired options with PVE's job (None when absent) -> JobPlan. Pure.

    desired: {option: normalised value} (only options the user set); unset: option names to remove.
    """
    tracker = DiffTracker()
    have = job_fields(current)
    if state == 'absent':
        if current is None:
            return JobPlan(job_id, 'none', tracker=tracker)
        tracker.add('state', 'present', 'absent')
        for field in FIELDS:
            if have.get(field) is not None:
                tracker.add(field, have[field], None)
        return JobPlan(job_id, 'delete', tracker=tracker)

    if current is None:
        return _plan_create(job_id, desired, tracker)

    data = {}
    for field in FIELDS:
        if field not in desired:
            continue
        tracker.add(field, have.get(field), desired[field])
        if have.get(field) != desired[field]:
            data[PVE_KEYS[field]] = to_pve(field, desired[field])
    _selection_drops(desired, have, tracker)
    if 'all' in desired and desired['all'] is False and have['all'] and \
            not any(desired.get(f) for f in ('vmids', 'pool')):
        raise _refuse(job_id, 'all: false would leave the job without guests; give vmids or pool instead', 'all')
    delete = []
    for field in FIELDS:
        if field in (unset or ()) and have.get(field) is not None:
            tracker.add(field, have[field], None)
            delete.append(PVE_KEYS[field])
    if 'notes-template' in data and 'storage' not in data:
        # PVE takes notes-template only together with storage in the same request.
        if have.get('storage') is None or 'storage' in (unset or ()):
            raise _refuse(job_id, 'notes_template needs a storage; set storage as well', 'notes_template')
        data['storage'] = have['storage']
    checks = _checks(data)
    action = 'update' if (data or delete) else 'none'
    return JobPlan(job_id, action, data=data, delete=delete, tracker=tracker, checks=checks)


def _plan_create(job_id, desired, tracker):
    if not desired.get('schedule'):
        raise _refuse(job_id, 'a new job needs a schedule (a calendar event, e.g. "21:00")', 'schedule')
    if not (desired.get('vmids') or desired.get('all') or desired.get('pool')):
        raise _refuse(job_id, 'a new job needs its guests: give vmids, all: true or pool', 'vmids')
    if desired.get('notes_template') is not None and not desired.get('storage'):
        raise _refuse(job_id, 'notes_template needs a storage; set storage as well', 'notes_template')
    tracker.add('state', 'absent', 'present')
    data = {'id': job_id}
    for field in FIELDS:
        if field in desired:
            tracker.add(field, None, desired[field])
            data[PVE_KEYS[field]] = to_pve(field, desired[field])
    return JobPlan(job_id, 'create', data=data, tracker=tracker, checks=_checks(data))


def _selection_drops(desired, have, tracker):
    """PVE replaces the selection: setting vmid drops all and pool, all drops vmid and pool, pool drops the
    others. Record what goes so that the diff tells the whole story (nothing extra is sent)."""
    new = next((f for f in SELECTION if desired.get(f)), None)
    if new is None or have.get(new) == desired[new]:
        return
    for other in SELECTION:
        if other == new or other in desired:
            continue
        if other == 'all':
            if have['all']:
                tracker.add('all', True, False)
        elif have.get(other) is not None:
            tracker.add(other, have[other], None)


def _checks(data):
    return dict((k, data[k]) for k in ('storage', 'pool') if data.get(k))


def check_storage(job_id, name, storages):
    """The storage must exist (in the ``/storage`` list) and take the ``backup`` content type."""
    entry = next((s for s in storages or [] if s.get('storage') == name), None)
    if entry is None:
        known = sorted(s.get('storage') for s in storages or [] if 'backup' in _content(s))
        raise NotFound("backup job '{0}': storage '{1}' does not exist (or this user cannot see it)".format(
            job_id, name), hint='storages that take backups: {0}'.format(', '.join(known) or 'none'))
    if 'backup' not in _content(entry):
        err = InvalidRequest("backup job '{0}': storage '{1}' does not hold backups (content: {2})".format(
            job_id, name, ','.join(sorted(_content(entry))) or 'none'),
            hint="choose a storage with content 'backup', or add 'backup' to the content of {0}".format(name))
        err.field_errors = {'storage': "no 'backup' content"}
        raise err


def _content(storage):
    return set(c.strip() for c in str(storage.get('content') or '').split(',') if c.strip())


# ------------------------------------------------------------------ apply

def _in_context(err, job_id):
    """Prefix a server error with the job it concerns (keeps its type and details)."""
    return err.with_context("backup job '{0}': ".format(job_id))


def ensure_job(client, params, check_mode=False):
    """Bring the job to the state the options describe. Returns the module result (without exiting)."""
    validate_params(params)
    job_id = params['id']
    state = params.get('state') or 'present'
    try:
        current = find_job(client.get('/cluster/backup'), job_id)
        plan = plan_job(job_id, state, desired_from_params(params), params.get('unset') or [], current)
        if 'storage' in plan.checks:
            check_storage(job_id, plan.checks['storage'], client.get('/storage'))
        if 'pool' in plan.checks:
            try:
                client.get('/pools', params={'poolid': plan.checks['pool']})
            except NotFound:
                raise NotFound("backup job '{0}': pool '{1}' does not exist".format(job_id, plan.checks['pool']),
                               hint='create the pool first, or choose the guests with vmids or all: true')
        job = current
        if plan.changed and not check_mode:
            job = _apply(client, plan)
    except NbsyncError as err:
        raise _in_context(err, job_id)
    result = dict(changed=plan.changed, job=job, action=plan.action, changes=plan.reasons(), plan=plan.as_dict())
    result['diff'] = plan.tracker.diff()
    return result


def _apply(client, plan):
    path = '/cluster/backup/{0}'.format(plan.job_id)
    if plan.action == 'create':
        client.post('/cluster/backup', data=plan.data)
    elif plan.action == 'update':
        data = dict(plan.data)
        if plan.delete:
            data['delete'] = ','.join(plan.delete)
        client.put(path, data=data)
    elif plan.action == 'delete':
        client.delete(path)
        return None
    return find_job(client.get('/cluster/backup'), plan.job_id)

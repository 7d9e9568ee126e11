# -*- coding: utf-8 -*-
# Copyright (c) 2026 nbsync.proxmox contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Proxmox Backup Server sync, verify and prune jobs, and datastore facts (modules pbs_job, pbs_datastore_info).

Two halves:

* pure: the option table (Ansible name -> PBS name, job types, type, default), ``validate()`` (refuses options
  that do not belong to the job type, before any call), ``plan_job()`` (desired vs actual -> one ``JobPlan``
  with field-level reasons and a DiffTracker), ``simulate()`` (the config a plan leaves behind), and
  ``merge_datastores()``. No I/O: unit-tested in tests/unit/plugins/module_utils/test_pbs_jobs.py.
* apply: ``ensure_job()`` and ``datastore_facts()`` make the PbsClient calls.

PBS facts this follows (PBS 3.x sources, mirrored by the lab's fake): jobs live under
``/config/{sync,verify,prune}[/{id}]`` and run with ``POST /admin/{type}/{id}/run`` (a UPID);
a missing job or datastore is HTTP 400 ``no such ...`` (NotFound from the transport); updates are PUT with
a ``delete`` list for the fields to unset and the ``digest`` of the read for optimistic locking.
PBS does not check, when a job is created, that its datastore or remote exists (a sync job with a wrong
remote only fails when it runs), so ``ensure_job`` checks both before it writes.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

from ansible_collections.nbsync.proxmox.plugins.module_utils._diff import DiffTracker
from ansible_collections.nbsync.proxmox.plugins.module_utils._errors import InvalidRequest, NbsyncError, NotFound, PermissionDenied
from ansible_collections.nbsync.proxmox.plugins.module_utils._pve_codecs import as_bool, as_int

JOB_TYPES = ('sync', 'verify', 'prune')
ALL = JOB_TYPES
KEEP_OPTIONS = ('keep_last', 'keep_hourly', 'keep_daily', 'keep_weekly', 'keep_monthly', 'keep_yearly')

# Ansible option -> (PBS property, job types it belongs to, kind). Kinds: str, int, bool, list.
FIELDS = dict([
    ('store', ('store', ALL, 'str')),
    ('namespace', ('ns', ALL, 'str')),
    ('schedule', ('schedule', ALL, 'str')),
    ('comment', ('comment', ALL, 'str')),
    ('max_depth', ('max-depth', ALL, 'int')),
    ('remote', ('remote', ('sync',), 'str')),
    ('remote_store', ('remote-store', ('sync',), 'str')),
    ('remote_namespace', ('remote-ns', ('sync',), 'str')),
    ('remove_vanished', ('remove-vanished', ('sync',), 'bool')),
    ('owner', ('owner', ('sync',), 'str')),
    ('group_filter', ('group-filter', ('sync',), 'list')),
    ('transfer_last', ('transfer-last', ('sync',), 'int')),
    ('ignore_verified', ('ignore-verified', ('verify',), 'bool')),
    ('outdated_after', ('outdated-after', ('verify',), 'int')),
    ('disable', ('disable', ('prune',), 'bool')),
] + [(k, (k.replace('_', '-'), ('prune',), 'int')) for k in KEEP_OPTIONS])
PBS_NAME = dict((opt, spec[0]) for opt, spec in FIELDS.items())
ANSIBLE_NAME = dict((spec[0], opt) for opt, spec in FIELDS.items())

# What PBS assumes when a property is absent: a desired value equal to it is no change.
# (pbs-api-types: REMOVE_VANISHED_BACKUPS_SCHEMA default false, IGNORE_VERIFIED_BACKUPS_SCHEMA default true,
# prune 'disable' default false; an empty namespace is the root namespace; an empty comment is no comment.)
DEFAULTS = {'remove-vanished': False, 'ignore-verified': True, 'disable': False, 'ns': '', 'remote-ns': '',
            'comment': ''}
REQUIRED_ON_CREATE = {'sync': ('store', 'remote_store'), 'verify': ('store',), 'prune': ('store', 'schedule')}
# Properties PBS cannot delete (its update 'delete' enum lacks them).
NOT_DELETABLE = {'sync': ('store', 'remote_store'), 'verify': ('store',), 'prune': ('store', 'schedule')}
WORKER_TYPE = {'sync': 'syncjob', 'verify': 'verificationjob', 'prune': 'prunejob'}


def job_label(job_type, job_id):
    return "{0} job '{1}'".format(job_type, job_id)


def _refuse(label, field_errors, hint):
    return InvalidRequest('{0}: refused before any API call'.format(label), field_errors=field_errors, hint=hint)


def validate(job_type, job_id, options, unset=None, state='present', run_now=False):
    """Refuse, before any call, what cannot be right whatever the server holds.

    options: {ansible option: value or None}; unset: ansible option names to remove.
    Raises InvalidRequest naming the job, each offending option and what to do.
    """
    label = job_label(job_type, job_id)
    if job_type not in JOB_TYPES:
        raise _refuse(label, {'type': 'must be one of ' + ', '.join(JOB_TYPES)}, None)
    errors = {}
    for opt, value in sorted(options.items()):
        if value is None:
            continue
        if opt not in FIELDS:
            errors[opt] = 'is not a job option'
        elif job_type not in FIELDS[opt][1]:
            errors[opt] = 'does not belong to a {0} job (only to {1})'.format(job_type, ' and '.join(FIELDS[opt][1]))
    for opt in unset or ():
        if opt not in FIELDS:
            errors['unset'] = '{0} is not a job option'.format(opt)
        elif job_type not in FIELDS[opt][1]:
            errors['unset'] = '{0} does not belong to a {1} job'.format(opt, job_type)
        elif opt in NOT_DELETABLE[job_type]:
            errors['unset'] = '{0} of a {1} job cannot be removed, only changed'.format(opt, job_type)
        elif options.get(opt) is not None:
            errors[opt] = 'is both set and listed in unset'
    for opt, value in options.items():
        if value == '' and opt in FIELDS and job_type in FIELDS[opt][1] and opt in NOT_DELETABLE[job_type]:
            errors[opt] = 'cannot be empty for a {0} job'.format(job_type)
    if state == 'absent' and run_now:
        errors['run_now'] = 'cannot run a job that state=absent removes'
    if errors:
        raise _refuse(label, errors, 'remove or correct the options named; see ansible-doc nbsync.proxmox.pbs_job')


def normalize(pbs_name, value):
    """One comparable form for a PBS property, from the user's value or the API's (strings, 1/0, lists)."""
    if value is None:
        value = DEFAULTS.get(pbs_name)
        if value is None:
            return None
    kind = FIELDS[ANSIBLE_NAME[pbs_name]][2] if pbs_name in ANSIBLE_NAME else 'str'
    if kind == 'bool':
        return as_bool(value, pbs_name)
    if kind == 'int':
        return as_int(value, pbs_name)
    if kind == 'list':
        items = value if isinstance(value, (list, tuple)) else [value]
        return sorted(str(v) for v in items)
    return str(value).strip() if pbs_name == 'comment' else str(value)


def _shown(pbs_name, value):
    """The before-value of a diff: the normalised actual value, None when PBS holds none."""
    return None if value is None else normalize(pbs_name, value)


def _is_empty(pbs_name, value):
    """An explicit empty string on a text option means 'remove the property'."""
    return value == '' or (isinstance(value, (list, tuple)) and not value)


def to_form(props):
    """PBS properties -> form fields as PBS parses them: bools as true/false, lists as repeated keys."""
    out = {}
    for key, value in props.items():
        if isinstance(value, bool):
            out[key] = 'true' if value else 'false'
        elif isinstance(value, (list, tuple)):
            out[key] = [str(v) for v in value]
        else:
            out[key] = str(value)
    return out


class JobPlan:
    """What to do with one job: action (create|update|delete|none), the PBS body, the diff record, the checks."""

    def __init__(self, job_type, job_id, action, props=None, delete=None, tracker=None, checks=None):
        self.job_type = job_type
        self.job_id = job_id
        self.action = action
        self.props = dict(props or {})
        self.delete = list(delete or [])
        self.tracker = tracker or DiffTracker()
        self.checks = list(checks or [])

    @property
    def label(self):
        return job_label(self.job_type, self.job_id)

    @property
    def changed(self):
        return self.action != 'none'

    def reasons(self):
        return self.tracker.reasons()

    def diff(self):
        return self.tracker.diff()


def plan_job(job_type, job_id, options, unset=None, state='present', actual=None):
    """Compare the options the user set (and ``unset``) with the job PBS holds (``actual``, None if absent).

    Pure. Only options whose value is not None are compared, each after ``normalize`` on both sides, with
    PBS's default standing in for an absent property. An empty string (or empty list) removes a property.
    """
    unset = list(unset or [])
    tracker = DiffTracker()
    wanted = dict((o, v) for o, v in options.items() if v is not None and o in FIELDS)
    if state == 'absent':
        if actual is None:
            return JobPlan(job_type, job_id, 'none', tracker=tracker)
        tracker.add('state', 'present', 'absent')
        return JobPlan(job_type, job_id, 'delete', tracker=tracker)

    if actual is None:
        missing = [o for o in REQUIRED_ON_CREATE[job_type] if _is_empty(PBS_NAME[o], wanted.get(o, ''))]
        if missing:
            raise _refuse(job_label(job_type, job_id),
                          dict((o, 'is required to create a {0} job'.format(job_type)) for o in missing),
                          'give {0}, or use the id of an existing job'.format(' and '.join(missing)))
        tracker.add('state', 'absent', 'present')
        props = {}
        for opt in sorted(wanted):
            name, value = PBS_NAME[opt], wanted[opt]
            if _is_empty(name, value):
                continue   # nothing to remove from a job that does not exist
            props[name] = value
            tracker.add(opt, None, normalize(name, value))
        return JobPlan(job_type, job_id, 'create', props=props, tracker=tracker,
                       checks=_checks(job_type, props, {}))

    props, delete = {}, []
    for opt in sorted(wanted):
        name, value = PBS_NAME[opt], wanted[opt]
        have = normalize(name, actual.get(name))
        if _is_empty(name, value):
            if actual.get(name) is not None and not _is_empty(name, actual.get(name)):
                delete.append(name)
                tracker.add(opt, have, None)
            continue
        want = normalize(name, value)
        if have == want:
            tracker.add(opt, want, want)
        else:   # show an absent property as absent, not as PBS's default
            tracker.add(opt, _shown(name, actual.get(name)), want)
            props[name] = value
    for opt in sorted(set(unset)):
        name = PBS_NAME[opt]
        if actual.get(name) is not None:
            delete.append(name)
            tracker.add(opt, _shown(name, actual.get(name)), None)
    action = 'update' if (props or delete) else 'none'
    return JobPlan(job_type, job_id, action, props=props, delete=delete, tracker=tracker,
                   checks=_checks(job_type, props, actual, delete))


def _checks(job_type, props, actual, delete=()):
    """Objects a write refers to that PBS would not check itself: [('datastore'|'remote', name)]."""
    checks = []
    if 'store' in props:
        checks.append(('datastore', props['store']))
    if job_type == 'sync':
        remote = props.get('remote', None if 'remote' in delete else actual.get('remote'))
        if props.get('remote'):
            checks.append(('remote', props['remote']))
        if not remote and ('remote-store' in props or 'remote' in delete):
            # a local sync job pulls from a datastore of this PBS
            checks.append(('datastore', props.get('remote-store', actual.get('remote-store'))))
    return checks


def simulate(job_type, job_id, plan, actual=None):
    """The job config a plan leaves behind (what check mode reports), in PBS's property names."""
    if plan.action == 'delete':
        return None
    if plan.action == 'create':
        return dict(plan.props, id=job_id)
    after = dict(actual or {})
    for name in plan.delete:
        after.pop(name, None)
    after.update(plan.props)
    return after


# ---------------------------------------------------------------------------------------- datastore facts

def merge_datastores(configs, usage, jobs=None, names=None):
    """Pure: /config/datastore + /status/datastore-usage (+ jobs by type) -> one list, one dict per store.

    Each entry is the datastore's config as PBS returns it (PBS property names), plus ``usage``
    ({total, used, avail} or None when PBS did not report it) and, when ``jobs`` is given, ``jobs``:
    {type: [jobs of that store]}. ``names`` restricts the list; a name PBS did not list raises NotFound.
    """
    by_store = dict((u.get('store'), u) for u in usage or [])
    out = []
    for cfg in sorted(configs or [], key=lambda c: c.get('name', '')):
        name = cfg.get('name')
        if names and name not in names:
            continue
        entry = dict(cfg)
        use = by_store.get(name)
        entry['usage'] = None if use is None else dict((k, use.get(k)) for k in ('total', 'used', 'avail'))
        if jobs is not None:
            entry['jobs'] = dict((t, sorted([j for j in jobs.get(t) or [] if j.get('store') == name],
                                            key=lambda j: j.get('id', ''))) for t in sorted(jobs))
        out.append(entry)
    if names:
        missing = sorted(set(names) - set(e['name'] for e in out))
        if missing:
            raise NotFound("datastore {0} does not exist on the Proxmox Backup Server, or this token cannot see "
                           "it".format(', '.join("'{0}'".format(n) for n in missing)),
                           hint='datastores visible: {0}'.format(
                               ', '.join(sorted(c.get('name', '') for c in configs or [])) or 'none'))
    return out


# ---------------------------------------------------------------------------------------- apply (I/O)

def add_context(err, prefix):
    """Prefix a typed error's message with the object it concerns; keeps its type and details."""
    return err.with_context('{0}: '.format(prefix))


def read_job(client, job_type, job_id):
    """(config or None, digest). A missing job is data, not an error."""
    try:
        return client.transport.get_with_digest('/config/{0}/{1}'.format(job_type, job_id))
    except NotFound:
        return None, None


def check_refs(client, plan):
    """Each datastore or remote the write names must exist: one GET each (a 400 'no such ...' otherwise)."""
    for kind, name in plan.checks:
        path = '/config/{0}/{1}'.format(kind, name)
        try:
            client.get(path)
        except NotFound:
            what = 'remote' if kind == 'remote' else 'datastore'
            opt = {'remote': 'remote'}.get(kind, 'store' if name == plan.props.get('store') else 'remote_store')
            raise NotFound("{0}: {1} '{2}' does not exist on the Proxmox Backup Server".format(plan.label, what, name),
                           status=400, path=path, field_errors={opt: "no such {0} '{1}'".format(what, name)},
                           hint='create it first or correct {0}'.format(opt))
        except PermissionDenied as err:
            if not err.hint:
                err.hint = 'checking that the {0} exists needs {1} on /{0}/{2}'.format(
                    kind, 'Remote.Audit' if kind == 'remote' else 'Datastore.Audit', name)
            raise add_context(err, plan.label)
        except NbsyncError as err:
            raise add_context(err, plan.label)


def apply_plan(client, plan, digest=None):
    """One write for the plan: POST (create), PUT with delete+digest (update) or DELETE.

    A write carrying a digest is not repeated once PBS may have done it (a 502/503/504, a connection broken
    after sending): done, it changed the digest, so the repeat would be refused as a change by someone else.
    Only a refusal before acting (the config lock) or a connection that never opened is repeated.
    """
    base = '/config/{0}'.format(plan.job_type)
    item = '{0}/{1}'.format(base, plan.job_id)
    once = False if digest else None
    try:
        if plan.action == 'create':
            client.post(base, data=to_form(dict(plan.props, id=plan.job_id)))
        elif plan.action == 'update':
            body = to_form(plan.props)
            if plan.delete:
                body['delete'] = list(plan.delete)
            if digest:
                body['digest'] = digest
            client.put(item, data=body, retry_safe=once)
        elif plan.action == 'delete':
            client.delete(item, params={'digest': digest} if digest else None, retry_safe=once)
    except NbsyncError as err:
        raise add_context(err, plan.label)


def run_job(client, job_type, job_id, timeout):
    """POST /admin/{type}/{id}/run and wait for its task; returns (upid, final task status)."""
    label = job_label(job_type, job_id)
    try:
        upid = client.post('/admin/{0}/{1}/run'.format(job_type, job_id))
        status = client.wait_for_task(upid, timeout)
    except NbsyncError as err:
        raise add_context(err, 'running ' + label)
    return upid, status


def ensure_job(client, job_type, job_id, options, unset=None, state='present', run_now=False, timeout=600,
               check_mode=False, want_diff=False):
    """Read, plan, check references, write, optionally run. Returns the module result."""
    validate(job_type, job_id, options, unset, state, run_now)
    actual, digest = read_job(client, job_type, job_id)
    plan = plan_job(job_type, job_id, options, unset, state, actual)
    if plan.changed:
        check_refs(client, plan)
    result = dict(changed=plan.changed, action=plan.action, changes=plan.reasons(),
                  job=simulate(job_type, job_id, plan, actual))
    if want_diff:
        result['diff'] = plan.diff()
    if not check_mode and plan.changed:
        apply_plan(client, plan, digest)
        if plan.action != 'delete':
            result['job'], _digest = read_job(client, job_type, job_id)
    if run_now:
        result['changed'] = True
        result['changes'] = result['changes'] + ['run: job started']
        if not check_mode:
            upid, status = run_job(client, job_type, job_id, timeout)
            result['task'] = dict(upid=upid, exitstatus=status.get('exitstatus'), status=status.get('status'))
    return result


def datastore_facts(client, names=None, job_types=()):
    """One call each: /config/datastore, /status/datastore-usage and /admin/{type} per job type asked for."""
    configs = client.datastores()
    usage = client.get('/status/datastore-usage') or []
    jobs = None
    if job_types:
        jobs = dict((t, client.get('/admin/{0}'.format(t)) or []) for t in job_types)
    return merge_datastores(configs, usage, jobs, names)

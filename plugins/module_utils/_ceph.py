# -*- coding: utf-8 -*-
# Copyright (c) 2026 nbsync.proxmox contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Ceph pools through a Proxmox VE node: the pure planning and the apply step of ``ceph_pool``.

Pure part (no I/O, unit-tested): ``normalize_pool`` reads one entry of ``GET /nodes/{node}/ceph/pool``
into plain values, ``desired_settings`` checks and normalises the user's options, ``storages_using``
finds the PVE storages on a pool, ``plan_pool`` compares desired with actual and returns the actions
with field-level reasons and the DiffTracker that yields ``changed`` and ``--diff``.

Apply part: ``choose_node`` (one ``/nodes`` call), ``read_pools`` (one list call serves every pool),
``apply_plan`` (create/update/delete are tasks; each UPID is waited on) and ``converge``: after a
write the pool is read back and, where Ceph did not end where the user asked (PVE applies ``size``
first, which resets ``min_size``, then skips a ``min_size`` that equalled the value before), one
update in the same run sets what still differs, so a second run finds nothing to change.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import re

from ansible_collections.nbsync.proxmox.plugins.module_utils._diff import DiffTracker
from ansible_collections.nbsync.proxmox.plugins.module_utils._errors import (
    Conflict, InvalidRequest, NotFound, ServerError, Unavailable,
)
from ansible_collections.nbsync.proxmox.plugins.module_utils._pve_codecs import (
    as_int, format_size, parse_size,
)

APPLICATIONS = ('rbd', 'cephfs', 'rgw')
AUTOSCALE_MODES = ('on', 'off', 'warn')
# What the user may set, in the order PVE applies them (size first).
SETTINGS = ('size', 'min_size', 'pg_num', 'pg_num_min', 'pg_autoscale_mode', 'crush_rule', 'application',
            'target_size', 'target_size_ratio')
# PVE's defaults for a new pool (pve-manager API2/Ceph/Pool.pm): what a create without the option gives.
CREATE_DEFAULTS = {'size': 3, 'min_size': 2, 'pg_num': 128, 'pg_autoscale_mode': 'warn', 'application': 'rbd'}
MAX_REPLICAS = 7
MAX_PG_NUM = 32768
_POOL_NAME_RE = re.compile(r'[^:/\s]+\Z')
# PVE storage ids (pve-storage-id), which add_storages uses for the pool's name.
_STORAGE_ID_RE = re.compile(r'[a-z][a-z0-9\-_.]*[a-z0-9]\Z', re.IGNORECASE)


# ====================================================================== pure

class Action:
    """One write: ``kind`` is create, update, delete or add_storage; ``params`` what is sent."""

    def __init__(self, kind, params, reasons):
        self.kind = kind
        self.params = dict(params)
        self.reasons = list(reasons)

    def to_dict(self):
        return {'action': self.kind, 'params': dict(self.params), 'reasons': list(self.reasons)}

    def __repr__(self):
        return 'Action({0!r}, {1!r})'.format(self.kind, self.params)


class Plan:
    def __init__(self, actions, tracker, warnings=()):
        self.actions = list(actions)
        self.tracker = tracker
        self.warnings = list(warnings)

    @property
    def changed(self):
        return bool(self.actions)


def _invalid(name, field, problem, hint=None):
    return InvalidRequest("ceph pool '{0}': {1} {2}".format(name, field, problem), hint=hint,
                          field_errors=None)


def _opt_int(value, field):
    return None if value is None else as_int(value, field)


def _opt_float(value):
    return None if value is None else float(value)


def normalize_pool(entry):
    """One entry of GET /nodes/{node}/ceph/pool -> plain values (ints, bytes, rule by name, applications)."""
    apps = entry.get('application_metadata')
    applications = sorted(apps) if isinstance(apps, dict) else sorted(apps or [])
    return {
        'name': entry.get('pool_name'),
        'id': _opt_int(entry.get('pool'), 'pool'),
        'type': entry.get('type'),
        'size': _opt_int(entry.get('size'), 'size'),
        'min_size': _opt_int(entry.get('min_size'), 'min_size'),
        'pg_num': _opt_int(entry.get('pg_num'), 'pg_num'),
        'pg_num_min': _opt_int(entry.get('pg_num_min'), 'pg_num_min'),
        'pg_num_final': _opt_int(entry.get('pg_num_final'), 'pg_num_final'),
        'pg_autoscale_mode': entry.get('pg_autoscale_mode'),
        'crush_rule': entry.get('crush_rule_name'),
        'applications': applications,
        'target_size': _opt_int(entry.get('target_size'), 'target_size') or None,
        'target_size_ratio': _opt_float(entry.get('target_size_ratio')) or None,
        'bytes_used': _opt_int(entry.get('bytes_used'), 'bytes_used'),
        'percent_used': _opt_float(entry.get('percent_used')),
    }


def storages_using(storages, pool_name):
    """Ids of the PVE storages (GET /storage entries) whose RBD pool or data pool is ``pool_name``.

    A storage with ``monhost`` points at an external Ceph cluster, so its pool is not this cluster's.
    """
    found = []
    for store in storages or []:
        if store.get('type') != 'rbd' or store.get('monhost'):
            continue
        if (store.get('pool') or 'rbd') == pool_name or store.get('data-pool') == pool_name:
            found.append(store.get('storage'))
    return sorted(found)


def _target_size(name, value):
    """'100G' -> bytes; '0' (or 0) -> 0, which clears the target."""
    text = str(value).strip()
    if text in ('0', '0.0'):
        return 0
    try:
        return parse_size(text, 'target_size')
    except ValueError:
        raise _invalid(name, 'target_size', '{0!r} is not a size'.format(value),
                       hint="give a number of bytes or a number with the unit K, M, G or T, like '100G'; 0 clears it")


def _int(name, field, value):
    try:
        return as_int(value, field)
    except ValueError:
        raise _invalid(name, field, '{0!r} is not an integer'.format(value))


def desired_settings(name, params):
    """The options the user set, checked and normalised; raises InvalidRequest naming the pool and field."""
    if not name or not _POOL_NAME_RE.match(name):
        raise InvalidRequest('ceph pool name {0!r} is not valid'.format(name),
                             hint="a pool name may not be empty nor contain ':', '/' or white space")
    want = {}
    for field in ('size', 'min_size'):
        value = params.get(field)
        if value is not None:
            value = _int(name, field, value)
            if not 1 <= value <= MAX_REPLICAS:
                raise _invalid(name, field, '{0} is out of range'.format(value),
                               hint='give 1 to {0} replicas'.format(MAX_REPLICAS))
            want[field] = value
    for field in ('pg_num', 'pg_num_min'):
        value = params.get(field)
        if value is not None:
            value = _int(name, field, value)
            low = 1 if field == 'pg_num' else 0
            if not low <= value <= MAX_PG_NUM:
                raise _invalid(name, field, '{0} is out of range'.format(value),
                               hint='give {0} to {1} (a power of two, like 32 or 128)'.format(low, MAX_PG_NUM))
            want[field] = value
    mode = params.get('pg_autoscale_mode')
    if mode is not None:
        if mode not in AUTOSCALE_MODES:
            raise _invalid(name, 'pg_autoscale_mode', '{0!r} is not valid'.format(mode),
                           hint='give one of {0}'.format(', '.join(AUTOSCALE_MODES)))
        want['pg_autoscale_mode'] = mode
    app = params.get('application')
    if app is not None:
        if app not in APPLICATIONS:
            raise _invalid(name, 'application', '{0!r} is not valid'.format(app),
                           hint='give one of {0}'.format(', '.join(APPLICATIONS)))
        want['application'] = app
    rule = params.get('crush_rule')
    if rule is not None:
        if not str(rule).strip():
            raise _invalid(name, 'crush_rule', 'is empty', hint='give the name of a CRUSH rule, like replicated_rule')
        want['crush_rule'] = str(rule).strip()
    if params.get('target_size') is not None:
        want['target_size'] = _target_size(name, params['target_size'])
    ratio = params.get('target_size_ratio')
    if ratio is not None:
        try:
            ratio = float(ratio)
        except (TypeError, ValueError):
            raise _invalid(name, 'target_size_ratio', '{0!r} is not a number'.format(ratio))
        if ratio < 0:
            raise _invalid(name, 'target_size_ratio', '{0} is negative'.format(ratio), hint='give 0 or more')
        want['target_size_ratio'] = ratio
    if want.get('target_size') and want.get('target_size_ratio'):
        raise _invalid(name, 'target_size', 'and target_size_ratio are both set',
                       hint='Ceph uses one of them; give one, and 0 for the other to clear it')
    return want


def _have(field, actual):
    """The actual value of ``field`` as the user's option would spell it (None: unset or no pool)."""
    if actual is None:
        return None
    if field in ('target_size', 'target_size_ratio'):
        return actual.get(field) or 0
    return actual.get(field)


def _check_relations(name, want, actual):
    """Checks that need both sides: min_size <= size, pg_num_min <= pg_num, one application per pool."""
    base = actual or CREATE_DEFAULTS
    if 'min_size' in want:
        size = want.get('size', base.get('size'))
        if size is not None and want['min_size'] > size:
            source = 'the size you gave' if 'size' in want else (
                "the pool's size" if actual else "PVE's default size")
            raise _invalid(name, 'min_size', '{0} is greater than size {1} ({2})'.format(want['min_size'], size, source),
                           hint='give min_size <= size (usually size - 1)')
    if want.get('pg_num_min'):
        pg_num = want.get('pg_num', base.get('pg_num'))
        if pg_num is not None and want['pg_num_min'] > pg_num:
            raise _invalid(name, 'pg_num_min', '{0} is greater than pg_num {1}'.format(want['pg_num_min'], pg_num),
                           hint='give pg_num_min <= pg_num')
    if actual is not None and 'application' in want:
        apps = actual.get('applications') or []
        if apps and want['application'] not in apps:
            raise _invalid(name, 'application', 'cannot change from {0} to {1}'.format(
                ', '.join(apps), want['application']),
                hint='Ceph allows one application per pool here; create a new pool for {0}'.format(want['application']))


def _warnings(name, want, actual):
    out = []
    pg_num = want.get('pg_num')
    if pg_num is not None and pg_num & (pg_num - 1):
        out.append("ceph pool '{0}': pg_num {1} is not a power of two; Ceph reports "
                   "POOL_PG_NUM_NOT_POWER_OF_TWO".format(name, pg_num))
    mode = want.get('pg_autoscale_mode', (actual or CREATE_DEFAULTS).get('pg_autoscale_mode'))
    if pg_num is not None and mode == 'on':
        out.append("ceph pool '{0}': pg_autoscale_mode is on, so the autoscaler may change pg_num {1} "
                   "again; set pg_autoscale_mode to warn or off to keep it".format(name, pg_num))
    return out


def api_value(field, value):
    """A normalised setting as the PVE API takes it."""
    if field == 'target_size':
        return format_size(value) if value else '0'
    return value


def _storage_check(name, storages, want_storage):
    """With add_storages: whether the storage named like the pool must be added; Conflict if the id is taken."""
    if not want_storage:
        return False
    if not _STORAGE_ID_RE.match(name):
        raise _invalid(name, 'name', 'cannot name a PVE storage (add_storages)',
                       hint='use letters, digits, - _ . starting with a letter, or set add_storages=false')
    same = [s for s in storages or [] if s.get('storage') == name]
    if not same:
        return True
    store = same[0]
    if store.get('type') == 'rbd' and not store.get('monhost') and (store.get('pool') or 'rbd') == name:
        return False
    raise Conflict("ceph pool '{0}': add_storages needs the storage id '{0}', but storage '{0}' exists "
                   "(type {1}, pool {2})".format(name, store.get('type'), store.get('pool', '-')),
                   hint='remove or rename that storage, or set add_storages=false')


def plan_pool(name, state, want, actual, storages=(), add_storages=False, force=False):
    """Compare the wanted settings with the pool (None: absent) -> Plan. No I/O.

    want: ``desired_settings`` output (only options the user set). storages: GET /storage entries.
    Raises InvalidRequest or Conflict before anything is written.
    """
    tracker = DiffTracker()
    if state == 'absent':
        if actual is None:
            return Plan([], tracker)
        used = storages_using(storages, name)
        if used and not force:
            raise Conflict("ceph pool '{0}' is used by storage {1}; not deleting it".format(
                name, ', '.join("'{0}'".format(s) for s in used)),
                hint='set force=true to delete the pool and remove those storage entries, '
                     'or remove the storages first')
        tracker.add('state', 'present', 'absent')
        if used:
            tracker.add('storages', used, [])
        params = {'force': 1, 'remove_storages': 1} if (force and used) else {}
        return Plan([Action('delete', params, tracker.reasons())], tracker)

    _check_relations(name, want, actual)
    warnings = _warnings(name, want, actual)
    need_storage = _storage_check(name, storages, add_storages)
    actions = []
    if actual is None:
        tracker.add('state', 'absent', 'present')
        for field in SETTINGS:
            if field in want:
                tracker.add(field, None, want[field])
        params = dict((f, api_value(f, want[f])) for f in SETTINGS if f in want)
        if need_storage:
            params['add_storages'] = 1
            tracker.add('storage', None, name)
        actions.append(Action('create', params, tracker.reasons()))
        return Plan(actions, tracker, warnings)

    update = {}
    for field in SETTINGS:
        if field not in want:
            continue
        have = _have(field, actual)
        if field == 'application':
            have = want[field] if want[field] in (actual.get('applications') or []) else None
        tracker.add(field, have, want[field])
        if have != want[field]:
            update[field] = api_value(field, want[field])
    if update:
        actions.append(Action('update', update, tracker.reasons()))
    if need_storage:
        tracker.add('storage', None, name)
        actions.append(Action('add_storage', {'type': 'rbd', 'storage': name, 'pool': name,
                                              'content': 'images,rootdir', 'krbd': 0},
                              ['storage: (unset) -> {0}'.format(name)]))
    return Plan(actions, tracker, warnings)


def remaining(name, want, actual):
    """After a write: the settings that still differ from what the user asked, as API params."""
    out = {}
    for field in SETTINGS:
        if field not in want:
            continue
        if field == 'application':
            if want[field] not in (actual.get('applications') or []):
                out[field] = want[field]
        elif _have(field, actual) != want[field]:
            out[field] = api_value(field, want[field])
    return out


def pick_node(nodes, node=None):
    """The node to speak through, from one GET /nodes answer: the given one (must exist and be online)
    or, when None, the first online node by name."""
    online = sorted(n.get('node') for n in nodes or [] if n.get('status') == 'online')
    if node is None:
        if not online:
            raise Unavailable('no node of the cluster is online', hint='bring a node back, then run again')
        return online[0]
    for entry in nodes or []:
        if entry.get('node') == node:
            if entry.get('status') != 'online':
                raise Unavailable('node {0} is {1}'.format(node, entry.get('status') or 'offline'),
                                  hint='choose an online node ({0}) or omit node to use the first online one'.format(
                                      ', '.join(online) or 'none is online'))
            return node
    raise NotFound('the cluster has no node {0!r}'.format(node),
                   hint='give one of: {0}'.format(', '.join(sorted(n.get('node', '') for n in nodes or []))))


# ===================================================================== apply

def pool_path(node, name=None):
    base = '/nodes/{0}/ceph/pool'.format(node)
    return base if name is None else '{0}/{1}'.format(base, name)


def choose_node(client, node=None):
    return pick_node(client.nodes(), node)


def read_pools(client, node):
    """Every pool, normalised, from one list call: {name: pool}."""
    return dict((p['name'], p) for p in (normalize_pool(e) for e in client.get(pool_path(node)) or []))


def read_rules(client, node):
    """The cluster's CRUSH rule names (one call; needs Sys.Audit on /)."""
    return [r.get('name') for r in client.get('/nodes/{0}/ceph/rules'.format(node)) or []]


def check_crush_rule(name, rule, rules):
    """Refuse a CRUSH rule the cluster does not have, before anything is written (pure)."""
    if rule not in rules:
        raise _invalid(name, 'crush_rule', "'{0}' is not a CRUSH rule of this cluster".format(rule),
                       hint='use one of: {0} (or create the rule first: ceph osd crush rule create-replicated)'
                       .format(', '.join(rules) or 'none'))


def read_storages(client):
    return client.get('/storage') or []


def with_storages(pool, storages):
    if pool is None:
        return None
    return dict(pool, storages=storages_using(storages, pool['name']))


def _wait(client, upid, timeout):
    if upid:
        client.wait_for_task(upid, timeout)


def apply_plan(client, node, name, plan, timeout):
    for action in plan.actions:
        if action.kind == 'create':
            _wait(client, client.post(pool_path(node), data=dict(action.params, name=name)), timeout)
        elif action.kind == 'update':
            _wait(client, client.put(pool_path(node, name), data=action.params), timeout)
        elif action.kind == 'delete':
            _wait(client, client.delete(pool_path(node, name), params=action.params or None), timeout)
        elif action.kind == 'add_storage':
            client.post('/storage', data=action.params)
        else:
            raise ValueError('unknown action {0!r}'.format(action.kind))


def converge(client, node, name, want, timeout):
    """Read the pool back after a write; one update sets what Ceph left different.

    Returns (pool, the follow-up Action or None).
    """
    pool = read_pools(client, node).get(name)
    if pool is None:
        raise ServerError("ceph pool '{0}' is missing after it was written".format(name), path=pool_path(node, name))
    left = remaining(name, want, pool)
    if not left:
        return pool, None
    follow_up = Action('update', left, ['{0}: {1} -> {2} (read back after the write)'.format(
        f, _show(_have(f, pool)), want[f]) for f in SETTINGS if f in left])
    _wait(client, client.put(pool_path(node, name), data=left), timeout)
    pool = read_pools(client, node).get(name) or {}
    still = remaining(name, want, pool)
    if still:
        raise ServerError("ceph pool '{0}' does not hold what was asked: {1}".format(name, ', '.join(
            '{0} is {1}, not {2}'.format(f, _show(_have(f, pool)), want[f]) for f in SETTINGS if f in still)),
            path=pool_path(node, name), hint='look at the cephsetpool task log on node {0}'.format(node))
    return pool, follow_up


def _show(value):
    return '(unset)' if value is None else value


def run_pool(client, params, check_mode=False):
    """The whole of ``ceph_pool``: returns the module result (changed, pool, actions, changes, diff, warnings)."""
    name = params['name']
    state = params.get('state') or 'present'
    want = desired_settings(name, params) if state == 'present' else {}
    timeout = params.get('timeout') or client.task_timeout
    node = choose_node(client, params.get('node'))
    actual = read_pools(client, node).get(name)
    rule = want.get('crush_rule')
    if rule is not None and (actual is None or actual.get('crush_rule') != rule):
        check_crush_rule(name, rule, read_rules(client, node))  # in check mode too: it is what a run would meet
    storages = read_storages(client) if (actual is not None or params.get('add_storages')) else []
    plan = plan_pool(name, state, want, actual, storages, add_storages=bool(params.get('add_storages')),
                     force=bool(params.get('force')))
    result = {'changed': plan.changed, 'node': node, 'actions': [a.to_dict() for a in plan.actions],
              'changes': plan.tracker.reasons(), 'diff': plan.tracker.diff(), 'warnings': plan.warnings}
    if check_mode or not plan.changed:
        result['pool'] = with_storages(actual, storages)
        return result
    apply_plan(client, node, name, plan, timeout)
    if state == 'absent':
        result['pool'] = None
        return result
    pool, follow_up = converge(client, node, name, want, timeout)
    if follow_up is not None:
        result['actions'].append(follow_up.to_dict())
    result['pool'] = with_storages(pool, read_storages(client))
    return result


def run_info(client, params):
    """The whole of ``ceph_pool_info``: every pool (or the named one) with the storages on it."""
    node = choose_node(client, params.get('node'))
    pools = read_pools(client, node)
    storages = read_storages(client)
    name = params.get('name')
    chosen = [pools[name]] if name in pools else [] if name else [pools[k] for k in pools]
    return {'changed': False, 'node': node, 'pools': [with_storages(p, storages) for p in chosen]}

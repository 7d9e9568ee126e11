# Copyright (c) 2026 nbsync.proxmox contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import (absolute_import, division, print_function)  # noqa: UP010

__metaclass__ = type  # noqa: UP001

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ansible_collections.nbsync.proxmox.plugins.module_utils._errors import (
    InvalidRequest,
    Locked,
    NotFound,
    PermissionDenied,
    TaskFailed,
    Unavailable,
)
from ansible_collections.nbsync.proxmox.plugins.module_utils._snapshot import (
    SnapshotRunner,
    lock_of,
    normalize_snapshots,
    plan,
    retention_victims,
    snapname_problem,
    validate_for_guest,
    validate_params,
)


def snap(name, t, description='', **extra):
    return dict(dict(name=name, snaptime=t, description=description), **extra)


def params(**kw):
    base = dict(state='present', snapname=None, description=None, vmstate=False, retention=None,
                start_after_rollback=False, timeout=300)
    base.update(kw)
    return base


# ----------------------------------------------------------------------- names

@pytest.mark.parametrize('name', ['ab', 'before-upgrade', 'auto_2026-01-01', 'A1', 'x' * 40, 'vzdump', 'Pending'])
def test_valid_names(name):
    assert snapname_problem(name) is None


@pytest.mark.parametrize('name, words', [
    ('', 'empty'), ('a', 'at least two'), ('1abc', 'start with a letter'), ('-ab', 'start with a letter'),
    ('has space', 'pve-configid'), ('dot.ted', 'pve-configid'), ('x' * 41, 'at most 40'),
    ('current', 'reserved'),
])
def test_invalid_names(name, words):
    assert words in snapname_problem(name)


def test_reserved_per_type():
    assert 'QEMU' in snapname_problem('PENDING', 'qemu')
    assert snapname_problem('pending', 'lxc') is None
    assert 'LXC' in snapname_problem('vzdump', 'lxc')
    assert snapname_problem('vzdump', 'qemu') is None


@given(st.from_regex(r'\A[A-Za-z][A-Za-z0-9_-]{1,39}\Z'))
def test_every_configid_up_to_40_is_accepted(name):
    if name == 'current':
        return
    assert snapname_problem(name) is None


# ----------------------------------------------------------------------- option checks

def test_invalid_name_fails_before_any_read():
    with pytest.raises(InvalidRequest) as err:
        validate_params(params(snapname='bad name'))
    assert 'snapname' in err.value.field_errors
    assert 'bad name' in str(err.value) and 'nothing was changed' in str(err.value)


@pytest.mark.parametrize('kw, field', [
    (dict(state='absent'), 'snapname'),
    (dict(state='rollback'), 'snapname'),
    (dict(state='present'), 'snapname'),
    (dict(state='absent', snapname='ab', retention=dict(prefix='a', keep=1)), 'retention'),
    (dict(snapname='auto-1', retention=dict(prefix='auto-', keep=0)), 'retention.keep'),
    (dict(retention=dict(prefix='auto-', keep=-1)), 'retention.keep'),
    (dict(retention=dict(prefix='', keep=1)), 'retention.prefix'),
    (dict(snapname='ab', start_after_rollback=True), 'start_after_rollback'),
    (dict(snapname='ab', timeout=0), 'timeout'),
])
def test_option_errors(kw, field):
    with pytest.raises(InvalidRequest) as err:
        validate_params(params(**kw))
    assert field in err.value.field_errors


def test_prune_only_and_keep_zero_without_own_snapshot_are_fine():
    validate_params(params(retention=dict(prefix='auto-', keep=0)))
    validate_params(params(snapname='manual', retention=dict(prefix='auto-', keep=0)))


def test_vmstate_is_qemu_only():
    ct = dict(vmid=201, type='lxc', node='pve1', name='c1')
    with pytest.raises(InvalidRequest) as err:
        validate_for_guest(params(snapname='ab', vmstate=True), ct)
    assert 'vmstate' in err.value.field_errors and '201' in str(err.value)
    validate_for_guest(params(snapname='ab', vmstate=True), dict(ct, type='qemu'))


# ----------------------------------------------------------------------- normalising

def test_normalize_drops_current_and_types_values():
    raw = [
        {'name': 'current', 'description': 'You are here!', 'parent': 'b', 'digest': 'x', 'running': 1},
        {'name': 'b', 'snaptime': '200', 'description': 'two\n', 'vmstate': 1, 'parent': 'a'},
        {'name': 'a', 'snaptime': 100, 'description': ''},
    ]
    snaps, parent = normalize_snapshots(raw, 'qemu')
    assert parent == 'b'
    assert [s['name'] for s in snaps] == ['a', 'b']
    assert snaps[1] == {'name': 'b', 'snaptime': 200, 'description': 'two', 'vmstate': True, 'parent': 'a'}
    assert snaps[0]['vmstate'] is False
    ct = normalize_snapshots(raw, 'lxc')[0]
    assert 'vmstate' not in ct[0]


def test_normalize_empty():
    assert normalize_snapshots([{'name': 'current', 'description': 'You are here!'}], 'qemu') == ([], None)


# ----------------------------------------------------------------------- planning

EXISTING = [snap('auto-1', 100), snap('manual', 150, 'keep me'), snap('auto-2', 200), snap('auto-3', 300)]


def test_create_missing():
    actions, tracker = plan(params(snapname='new', description='d', vmstate=True), EXISTING)
    assert [(a['action'], a['snapname']) for a in actions] == [('create', 'new')]
    assert actions[0]['params'] == {'description': 'd', 'vmstate': 1}
    assert tracker.changed
    assert tracker.diff()['after']['snapshots']['new'] == 'd'
    assert 'new' not in tracker.diff()['before']['snapshots']


def test_vmstate_not_sent_for_lxc():
    actions = plan(params(snapname='new', vmstate=True), [], kind='lxc')[0]
    assert actions[0]['params'] == {}


def test_existing_is_unchanged_and_vmstate_ignored():
    actions, tracker = plan(params(snapname='manual', vmstate=True), EXISTING)
    assert actions == [] and not tracker.changed


def test_same_description_with_pve_newline_is_unchanged():
    snaps = normalize_snapshots([{'name': 'manual', 'snaptime': 1, 'description': 'keep me\n'}], 'qemu')[0]
    actions, tracker = plan(params(snapname='manual', description='keep me'), snaps)
    assert actions == [] and not tracker.changed


def test_different_description_is_updated():
    actions, tracker = plan(params(snapname='manual', description='other'), EXISTING)
    assert [(a['action'], a['params']) for a in actions] == [('update', {'description': 'other'})]
    assert "'keep me' -> 'other'" in actions[0]['reason']
    assert tracker.diff() == {'before': {'snapshots': {'auto-1': '', 'manual': 'keep me', 'auto-2': '', 'auto-3': ''}},
                              'after': {'snapshots': {'auto-1': '', 'manual': 'other', 'auto-2': '', 'auto-3': ''}}}


def test_retention_with_create_removes_oldest_matching_only():
    actions, tracker = plan(params(snapname='auto-4', retention=dict(prefix='auto-', keep=2)), EXISTING)
    assert [(a['action'], a['snapname']) for a in actions] == [
        ('create', 'auto-4'), ('delete', 'auto-1'), ('delete', 'auto-2')]
    assert 'newest 2' in actions[1]['reason']
    after = tracker.diff()['after']['snapshots']
    assert sorted(after) == ['auto-3', 'auto-4', 'manual']


def test_retention_prune_only():
    actions = plan(params(retention=dict(prefix='auto-', keep=1)), EXISTING)[0]
    assert [a['snapname'] for a in actions] == ['auto-1', 'auto-2']
    assert all(a['action'] == 'delete' for a in actions)


def test_retention_newest_by_snaptime_not_by_name():
    snaps = [snap('auto-z', 100), snap('auto-a', 300), snap('auto-m', 200)]
    assert retention_victims(snaps, 'auto-', 1) == ['auto-z', 'auto-m']


def test_retention_never_removes_the_named_snapshot_even_if_older():
    snaps = [snap('auto-a', 100), snap('auto-b', 200), snap('auto-c', 300)]
    assert retention_victims(snaps, 'auto-', 2, protect='auto-a') == ['auto-b']
    actions, tracker = plan(params(snapname='auto-a', retention=dict(prefix='auto-', keep=2)), snaps)
    assert [(a['action'], a['snapname']) for a in actions] == [('delete', 'auto-b')]


def test_retention_with_existing_snapname_does_not_double_count():
    assert retention_victims(EXISTING, 'auto-', 3) == []
    actions, tracker = plan(params(snapname='auto-3', retention=dict(prefix='auto-', keep=3)), EXISTING)
    assert actions == [] and not tracker.changed


def test_retention_keep_zero_prunes_all_matching():
    actions = plan(params(snapname='manual', retention=dict(prefix='auto-', keep=0)), EXISTING)[0]
    assert [a['snapname'] for a in actions] == ['auto-1', 'auto-2', 'auto-3']


names = st.from_regex(r'\A(auto-|x)[a-z0-9]{1,6}\Z')


@given(st.lists(st.tuples(names, st.integers(0, 10 ** 6)), unique_by=lambda t: t[0], max_size=12),
       st.integers(0, 6), st.one_of(st.none(), names))
def test_retention_plan_applied_then_planned_again_is_empty(items, keep, creating):
    snaps = [snap(n, t) for n, t in items]
    if creating is not None and creating.startswith('auto-') and keep == 0:
        keep = 1
    p = params(snapname=creating, retention=dict(prefix='auto-', keep=keep))
    actions = plan(p, snaps)[0]
    # apply the plan in memory: create gets the newest time, deletes remove
    after = [s for s in snaps if s['name'] not in {a['snapname'] for a in actions if a['action'] == 'delete'}]
    after += [snap(a['snapname'], 10 ** 7) for a in actions if a['action'] == 'create']
    kept = [s for s in after if s['name'].startswith('auto-')]
    matching = [s for s in snaps if s['name'].startswith('auto-')]
    assert len(kept) == min(keep, len(matching) + (1 if creating and creating.startswith('auto-')
                                                   and creating not in [s['name'] for s in snaps] else 0))
    # the newest are the ones kept (the named one aside), non-matching are untouched, the named one survives
    assert {s['name'] for s in after if not s['name'].startswith('auto-')} >= \
        {s['name'] for s in snaps if not s['name'].startswith('auto-')}
    if creating:
        assert creating in [s['name'] for s in after]
    dropped = [s for s in snaps if s not in after]
    others = [s for s in kept if s['name'] != creating]
    if others and dropped:
        assert max(s['snaptime'] for s in dropped) <= min(s['snaptime'] for s in others)
    again, tracker = plan(p, after)
    assert again == [] and not tracker.changed


def test_absent():
    actions, tracker = plan(params(state='absent', snapname='manual'), EXISTING)
    assert [(a['action'], a['snapname']) for a in actions] == [('delete', 'manual')]
    assert 'manual' in tracker.diff()['before']['snapshots'] and 'manual' not in tracker.diff()['after']['snapshots']
    again, tracker = plan(params(state='absent', snapname='gone'), EXISTING)
    assert again == [] and not tracker.changed


def test_rollback_is_always_a_change():
    actions, tracker = plan(params(state='rollback', snapname='auto-3'), EXISTING, current_parent='auto-3')
    assert [(a['action'], a['params']) for a in actions] == [('rollback', {})]
    assert tracker.changed
    assert tracker.diff() == {'before': {'rollback': None}, 'after': {'rollback': 'auto-3'}}


def test_rollback_with_start_diff():
    actions, tracker = plan(params(state='rollback', snapname='auto-1', start_after_rollback=True), EXISTING,
                            current_parent='auto-3', status='stopped')
    assert actions[0]['params'] == {'start': 1}
    assert tracker.diff()['after'] == {'rollback': 'auto-1', 'parent': 'auto-1', 'status': 'running'}


def test_rollback_to_missing_snapshot_names_it_and_the_alternatives():
    with pytest.raises(NotFound) as err:
        plan(params(state='rollback', snapname='nope'), EXISTING, label='guest 100 (web) on pve1')
    text = str(err.value)
    assert "guest 100 (web) on pve1 has no snapshot 'nope'" in text and 'auto-1, auto-2' in text


def test_rollback_to_incomplete_snapshot():
    with pytest.raises(InvalidRequest, match='incomplete'):
        plan(params(state='rollback', snapname='half'), [snap('half', 1, snapstate='prepare')])


def test_unknown_state_is_refused():
    with pytest.raises(InvalidRequest, match='state must be one of present, absent, rollback'):
        plan(params(state='list', snapname='whatever'), EXISTING)


# ----------------------------------------------------------------------- apply with a fake client

class FakeClient:
    def __init__(self, outcomes, guests=None):
        self.outcomes = list(outcomes)   # per request: a UPID, or an exception
        self.requests = []
        self.waits = []
        self._guests = guests or []

    def _next(self, *req):
        self.requests.append(req)
        out = self.outcomes.pop(0)
        if isinstance(out, Exception):
            raise out
        return out

    def post(self, path, data=None):
        return self._next('POST', path, data)

    def delete(self, path):
        return self._next('DELETE', path, None)

    def put(self, path, data=None):
        return self._next('PUT', path, data)

    def wait_for_task(self, upid, timeout=None, node=None):
        self.waits.append((upid, timeout))
        if upid == 'UPID:pve1:locked':
            raise TaskFailed('task failed', exitstatus='VM is locked (backup)')
        if upid == 'UPID:pve1:broken':
            raise TaskFailed('task failed', exitstatus='storage error')
        return {'status': 'stopped', 'exitstatus': 'OK'}

    def find_guest(self, vmid=None, name=None):
        return next((g for g in self._guests if g['vmid'] == vmid or (name and g.get('name') == name)), None)


class Clock:
    def __init__(self):
        self.now = 0.0
        self.sleeps = []

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        assert seconds >= 0
        self.sleeps.append(seconds)
        self.now += seconds


GUEST = dict(vmid=100, node='pve1', type='qemu', name='web', status='running')
CREATE = dict(action='create', snapname='s1', reason='', params={'description': 'd'})


def test_apply_posts_and_waits():
    client = FakeClient(['UPID:pve1:ok'])
    clock = Clock()
    SnapshotRunner(client, timeout=60, clock=clock, sleep=clock.sleep).apply(GUEST, [CREATE])
    assert client.requests == [('POST', '/nodes/pve1/qemu/100/snapshot', {'description': 'd', 'snapname': 's1'})]
    assert client.waits == [('UPID:pve1:ok', 60)]


def test_apply_paths_for_delete_update_rollback():
    client = FakeClient(['UPID:pve1:a', None, 'UPID:pve1:c'])
    removed = SnapshotRunner(client).apply(dict(GUEST, type='lxc'), [
        dict(action='delete', snapname='old', reason='', params={}),
        dict(action='update', snapname='s1', reason='', params={'description': 'x'}),
        dict(action='rollback', snapname='s1', reason='', params={'start': 1})])
    assert removed == ['old']
    assert [r[:2] for r in client.requests] == [('DELETE', '/nodes/pve1/lxc/100/snapshot/old'),
                                                ('PUT', '/nodes/pve1/lxc/100/snapshot/s1/config'),
                                                ('POST', '/nodes/pve1/lxc/100/snapshot/s1/rollback')]
    assert client.requests[2][2] == {'start': 1}
    assert len(client.waits) == 2   # the PUT has no task


def test_lock_is_retried_until_free():
    clock = Clock()
    client = FakeClient(['UPID:pve1:locked', Locked('locked', lock='snapshot'), 'UPID:pve1:ok'])
    SnapshotRunner(client, timeout=30, clock=clock, sleep=clock.sleep).apply(GUEST, [CREATE])
    assert len(client.requests) == 3
    assert len(clock.sleeps) == 2 and clock.sleeps[1] > clock.sleeps[0]
    assert client.waits[-1][1] == pytest.approx(30 - sum(clock.sleeps))


def test_lock_retry_stops_at_the_deadline_and_names_the_lock():
    clock = Clock()
    client = FakeClient(['UPID:pve1:locked'] * 100)
    with pytest.raises(Locked) as err:
        SnapshotRunner(client, timeout=20, clock=clock, sleep=clock.sleep).apply(GUEST, [CREATE])
    assert clock.now <= 20 - 1.0 + 1e-9          # never past the deadline, a window kept for the last task
    assert '(backup)' in str(err.value) and 'qm unlock 100' in str(err.value)
    assert err.value.lock == 'backup'
    assert 3 < len(client.requests) < 15          # backoff, not a busy loop


def test_other_task_failures_are_not_retried():
    client = FakeClient(['UPID:pve1:broken', 'UPID:pve1:ok'])
    with pytest.raises(TaskFailed):
        SnapshotRunner(client).apply(GUEST, [CREATE])
    assert len(client.requests) == 1
    client = FakeClient([PermissionDenied('no', acl_path='/vms/100', privilege='VM.Snapshot')])
    with pytest.raises(PermissionDenied):
        SnapshotRunner(client).apply(GUEST, [CREATE])


def test_lock_of():
    assert lock_of(TaskFailed('x', exitstatus='CT is locked (snapshot-delete)')) == 'snapshot-delete'
    assert lock_of(Locked('x')) == 'config'
    assert lock_of(TaskFailed('x', exitstatus='storage full')) is None


def test_resolve_errors():
    guests = [dict(GUEST, vmid=300, node='pve2', status='unknown'), dict(GUEST, vmid=9000, name='tpl', template=1)]
    runner = SnapshotRunner(FakeClient([], guests=guests))
    with pytest.raises(NotFound, match='vmid 123'):
        runner.resolve(vmid=123)
    with pytest.raises(NotFound, match="name 'ghost'"):
        runner.resolve(name='ghost')
    with pytest.raises(Unavailable, match='node pve2'):
        runner.resolve(vmid=300)
    with pytest.raises(InvalidRequest, match='template'):
        runner.resolve(vmid=9000)

# Copyright (c) 2026 nbsync.proxmox contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import (absolute_import, division, print_function)  # noqa: UP010

__metaclass__ = type  # noqa: UP001

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ansible_collections.nbsync.proxmox.plugins.module_utils import _ceph
from ansible_collections.nbsync.proxmox.plugins.module_utils._ceph import (
    desired_settings, normalize_pool, pick_node, plan_pool, remaining, storages_using,
)
from ansible_collections.nbsync.proxmox.plugins.module_utils._errors import (
    Conflict, InvalidRequest, NotFound, ServerError, Unavailable,
)

GIB = 1024 ** 3

# One entry of GET /nodes/{node}/ceph/pool as PVE 9 returns it.
RBD_ENTRY = {
    'pool': 2, 'pool_name': 'rbd', 'size': 3, 'min_size': 2, 'pg_num': 32, 'crush_rule': 0,
    'crush_rule_name': 'replicated_rule', 'pg_autoscale_mode': 'on', 'application_metadata': {'rbd': {}},
    'autoscale_status': {'pool_name': 'rbd'}, 'pg_num_final': 32, 'pg_num_min': None, 'target_size': None,
    'target_size_ratio': None, 'bytes_used': 10741612544, 'percent_used': 0.003, 'type': 'replicated',
}
STORAGES = [
    {'storage': 'ceph-rbd', 'type': 'rbd', 'pool': 'rbd', 'content': 'images'},
    {'storage': 'local', 'type': 'dir', 'path': '/var/lib/vz'},
    {'storage': 'ext', 'type': 'rbd', 'pool': 'rbd', 'monhost': '10.0.0.1'},
    {'storage': 'defaultpool', 'type': 'rbd'},
    {'storage': 'ec', 'type': 'rbd', 'pool': 'ec-meta', 'data-pool': 'ecdata'},
]


def pool(**over):
    return dict(normalize_pool(RBD_ENTRY), **over)


# ------------------------------------------------------------------ normalize

def test_normalize_pool_reads_the_list_entry():
    got = normalize_pool(dict(RBD_ENTRY, size='3', target_size=100 * GIB, target_size_ratio=0.0))
    assert got['name'] == 'rbd' and got['id'] == 2
    assert got['size'] == 3 and got['min_size'] == 2 and got['pg_num'] == 32
    assert got['crush_rule'] == 'replicated_rule'
    assert got['applications'] == ['rbd']
    assert got['target_size'] == 100 * GIB
    assert got['target_size_ratio'] is None   # 0 means unset


def test_storages_using_skips_external_clusters_and_knows_the_default_pool():
    assert storages_using(STORAGES, 'rbd') == ['ceph-rbd', 'defaultpool']
    assert storages_using(STORAGES, 'ecdata') == ['ec']
    assert storages_using(STORAGES, 'nothing') == []


# ------------------------------------------------------------------ desired

def test_desired_keeps_only_set_options_and_normalises():
    want = desired_settings('p', {'size': '2', 'min_size': None, 'target_size': '100G', 'application': 'rbd'})
    assert want == {'size': 2, 'target_size': 100 * GIB, 'application': 'rbd'}


def test_target_size_zero_clears():
    assert desired_settings('p', {'target_size': '0'}) == {'target_size': 0}


@pytest.mark.parametrize('params, field', [
    ({'pg_num': 0}, 'pg_num'),
    ({'pg_num': 65536}, 'pg_num'),
    ({'size': 8}, 'size'),
    ({'min_size': 0}, 'min_size'),
    ({'application': 'nfs'}, 'application'),
    ({'pg_autoscale_mode': 'maybe'}, 'pg_autoscale_mode'),
    ({'target_size': '100GB'}, 'target_size'),
    ({'target_size': '100G', 'target_size_ratio': 0.2}, 'target_size'),
    ({'target_size_ratio': -1}, 'target_size_ratio'),
    ({'size': 'three'}, 'size'),
])
def test_bad_values_name_the_pool_and_field(params, field):
    with pytest.raises(InvalidRequest) as err:
        desired_settings('mypool', params)
    assert "ceph pool 'mypool': " + field in str(err.value)


@pytest.mark.parametrize('name', ['', 'a/b', 'a:b', 'a b'])
def test_bad_pool_names(name):
    with pytest.raises(InvalidRequest, match='pool name'):
        desired_settings(name, {})


# ------------------------------------------------------------------ plan

def test_create_sends_only_what_was_set():
    plan = plan_pool('new', 'present', {'size': 2, 'min_size': 2, 'target_size': 100 * GIB}, None, STORAGES)
    assert [a.kind for a in plan.actions] == ['create']
    assert plan.actions[0].params == {'size': 2, 'min_size': 2, 'target_size': '100G'}
    assert plan.tracker.diff() == {'before': {'state': 'absent', 'size': None, 'min_size': None, 'target_size': None},
                                   'after': {'state': 'present', 'size': 2, 'min_size': 2, 'target_size': 100 * GIB}}


def test_create_with_storage():
    plan = plan_pool('new', 'present', {}, None, STORAGES, add_storages=True)
    assert plan.actions[0].params == {'add_storages': 1}
    assert plan.tracker.diff()['after']['storage'] == 'new'


def test_storage_id_taken_by_something_else_is_refused_before_writing():
    with pytest.raises(Conflict, match="storage 'local' exists"):
        plan_pool('local', 'present', {}, None, STORAGES, add_storages=True)


def test_storage_name_must_be_a_storage_id():
    with pytest.raises(InvalidRequest, match='add_storages'):
        plan_pool('9lives', 'present', {}, None, STORAGES, add_storages=True)


def test_existing_storage_of_the_pool_is_not_added_again():
    storages = STORAGES + [{'storage': 'vmpool', 'type': 'rbd', 'pool': 'vmpool'}]
    plan = plan_pool('vmpool', 'present', {}, pool(name='vmpool'), storages, add_storages=True)
    assert not plan.changed


def test_existing_pool_gets_its_storage():
    plan = plan_pool('vmpool', 'present', {}, pool(name='vmpool'), STORAGES, add_storages=True)
    assert [a.kind for a in plan.actions] == ['add_storage']
    assert plan.actions[0].params['pool'] == 'vmpool' and plan.actions[0].params['type'] == 'rbd'


def test_update_only_what_differs_with_reasons():
    plan = plan_pool('rbd', 'present', {'size': 3, 'min_size': 1, 'pg_num': 32, 'crush_rule': 'replicated_rule',
                                        'application': 'rbd', 'target_size': 0}, pool(), STORAGES)
    assert [a.kind for a in plan.actions] == ['update']
    assert plan.actions[0].params == {'min_size': 1}
    assert plan.actions[0].reasons == ['min_size: 2 -> 1']
    assert plan.tracker.diff() == {'before': {'min_size': 2}, 'after': {'min_size': 1}}


def test_nothing_set_nothing_changed():
    plan = plan_pool('rbd', 'present', {}, pool(), STORAGES)
    assert not plan.changed and plan.tracker.diff() == {'before': {}, 'after': {}}


def test_target_size_is_compared_in_bytes():
    have = pool(target_size=100 * GIB)
    assert not plan_pool('rbd', 'present', desired_settings('rbd', {'target_size': '102400M'}), have).changed
    plan = plan_pool('rbd', 'present', desired_settings('rbd', {'target_size': '0'}), have)
    assert plan.actions[0].params == {'target_size': '0'}


@pytest.mark.parametrize('want, actual, text', [
    ({'size': 2, 'min_size': 3}, None, 'min_size 3 is greater than size 2 (the size you gave)'),
    ({'min_size': 4}, 'pool', "min_size 4 is greater than size 3 (the pool's size)"),
    ({'min_size': 4}, None, "min_size 4 is greater than size 3 (PVE's default size)"),
    ({'pg_num_min': 64}, 'pool', 'pg_num_min 64 is greater than pg_num 32'),
    ({'application': 'cephfs'}, 'pool', 'application cannot change from rbd to cephfs'),
])
def test_relations_are_checked_before_writing(want, actual, text):
    with pytest.raises(InvalidRequest) as err:
        plan_pool('rbd', 'present', want, pool() if actual else None, STORAGES)
    assert text in str(err.value)


def test_application_on_a_pool_without_one_is_enabled():
    plan = plan_pool('rbd', 'present', {'application': 'rgw'}, pool(applications=[]), STORAGES)
    assert plan.actions[0].params == {'application': 'rgw'}


def test_warnings_for_pg_num():
    plan = plan_pool('rbd', 'present', {'pg_num': 48}, pool(), STORAGES)
    assert any('power of two' in w for w in plan.warnings)
    assert any('autoscaler' in w for w in plan.warnings)
    assert plan_pool('rbd', 'present', {'pg_num': 64, 'pg_autoscale_mode': 'off'}, pool(), STORAGES).warnings == []


# ------------------------------------------------------------------ delete

def test_delete_absent_pool_is_no_change():
    assert not plan_pool('gone', 'absent', {}, None, STORAGES).changed


def test_delete_in_use_is_refused_without_force():
    with pytest.raises(Conflict) as err:
        plan_pool('rbd', 'absent', {}, pool(), STORAGES)
    assert "ceph pool 'rbd' is used by storage 'ceph-rbd', 'defaultpool'" in str(err.value)
    assert 'force=true' in str(err.value)


def test_delete_in_use_with_force_removes_the_storages():
    plan = plan_pool('rbd', 'absent', {}, pool(), STORAGES, force=True)
    assert plan.actions[0].kind == 'delete'
    assert plan.actions[0].params == {'force': 1, 'remove_storages': 1}
    assert plan.tracker.diff() == {'before': {'state': 'present', 'storages': ['ceph-rbd', 'defaultpool']},
                                   'after': {'state': 'absent', 'storages': []}}


def test_delete_unused():
    plan = plan_pool('lonely', 'absent', {}, pool(name='lonely'), STORAGES)
    assert plan.actions[0].params == {}


# ------------------------------------------------------------------ nodes

NODES = [{'node': 'pve2', 'status': 'online'}, {'node': 'pve1', 'status': 'offline'},
         {'node': 'pve3', 'status': 'online'}]


def test_pick_node():
    assert pick_node(NODES) == 'pve2'
    assert pick_node(NODES, 'pve3') == 'pve3'
    with pytest.raises(Unavailable, match='node pve1 is offline') as err:
        pick_node(NODES, 'pve1')
    assert 'pve2, pve3' in str(err.value)
    with pytest.raises(NotFound, match="no node 'pve9'"):
        pick_node(NODES, 'pve9')
    with pytest.raises(Unavailable, match='no node of the cluster is online'):
        pick_node([{'node': 'pve1', 'status': 'offline'}])


# ------------------------------------------------------------------ property: plan, apply, plan again is empty

def simulate(actual, params):
    """What Ceph does with one `pool set` (PVE's set_pool: size first, min_size follows size)."""
    out = dict(actual)
    if 'size' in params:
        out['size'] = params['size']
        out['min_size'] = out['size'] - out['size'] // 2
    for key, value in params.items():
        if key == 'application':
            out['applications'] = sorted(set(out['applications']) | {value})
        elif key == 'target_size':
            out['target_size'] = _ceph.parse_size(value) if value != '0' else None
        elif key == 'target_size_ratio':
            out['target_size_ratio'] = value or None
        elif key != 'size':
            out[key] = value
    return out


wanted = st.fixed_dictionaries({}, optional={
    'size': st.integers(1, 7), 'min_size': st.integers(1, 7), 'pg_num': st.sampled_from([1, 8, 32, 64, 128]),
    'pg_autoscale_mode': st.sampled_from(['on', 'off', 'warn']), 'crush_rule': st.just('replicated_rule'),
    'application': st.just('rbd'), 'target_size': st.sampled_from(['0', '10G', '1T', '512M']),
    'target_size_ratio': st.sampled_from([0, 0.5]),
})


@settings(max_examples=200, deadline=None)
@given(wanted)
def test_plan_apply_converge_then_nothing_to_do(params):
    try:
        want = desired_settings('rbd', params)
        plan = plan_pool('rbd', 'present', want, pool(), STORAGES)
    except InvalidRequest:
        return
    state = pool()
    for action in plan.actions:
        state = simulate(state, action.params)
    left = remaining('rbd', want, state)   # what converge() sends as the follow-up update
    if left:
        state = simulate(state, left)
    assert remaining('rbd', want, state) == {}
    assert not plan_pool('rbd', 'present', want, state, STORAGES).changed


# ------------------------------------------------------------------ converge against a fake client

class FakeClient:
    task_timeout = 5

    def __init__(self, entries):
        self.entries = entries
        self.calls = []

    def get(self, path, params=None):
        self.calls.append(('GET', path))
        return [dict(e) for e in self.entries]

    def put(self, path, data=None):
        self.calls.append(('PUT', path, dict(data)))
        for e in self.entries:
            if path.endswith('/' + e['pool_name']):
                if 'size' in data:
                    e['size'] = data['size']
                    e['min_size'] = data['size'] - data['size'] // 2
                e.update((k, v) for k, v in data.items() if k != 'size')
        return 'UPID:pve1:1:2:3:cephsetpool:x:root@pam:'

    def wait_for_task(self, upid, timeout=None):
        self.calls.append(('WAIT', upid))


def test_converge_sets_what_ceph_left_different():
    client = FakeClient([dict(RBD_ENTRY, pool_name='new', size=2, min_size=1)])
    got, follow_up = _ceph.converge(client, 'pve1', 'new', {'size': 2, 'min_size': 2}, 5)
    assert got['min_size'] == 2
    assert follow_up.params == {'min_size': 2}
    assert follow_up.reasons == ['min_size: 1 -> 2 (read back after the write)']
    assert [c[0] for c in client.calls] == ['GET', 'PUT', 'WAIT', 'GET']


def test_converge_reports_what_still_differs():
    class Stubborn(FakeClient):
        def put(self, path, data=None):
            self.calls.append(('PUT', path, dict(data)))
            return None
    client = Stubborn([dict(RBD_ENTRY, pool_name='new', size=2, min_size=1)])
    with pytest.raises(ServerError, match='min_size is 1, not 2'):
        _ceph.converge(client, 'pve1', 'new', {'min_size': 2}, 5)


def test_a_crush_rule_the_cluster_lacks_is_refused_with_the_ones_it_has():
    from ansible_collections.nbsync.proxmox.plugins.module_utils._ceph import check_crush_rule
    check_crush_rule('vm', 'replicated_ssd', ['replicated_rule', 'replicated_ssd'])   # known: no error
    with pytest.raises(InvalidRequest) as caught:
        check_crush_rule('vm', 'fast', ['replicated_rule', 'replicated_ssd'])
    assert "ceph pool 'vm': crush_rule 'fast' is not a CRUSH rule of this cluster" in str(caught.value)
    assert 'replicated_rule, replicated_ssd' in caught.value.hint

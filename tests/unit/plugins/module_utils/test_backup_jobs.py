# Copyright (c) 2026 nbsync.proxmox contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import (absolute_import, division, print_function)  # noqa: UP010

__metaclass__ = type  # noqa: UP001

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ansible_collections.nbsync.proxmox.plugins.module_utils._backup_jobs import (
    FIELDS,
    PVE_KEYS,
    check_storage,
    desired_from_params,
    ensure_job,
    format_retention,
    job_fields,
    normalize_retention,
    normalize_vmids,
    plan_job,
    validate_params,
)
from ansible_collections.nbsync.proxmox.plugins.module_utils._errors import (
    InvalidRequest,
    NotFound,
    PermissionDenied,
)
from ansible_collections.nbsync.proxmox.plugins.module_utils._pve_codecs import parse_property_string

# A job as PVE 9 lists it in GET /cluster/backup (prune-backups an object with string values).
JOB = {'id': 'nightly', 'type': 'vzdump', 'schedule': '21:00', 'storage': 'pbs-store', 'vmid': '101,100',
       'mode': 'snapshot', 'compress': 'zstd', 'prune-backups': {'keep-last': '3', 'keep-daily': '7'},
       'notes-template': '{{guestname}}', 'enabled': 1, 'next-run': 1795611600}

STORAGES = [{'storage': 'local', 'type': 'dir', 'content': 'iso,vztmpl,backup,snippets'},
            {'storage': 'local-lvm', 'type': 'lvmthin', 'content': 'images,rootdir'},
            {'storage': 'pbs-store', 'type': 'pbs', 'content': 'backup'}]


def params(**kw):
    base = dict(id='nightly', state='present', unset=[])
    base.update(kw)
    return base


def plan(**kw):
    current = kw.pop('current', JOB)  # current=None: no job yet
    p = params(**kw)
    validate_params(p)
    return plan_job(p['id'], p['state'], desired_from_params(p), p['unset'], current)


def pve_apply(job, pl):
    """What PVE (PVE::API2::Backup create_job/update_job) does with a plan's request, as GET shows it after."""
    if pl.action == 'delete':
        return None
    out = {} if pl.action == 'create' else dict(job)
    data = dict(pl.data)
    data.pop('id', None)
    # PVE's schema for the values (as POST/PUT take them)
    assert data.get('compress', '0') in ('0', '1', 'gzip', 'lzo', 'zstd'), data
    assert data.get('mode', 'stop') in ('snapshot', 'suspend', 'stop'), data
    for key in ('all', 'enabled'):
        assert data.get(key, 0) in (0, 1), data
    assert re.match(r'^\d+(,\d+)*$', data.get('vmid', '100')), data
    for key, value in parse_property_string(data.get('prune-backups', 'keep-all=1')).items():
        assert key in ('keep-all', 'keep-last', 'keep-hourly', 'keep-daily', 'keep-weekly', 'keep-monthly',
                       'keep-yearly') and re.match(r'^\d+$', value), data
    for key in pl.delete:
        out.pop(key, None)
    out.update(data)
    if data.get('vmid') is not None:
        for key in ('all', 'pool'):
            out.pop(key, None)
    elif data.get('all'):
        out.pop('vmid', None)
        out.pop('pool', None)
    elif out.get('pool'):
        out.pop('vmid', None)
        out.pop('all', None)
    if out.get('all') in (0, '0'):
        out.pop('all')
    if isinstance(out.get('prune-backups'), str):
        out['prune-backups'] = parse_property_string(out['prune-backups'])
    out.setdefault('enabled', 1)
    out['id'] = pl.job_id
    return out


# ------------------------------------------------------------------ normalising

def test_vmids_compare_as_sorted_sets():
    assert normalize_vmids('101,100') == [100, 101]
    assert normalize_vmids([101, '100', 101]) == [100, 101]
    assert normalize_vmids(None) is None


def test_retention_from_get_object_and_property_string_agree():
    assert normalize_retention({'keep-last': '3', 'keep-daily': '7'}) == {'keep_last': 3, 'keep_daily': 7}
    assert normalize_retention('keep-last=3,keep-daily=7') == {'keep_last': 3, 'keep_daily': 7}
    assert normalize_retention({'keep-all': '1'}) == {'keep_all': True}
    assert normalize_retention({'keep_last': 3, 'keep_daily': None}) == {'keep_last': 3}
    assert normalize_retention({}) is None


def test_retention_is_written_as_property_string():
    assert format_retention({'keep_last': 3, 'keep_daily': 7}) == 'keep-daily=7,keep-last=3'
    assert format_retention({'keep_all': True}) == 'keep-all=1'


def test_job_fields_fill_pve_defaults():
    have = job_fields({'id': 'j1', 'schedule': 'daily', 'all': 1, 'compress': '0'})
    assert have['all'] is True and have['enabled'] is True and have['compression'] == 'none'
    assert job_fields({'id': 'j1', 'vmid': '100', 'enabled': 0})['all'] is False


# ------------------------------------------------------------------ validation

@pytest.mark.parametrize('kw, field, words', [
    (dict(vmids=[100], all=True), 'vmids', 'vmids and all: true cannot both be set'),
    (dict(vmids=[100], pool='lab'), 'vmids', 'vmids and pool cannot both be set'),
    (dict(all=True, pool='lab'), 'all', 'all and pool cannot both be set'),
    (dict(vmids=[]), 'vmids', 'at least one guest'),
    (dict(vmids=[5]), 'vmids', 'out of range'),
    (dict(retention=dict(keep_all=True, keep_last=2)), 'retention', 'keep_all: true cannot be combined'),
    (dict(retention=dict(keep_last=None)), 'retention', 'at least one keep_*'),
    (dict(retention=dict(keep_last=-1)), 'retention', 'keep_last must be 0 or more'),
    (dict(comment='x', unset=['comment']), 'comment', 'both given a value and listed in unset'),
    (dict(schedule='  '), 'schedule', 'must not be empty'),
    (dict(id='x'), 'id', 'id must start with a letter'),
    (dict(id='bad id'), 'id', 'id must start with a letter'),
])
def test_bad_options_are_refused_locally(kw, field, words):
    with pytest.raises(InvalidRequest) as info:
        validate_params(params(**kw))
    assert words in str(info.value)
    assert field in info.value.field_errors
    assert "backup job '" in str(info.value)


def test_vmids_with_all_false_is_fine():
    validate_params(params(vmids=[100], all=False))


def test_absent_needs_only_the_id():
    validate_params(params(state='absent', vmids=[100], all=True))


# ------------------------------------------------------------------ planning

def test_same_options_plan_nothing():
    pl = plan(schedule='21:00', storage='pbs-store', vmids=[100, 101], mode='snapshot', compression='zstd',
              retention=dict(keep_daily=7, keep_last=3), notes_template='{{guestname}}', enabled=True, all=False)
    assert pl.action == 'none' and not pl.changed and pl.reasons() == []
    assert pl.tracker.diff() == {'before': {}, 'after': {}}


def test_only_options_the_user_set_are_compared():
    assert plan(enabled=True).action == 'none'
    assert plan(vmids=[101, 100]).action == 'none'


def test_update_sends_only_what_differs_in_pve_form():
    pl = plan(schedule='sat 02:30', retention=dict(keep_last=5), enabled=False, vmids=[100, 101])
    assert pl.action == 'update'
    assert pl.data == {'schedule': 'sat 02:30', 'prune-backups': 'keep-last=5', 'enabled': 0}
    assert pl.tracker.diff() == {
        'before': {'schedule': '21:00', 'retention': {'keep_last': 3, 'keep_daily': 7}, 'enabled': True},
        'after': {'schedule': 'sat 02:30', 'retention': {'keep_last': 5}, 'enabled': False}}
    assert 'enabled: True -> False' in pl.reasons()
    assert pl.checks == {}


def test_unset_uses_pve_delete_and_skips_what_is_not_there():
    pl = plan(unset=['retention', 'comment'])
    assert pl.action == 'update' and pl.data == {} and pl.delete == ['prune-backups']
    assert pl.tracker.diff() == {'before': {'retention': {'keep_last': 3, 'keep_daily': 7}},
                                 'after': {'retention': None}}
    assert plan(unset=['comment']).action == 'none'


def test_notes_template_carries_the_storage_pve_requires():
    pl = plan(notes_template='{{vmid}}')
    assert pl.data == {'notes-template': '{{vmid}}', 'storage': 'pbs-store'}
    assert pl.checks == {'storage': 'pbs-store'}
    with pytest.raises(InvalidRequest, match='notes_template needs a storage'):
        plan(current=dict(JOB, storage=None), notes_template='{{vmid}}')


def test_switching_selection_records_what_pve_drops():
    pl = plan(all=True)
    assert pl.data == {'all': 1}
    assert pl.tracker.diff() == {'before': {'all': False, 'vmids': [100, 101]}, 'after': {'all': True, 'vmids': None}}
    pl = plan(pool='lab')
    assert pl.data == {'pool': 'lab'} and pl.checks == {'pool': 'lab'}
    assert pl.tracker.diff()['after'] == {'pool': 'lab', 'vmids': None}


def test_all_false_alone_cannot_empty_a_job():
    with pytest.raises(InvalidRequest, match='all: false would leave the job without guests'):
        plan(current=dict(JOB, vmid=None, all=1), all=False)
    assert plan(current=dict(JOB, vmid=None, all=1), all=False, vmids=[100]).data == {'all': 0, 'vmid': '100'}


def test_create_sends_everything_set():
    pl = plan(current=None, schedule='21:00', storage='pbs-store', vmids=[101, 100], retention=dict(keep_last=3),
              notes_template='{{guestname}}', compression='none', enabled=True)
    assert pl.action == 'create'
    assert pl.data == {'id': 'nightly', 'schedule': '21:00', 'storage': 'pbs-store', 'vmid': '100,101',
                       'compress': '0', 'prune-backups': 'keep-last=3', 'notes-template': '{{guestname}}',
                       'enabled': 1}
    assert pl.checks == {'storage': 'pbs-store'}
    assert pl.tracker.diff()['before']['state'] == 'absent'


@pytest.mark.parametrize('kw, words', [
    (dict(vmids=[100]), 'needs a schedule'),
    (dict(schedule='daily'), 'needs its guests'),
    (dict(schedule='daily', all=False), 'needs its guests'),
    (dict(schedule='daily', vmids=[100], notes_template='x'), 'notes_template needs a storage'),
])
def test_create_needs_schedule_and_guests(kw, words):
    with pytest.raises(InvalidRequest, match=words):
        plan(current=None, **kw)


def test_delete_and_absent():
    pl = plan(state='absent')
    assert pl.action == 'delete'
    assert pl.tracker.diff()['before']['schedule'] == '21:00'
    assert pl.tracker.diff()['after']['state'] == 'absent'
    assert plan(current=None, state='absent').action == 'none'


# ------------------------------------------------------------------ property: apply then plan again is empty

retentions = st.one_of(
    st.just({'keep_all': True}),
    st.fixed_dictionaries({}, optional=dict((k, st.integers(0, 50)) for k in (
        'keep_last', 'keep_hourly', 'keep_daily', 'keep_weekly', 'keep_monthly', 'keep_yearly'))).filter(bool))
selections = st.one_of(
    st.fixed_dictionaries({'vmids': st.lists(st.integers(100, 2000), min_size=1, max_size=6)},
                          optional={'all': st.just(False)}),
    st.just({'all': True}),
    st.fixed_dictionaries({'pool': st.sampled_from(['lab', 'prod'])}, optional={'all': st.just(False)}),
    st.just({}))
options = st.fixed_dictionaries({}, optional={
    'schedule': st.sampled_from(['21:00', 'sat 02:30', 'daily', 'mon..fri 22:00']),
    'storage': st.sampled_from(['pbs-store', 'local']),
    'mode': st.sampled_from(['snapshot', 'suspend', 'stop']),
    'compression': st.sampled_from(['none', 'lzo', 'gzip', 'zstd']),
    'retention': retentions,
    'comment': st.text('abc xyz', min_size=1, max_size=8),
    'enabled': st.booleans(),
    'unset': st.lists(st.sampled_from(['comment', 'compression', 'mode']), unique=True, max_size=3),
})


@settings(max_examples=300, deadline=None)
@given(start=st.sampled_from([None, JOB, dict(JOB, vmid=None, all=1), dict(JOB, vmid=None, pool='lab')]),
       sel=selections, opts=options)
def test_applied_plan_plans_nothing_the_second_time(start, sel, opts):
    kw = dict(opts, **sel)
    kw['unset'] = [u for u in kw.get('unset', []) if u not in kw]
    p = params(**kw)
    validate_params(p)
    try:
        first = plan_job('nightly', 'present', desired_from_params(p), p['unset'], start)
    except InvalidRequest:
        assert start is None   # a create without a schedule or guests; an update is always possible here
        return
    after = pve_apply(start, first) if first.changed else start
    again = plan_job('nightly', 'present', desired_from_params(p), p['unset'], after)
    assert again.action == 'none', (first.as_dict(), after, again.reasons())
    # and the job holds what the user asked for
    have = job_fields(after)
    for field, want in desired_from_params(p).items():
        assert have[field] == want
    for field in p['unset']:
        assert after.get(PVE_KEYS[field]) is None


@given(st.dictionaries(st.sampled_from(FIELDS), st.none()))
def test_options_left_none_never_plan_a_change(kw):
    assert plan(**kw).action == 'none'


# ------------------------------------------------------------------ storage and pool checks

def test_storage_must_exist():
    with pytest.raises(NotFound) as info:
        check_storage('nightly', 'nope', STORAGES)
    assert "storage 'nope' does not exist" in str(info.value)
    assert 'local, pbs-store' in str(info.value)


def test_storage_must_take_backups():
    with pytest.raises(InvalidRequest) as info:
        check_storage('nightly', 'local-lvm', STORAGES)
    assert "storage 'local-lvm' does not hold backups (content: images,rootdir)" in str(info.value)
    check_storage('nightly', 'pbs-store', STORAGES)


class FakeClient:
    """Records calls; answers GETs from a dict; raises what ``fail`` maps a (method, path) to."""

    def __init__(self, jobs=(), storages=None, pools=('lab',), fail=None):
        self.jobs = [dict(j) for j in jobs]
        self.storages = STORAGES if storages is None else storages
        self.pools = pools
        self.fail = fail or {}
        self.calls = []

    def _maybe_fail(self, method, path):
        if (method, path) in self.fail:
            raise self.fail[(method, path)]

    def get(self, path, params=None):
        self.calls.append(('GET', path))
        self._maybe_fail('GET', path)
        if path == '/cluster/backup':
            return [dict(j) for j in self.jobs]
        if path == '/storage':
            return self.storages
        if path == '/pools':
            if params['poolid'] not in self.pools:
                raise NotFound("Proxmox VE: pool '{0}' does not exist (GET /pools)".format(params['poolid']))
            return [{'poolid': params['poolid']}]
        raise AssertionError(path)

    def post(self, path, data=None, retry_safe=False):
        self.calls.append(('POST', path))
        self._maybe_fail('POST', path)
        self.jobs.append(dict(data, enabled=data.get('enabled', 1)))

    def put(self, path, data=None):
        self.calls.append(('PUT', path))
        self._maybe_fail('PUT', path)

    def delete(self, path, params=None):
        self.calls.append(('DELETE', path))
        self.jobs = []


def test_ensure_checks_storage_with_one_call_and_writes_nothing_when_wrong():
    client = FakeClient()
    with pytest.raises(NotFound, match="backup job 'nightly': storage 'nope' does not exist"):
        ensure_job(client, params(schedule='daily', vmids=[100], storage='nope'))
    assert client.calls == [('GET', '/cluster/backup'), ('GET', '/storage')]


def test_ensure_checks_a_missing_pool_before_writing():
    client = FakeClient()
    with pytest.raises(NotFound, match="backup job 'nightly': pool 'nope' does not exist"):
        ensure_job(client, params(schedule='daily', pool='nope'))
    assert ('POST', '/cluster/backup') not in client.calls


def test_ensure_check_mode_writes_nothing():
    client = FakeClient()
    result = ensure_job(client, params(schedule='daily', vmids=[100], storage='pbs-store'), check_mode=True)
    assert result['changed'] and result['action'] == 'create' and result['job'] is None
    assert [c for c in client.calls if c[0] != 'GET'] == []


def test_ensure_creates_and_returns_the_job_read_back():
    client = FakeClient()
    result = ensure_job(client, params(schedule='daily', vmids=[100], storage='pbs-store'))
    assert result['changed'] and result['job']['vmid'] == '100'
    assert client.calls[-2:] == [('POST', '/cluster/backup'), ('GET', '/cluster/backup')]


def test_ensure_names_the_job_in_server_errors():
    denied = PermissionDenied('Proxmox VE denied PUT /cluster/backup/nightly: Permission check failed (/, Sys.Modify)',
                              acl_path='/', privilege='Sys.Modify', hint='grant Sys.Modify on / to this user or token')
    client = FakeClient(jobs=[JOB], fail={('PUT', '/cluster/backup/nightly'): denied})
    with pytest.raises(PermissionDenied) as info:
        ensure_job(client, params(enabled=False))
    text = str(info.value)
    assert text.startswith("backup job 'nightly': Proxmox VE denied") and 'Sys.Modify on /' in text
    assert info.value.privilege == 'Sys.Modify'


def test_ensure_idempotent_update_makes_no_write():
    client = FakeClient(jobs=[JOB])
    result = ensure_job(client, params(schedule='21:00', vmids=[101, 100], storage='pbs-store'))
    assert not result['changed'] and result['job']['id'] == 'nightly'
    assert client.calls == [('GET', '/cluster/backup')]

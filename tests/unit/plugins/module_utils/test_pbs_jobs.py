# Copyright (c) 2026 nbsync.proxmox contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The pure part of pbs_job / pbs_datastore_info: validation, planning, form encoding, datastore merge."""

from __future__ import (absolute_import, division, print_function)  # noqa: UP010

__metaclass__ = type  # noqa: UP001

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ansible_collections.nbsync.proxmox.plugins.module_utils import _pbs_jobs as J
from ansible_collections.nbsync.proxmox.plugins.module_utils._errors import InvalidRequest, NotFound

VERIFY = {'id': 'v1', 'store': 'store1', 'schedule': 'daily', 'ignore-verified': True, 'outdated-after': 30}


def opts(**kw):
    """All options None (as Ansible passes them) except those given."""
    out = dict((k, None) for k in J.FIELDS)
    out.update(kw)
    return out


# ----------------------------------------------------------------------------------------- validate

def test_option_of_another_type_is_refused_with_names():
    with pytest.raises(InvalidRequest) as info:
        J.validate('verify', 'v1', opts(store='store1', keep_last=3, remote='r1'))
    err = info.value
    assert err.status is None and err.path is None   # local: no API call was made
    assert set(err.field_errors) == {'keep_last', 'remote'}
    assert 'only to prune' in err.field_errors['keep_last']
    assert "verify job 'v1'" in str(err) and 'before any API call' in str(err)


@pytest.mark.parametrize('job_type', J.JOB_TYPES)
def test_every_option_of_its_type_is_accepted(job_type):
    mine = dict((o, 'x') for o, spec in J.FIELDS.items() if job_type in spec[1])
    J.validate(job_type, 'j1', opts(**mine))


def test_unset_rules():
    with pytest.raises(InvalidRequest) as info:
        J.validate('prune', 'p1', opts(), unset=['schedule'])
    assert 'cannot be removed' in info.value.field_errors['unset']
    with pytest.raises(InvalidRequest) as info:
        J.validate('verify', 'v1', opts(comment='x'), unset=['comment'])
    assert info.value.field_errors == {'comment': 'is both set and listed in unset'}
    with pytest.raises(InvalidRequest):
        J.validate('verify', 'v1', opts(), unset=['keep_last'])
    with pytest.raises(InvalidRequest) as info:
        J.validate('sync', 's1', opts(store=''))
    assert 'store' in info.value.field_errors


def test_run_now_with_absent_is_refused():
    with pytest.raises(InvalidRequest) as info:
        J.validate('verify', 'v1', opts(), state='absent', run_now=True)
    assert 'run_now' in info.value.field_errors


# ----------------------------------------------------------------------------------------- normalize / form

def test_normalize_types_and_defaults():
    assert J.normalize('outdated-after', '30') == 30
    assert J.normalize('remove-vanished', '1') is True
    assert J.normalize('remove-vanished', None) is False         # PBS's default
    assert J.normalize('ignore-verified', None) is True          # PBS's default
    assert J.normalize('max-depth', None) is None
    assert J.normalize('group-filter', ['type:vm', 'group:ct/1']) == ['group:ct/1', 'type:vm']
    assert J.normalize('ns', None) == ''


def test_to_form_encodes_as_pbs_parses():
    form = J.to_form({'remove-vanished': True, 'disable': False, 'max-depth': 2, 'group-filter': ['a', 'b']})
    assert form == {'remove-vanished': 'true', 'disable': 'false', 'max-depth': '2', 'group-filter': ['a', 'b']}


def test_option_names_map_to_pbs_names():
    assert J.PBS_NAME['namespace'] == 'ns'
    assert J.PBS_NAME['remote_namespace'] == 'remote-ns'
    assert J.PBS_NAME['keep_last'] == 'keep-last'
    assert J.PBS_NAME['remove_vanished'] == 'remove-vanished'
    assert J.ANSIBLE_NAME['outdated-after'] == 'outdated_after'


# ----------------------------------------------------------------------------------------- plan

def test_create_needs_required_options():
    with pytest.raises(InvalidRequest) as info:
        J.plan_job('sync', 's1', opts(store='store1'))
    assert set(info.value.field_errors) == {'remote_store'}
    with pytest.raises(InvalidRequest) as info:
        J.plan_job('prune', 'p1', opts(store='store1'))
    assert set(info.value.field_errors) == {'schedule'}


def test_create_plan_body_reasons_and_checks():
    plan = J.plan_job('sync', 's1', opts(store='store2', remote='r1', remote_store='src', max_depth=2))
    assert plan.action == 'create'
    assert plan.props == {'store': 'store2', 'remote': 'r1', 'remote-store': 'src', 'max-depth': 2}
    assert ('datastore', 'store2') in plan.checks and ('remote', 'r1') in plan.checks
    assert ('datastore', 'src') not in plan.checks            # a remote's store is not ours to check
    assert 'state: absent -> present' in plan.reasons()
    assert plan.diff()['after']['max_depth'] == 2


def test_local_sync_checks_the_source_datastore():
    plan = J.plan_job('sync', 's1', opts(store='store2', remote_store='store1'))
    assert ('datastore', 'store1') in plan.checks


def test_unset_options_are_never_compared():
    plan = J.plan_job('verify', 'v1', opts(schedule='daily'), actual=dict(VERIFY, comment='keep me'))
    assert plan.action == 'none' and not plan.changed
    assert plan.diff() == {'before': {}, 'after': {}}


def test_strings_and_defaults_are_no_change():
    actual = {'id': 'v1', 'store': 'store1', 'outdated-after': 30}
    plan = J.plan_job('verify', 'v1', opts(outdated_after='30', ignore_verified=True, namespace='', comment=''),
                      actual=actual)
    assert plan.action == 'none', plan.reasons()


def test_update_with_field_reasons_and_digest_free_body():
    plan = J.plan_job('verify', 'v1', opts(schedule='hourly', outdated_after=30), actual=VERIFY)
    assert plan.action == 'update'
    assert plan.props == {'schedule': 'hourly'}
    assert plan.delete == []
    assert plan.reasons() == ['schedule: daily -> hourly']
    assert plan.diff() == {'before': {'schedule': 'daily'}, 'after': {'schedule': 'hourly'}}
    assert plan.checks == []                                 # the store did not change


def test_unset_and_empty_string_delete():
    plan = J.plan_job('verify', 'v1', opts(comment=''), unset=['outdated_after', 'max_depth'],
                      actual=dict(VERIFY, comment='c'))
    assert plan.action == 'update'
    assert sorted(plan.delete) == ['comment', 'outdated-after']   # max-depth was not set: nothing to delete
    assert plan.props == {}
    assert plan.diff()['after'] == {'comment': None, 'outdated_after': None}


def test_absent_property_is_shown_as_unset_not_as_default():
    plan = J.plan_job('sync', 's1', opts(remove_vanished=True),
                      actual={'id': 's1', 'store': 'a', 'remote-store': 'b'})
    assert plan.reasons() == ['remove_vanished: (unset) -> True']


def test_store_change_is_checked():
    plan = J.plan_job('verify', 'v1', opts(store='store9'), actual=VERIFY)
    assert plan.checks == [('datastore', 'store9')]


def test_removing_remote_checks_remote_store_locally():
    actual = {'id': 's1', 'store': 'store2', 'remote': 'r1', 'remote-store': 'store1'}
    plan = J.plan_job('sync', 's1', opts(), unset=['remote'], actual=actual)
    assert plan.delete == ['remote'] and ('datastore', 'store1') in plan.checks


def test_delete_and_absent():
    assert J.plan_job('verify', 'v1', opts(), state='absent', actual=None).action == 'none'
    plan = J.plan_job('verify', 'v1', opts(), state='absent', actual=VERIFY)
    assert plan.action == 'delete' and plan.reasons() == ['state: present -> absent']
    assert J.simulate('verify', 'v1', plan, VERIFY) is None


# ----------------------------------------------------------------------------------------- property: apply then replan

_VALUES = {'str': st.sampled_from(['', 'daily', 'hourly', 'a b']), 'int': st.integers(0, 7),
           'bool': st.booleans(), 'list': st.lists(st.sampled_from(['type:vm', 'type:ct', 'group:vm/1']),
                                                   unique=True, max_size=3)}


@st.composite
def scenario(draw):
    job_type = draw(st.sampled_from(J.JOB_TYPES))
    mine = [o for o, spec in J.FIELDS.items() if job_type in spec[1]]
    strat = dict((o, _VALUES[J.FIELDS[o][2]]) for o in mine)

    def config(required, allow_empty):
        keys = draw(st.lists(st.sampled_from(mine), unique=True))
        out = {}
        for o in sorted(set(keys) | set(required)):
            v = draw(strat[o])
            empty = J._is_empty(J.PBS_NAME[o], v)
            if empty and (o in required or o in J.NOT_DELETABLE[job_type] or not allow_empty):
                v = ['type:host'] if J.FIELDS[o][2] == 'list' else 'x'
            out[o] = v
        return out
    actual = draw(st.one_of(st.none(), st.just(config(J.REQUIRED_ON_CREATE[job_type], False))))
    if actual is not None:
        actual = dict((J.PBS_NAME[o], v) for o, v in actual.items())
        actual['id'] = 'j1'
    desired = config(J.REQUIRED_ON_CREATE[job_type] if actual is None else (), True)
    # string forms of ints and bools, as a playbook might give them
    desired = dict((o, (str(v) if isinstance(v, int) and not isinstance(v, bool) and draw(st.booleans()) else v))
                   for o, v in desired.items())
    deletable = [o for o in mine if o not in J.NOT_DELETABLE[job_type] and o not in desired]
    unset = draw(st.lists(st.sampled_from(deletable), unique=True)) if deletable else []
    return job_type, actual, desired, unset


def _apply(plan, actual):
    """What PBS does with the plan (as the lab's fake: POST stores, PUT drops 'delete' then updates)."""
    after = J.simulate(plan.job_type, plan.job_id, plan, actual)
    # PBS stores typed values
    return None if after is None else dict((k, J.normalize(k, v) if k in J.ANSIBLE_NAME else v)
                                           for k, v in after.items())


@settings(max_examples=300, deadline=None)
@given(scenario())
def test_a_plan_applied_then_planned_again_is_empty(case):
    job_type, actual, desired, unset = case
    options = opts(**desired)
    J.validate(job_type, 'j1', options, unset)
    plan = J.plan_job(job_type, 'j1', options, unset, actual=actual)
    assert plan.changed == bool(plan.reasons())
    after = _apply(plan, actual)
    again = J.plan_job(job_type, 'j1', options, unset, actual=after)
    assert not again.changed, (plan.reasons(), again.reasons())
    assert again.reasons() == []


# ----------------------------------------------------------------------------------------- datastores

CONFIGS = [{'name': 'store2', 'path': '/b/2'}, {'name': 'store1', 'path': '/b/1', 'gc-schedule': 'daily'}]
USAGE = [{'store': 'store1', 'total': 100, 'used': 10, 'avail': 90, 'backend-type': 'filesystem'}]


def test_merge_datastores_config_usage_and_jobs():
    jobs = {'verify': [{'id': 'v2', 'store': 'store1'}, {'id': 'v1', 'store': 'store1'}, {'id': 'x', 'store': 'store2'}],
            'sync': []}
    out = J.merge_datastores(CONFIGS, USAGE, jobs)
    assert [d['name'] for d in out] == ['store1', 'store2']
    assert out[0]['usage'] == {'total': 100, 'used': 10, 'avail': 90}
    assert out[0]['gc-schedule'] == 'daily'
    assert out[1]['usage'] is None
    assert [j['id'] for j in out[0]['jobs']['verify']] == ['v1', 'v2']
    assert out[0]['jobs']['sync'] == []
    assert 'jobs' not in J.merge_datastores(CONFIGS, USAGE)[0]


def test_merge_datastores_names_filter_and_missing():
    assert [d['name'] for d in J.merge_datastores(CONFIGS, USAGE, names=['store2'])] == ['store2']
    with pytest.raises(NotFound) as info:
        J.merge_datastores(CONFIGS, USAGE, names=['store1', 'nope'])
    assert "'nope'" in str(info.value) and 'store1, store2' in str(info.value)


# ----------------------------------------------------------------------------------------- apply, with a fake client

class FakeClient:
    """Records calls; answers reads from a dict of path -> data (or an exception)."""

    def __init__(self, answers):
        self.answers = answers
        self.calls = []
        self.transport = self

    def get_with_digest(self, path):
        self.calls.append(('GET', path))
        answer = self.answers.get(path)
        if isinstance(answer, Exception):
            raise answer
        return answer, 'd' * 64

    def get(self, path, params=None):
        return self.get_with_digest(path)[0]

    def post(self, path, data=None):
        self.calls.append(('POST', path, data))
        return 'UPID:pbs:1:1:1:1:verificationjob:x:root@pam:'

    def put(self, path, data=None, retry_safe=None):
        self.calls.append(('PUT', path, data, retry_safe))

    def delete(self, path, params=None, retry_safe=None):
        self.calls.append(('DELETE', path, params, retry_safe))

    def wait_for_task(self, upid, timeout):
        self.calls.append(('WAIT', upid, timeout))
        return {'status': 'stopped', 'exitstatus': 'OK'}


def _missing(what):
    return NotFound("no such {0}".format(what), status=400)


def test_check_mode_reads_only():
    client = FakeClient({'/config/verify/v1': _missing('verification'), '/config/datastore/store1': {'name': 'store1'}})
    result = J.ensure_job(client, 'verify', 'v1', opts(store='store1'), run_now=True, check_mode=True)
    assert result['changed'] and result['action'] == 'create'
    assert all(c[0] == 'GET' for c in client.calls)
    assert 'task' not in result


def test_update_sends_delete_and_digest_then_runs():
    client = FakeClient({'/config/verify/v1': VERIFY})
    result = J.ensure_job(client, 'verify', 'v1', opts(schedule='hourly'), unset=['outdated_after'], run_now=True,
                          timeout=5)
    put = [c for c in client.calls if c[0] == 'PUT'][0]
    assert put[1] == '/config/verify/v1'
    assert put[2] == {'schedule': 'hourly', 'delete': ['outdated-after'], 'digest': 'd' * 64}
    assert put[3] is False          # with a digest: not repeated once it may have been done
    assert ('WAIT', 'UPID:pbs:1:1:1:1:verificationjob:x:root@pam:', 5) in client.calls
    assert result['task']['exitstatus'] == 'OK'


def test_missing_remote_stops_before_any_write():
    client = FakeClient({'/config/sync/s1': _missing('sync'), '/config/datastore/store1': {'name': 'store1'},
                         '/config/remote/nope': _missing("remote 'nope'")})
    with pytest.raises(NotFound) as info:
        J.ensure_job(client, 'sync', 's1', opts(store='store1', remote='nope', remote_store='src'))
    assert "sync job 's1': remote 'nope' does not exist" in str(info.value)
    assert info.value.field_errors == {'remote': "no such remote 'nope'"}
    assert all(c[0] == 'GET' for c in client.calls)


def test_server_error_gets_the_job_named():
    class Refusing(FakeClient):
        def post(self, path, data=None):
            raise InvalidRequest("Proxmox Backup Server refused POST /config/verify: 'schedule': bad", status=400)
    client = Refusing({'/config/verify/v1': _missing('verification'), '/config/datastore/store1': {}})
    with pytest.raises(InvalidRequest) as info:
        J.ensure_job(client, 'verify', 'v1', opts(store='store1', schedule='bad'))
    assert str(info.value).startswith("verify job 'v1': Proxmox Backup Server refused")

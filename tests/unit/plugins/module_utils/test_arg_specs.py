# Copyright (c) 2026 nbsync.proxmox contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The option checks of _arg_specs (one table for every module) and their place in _module.run."""

from __future__ import (absolute_import, division, print_function)  # noqa: UP010

__metaclass__ = type  # noqa: UP001

import importlib
import os

import pytest
import yaml

from ansible_collections.nbsync.proxmox.plugins.module_utils import _arg_specs, _module
from ansible_collections.nbsync.proxmox.plugins.module_utils._arg_specs import (
    CONNECTION_CHECKS, LIST_CHECKS, OPTION_CHECKS, check_params, insecure_warnings, netbox_argument_spec,
    pbs_argument_spec, pve_argument_spec,
)
from ansible_collections.nbsync.proxmox.plugins.module_utils._errors import ConfigurationError, InvalidParameter

MODULES_DIR = os.path.join(os.path.dirname(_arg_specs.__file__), '..', 'modules')
MODULES = sorted(f[:-3] for f in os.listdir(MODULES_DIR) if f.endswith('.py') and not f.startswith('_'))


def defaults(spec, **given):
    params = dict((name, entry.get('default')) for name, entry in spec.items())
    params.update(given)
    return params


def pve(**given):
    spec = pve_argument_spec()
    spec.update(vmid=dict(type='int'), timeout=dict(type='int', default=300), cores=dict(type='int'),
                memory=dict(type='int'), shutdown_timeout=dict(type='int', default=60),
                nics=dict(type='list', elements='dict', options=dict(tag=dict(type='int'), mtu=dict(type='int'))))
    given.setdefault('api_host', 'pve1.example.com')
    return defaults(spec, **given), spec


def messages(params, spec):
    return [text for _kind, text in check_params(params, spec)]


def test_the_defaults_pass(tmp_path):
    for spec in (pve_argument_spec(), pbs_argument_spec()):
        host = 'pbs_api_host' if 'pbs_api_host' in spec else 'api_host'
        assert check_params(defaults(spec, **{host: 'h.example.com'}), spec) == []
    spec = netbox_argument_spec()
    assert check_params(defaults(spec, netbox_url='https://netbox.example.com/', netbox_token='t'), spec) == []


@pytest.mark.parametrize('given,expected', [
    ({'api_port': 0}, 'api_port is 0, which is not a TCP port; give 1 to 65535 (the default is 8006)'),
    ({'api_port': 65536}, 'api_port is 65536, which is not a TCP port'),
    ({'api_host': 'https://pve1:8006/'}, "api_host is 'https://pve1:8006/', which is not a host name; give the host "
                                         "name or address only, without scheme, port or path (api_host: pve1, api_port: 8006)"),
    ({'api_host': 'pve1:8006'}, '(api_host: pve1, api_port: 8006)'),
    ({'api_host': '[fd00::1]:8006'}, '(api_host: fd00::1, api_port: 8006)'),
    ({'api_host': 'pve1/api2/json'}, '(api_host: pve1)'),
    ({'api_host': 'pve 1'}, "api_host is 'pve 1', which has white space in it"),
    ({'api_host': ''}, "api_host is '', which is empty"),
    ({'ca_path': '/nonexistent/ca.pem'}, "ca_path is '/nonexistent/ca.pem', which does not exist; give the PEM file"),
    ({'fingerprint': 'abc'}, "fingerprint is 'abc', which is not a SHA-256 fingerprint"),
    ({'read_timeout': 0.0}, 'read_timeout is 0, which is out of range; give more than 0 seconds (the default is 60)'),
    ({'connect_timeout': -0.5}, 'connect_timeout is -0.5, which is out of range'),
    ({'read_timeout': float('nan')}, 'read_timeout is nan, which is not a number; give a number of seconds'),
    ({'retries': -1}, 'retries is -1, which is out of range; give 0 or more (the default is 4)'),
    ({'vmid': 0}, 'vmid is 0, which is not a vmid (PVE gives guests 100 to 999999999); give the guest'),
    ({'vmid': -1}, 'vmid is -1, which is not a vmid'),
    ({'vmid': 99}, 'vmid is 99, which is not a vmid'),
    ({'vmid': 1000000000}, 'vmid is 1000000000, which is not a vmid'),
    ({'timeout': 0}, 'timeout is 0, which is out of range; give more than 0 seconds (the default is 300)'),
    ({'cores': 0}, 'cores is 0, which is out of range; give 1 or more'),
    ({'memory': 8}, 'memory is 8, which is out of range; give 16 or more MiB'),
    ({'shutdown_timeout': -1}, 'shutdown_timeout is -1, which is out of range; give 0 or more seconds (the default is 60)'),
    ({'lock_wait': -1}, 'lock_wait is -1, which is out of range; give 0 or more seconds'),
    ({'nics': [{'tag': 0, 'mtu': None}, {'tag': 4095, 'mtu': 70000}]}, 'nics[0]: tag is 0, which is out of range; give 1 to 4094'),
    ({'nics': [{'tag': 10, 'mtu': 70000}]}, 'nics[0]: mtu is 70000, which is out of range; give 1 to 65520'),
])
def test_each_bad_value_is_named_with_what_to_do(given, expected):
    params, spec = pve(**given)
    found = messages(params, spec)
    assert any(expected in m for m in found), found


@pytest.mark.parametrize('given', [
    {'api_host': '10.0.0.1'}, {'api_host': 'fd00::1'}, {'api_host': '[fd00::1]'}, {'api_host': 'pve1.example.com'},
    {'api_port': 1}, {'api_port': 65535}, {'vmid': 100}, {'vmid': 999999999}, {'retries': 0}, {'cores': 1},
    {'shutdown_timeout': 0}, {'lock_wait': 0}, {'timeout': 1}, {'read_timeout': 0.5}, {'memory': 16},
    {'fingerprint': 'AB:' * 31 + 'CD'}, {'fingerprint': 'ab' * 32}, {'nics': [{'tag': 4094, 'mtu': 9000}]},
])
def test_good_values_pass(given):
    params, spec = pve(**given)
    assert messages(params, spec) == []


def test_unset_options_are_not_checked():
    params, spec = pve(vmid=None, timeout=None, api_port=None, ca_path=None)
    assert messages(params, spec) == []


def test_a_ca_directory_passes_and_an_unreadable_file_is_named(tmp_path, monkeypatch):
    ca = tmp_path / 'ca.pem'
    ca.write_text('x')
    params, spec = pve(ca_path=str(tmp_path))
    assert messages(params, spec) == []       # requests takes a directory of hashed CA files too
    monkeypatch.setattr(_arg_specs.os, 'access', lambda path, mode: False)
    params, spec = pve(ca_path=str(ca))
    assert "ca_path is '{0}', which this user (uid".format(ca) in messages(params, spec)[0]
    assert 'cannot read; make it readable' in messages(params, spec)[0]


@pytest.mark.parametrize('url,ok', [
    ('https://netbox.example.com', True), ('http://127.0.0.1:8000/', True), ('https://h/netbox', True),
    ('netbox.example.com', False), ('ftp://netbox', False), ('https://', False), ('https://h:port', False),
    ('https://net box', False),
])
def test_netbox_url_must_be_http_or_https(url, ok):
    spec = netbox_argument_spec()
    found = messages(defaults(spec, netbox_url=url, netbox_token='t'), spec)
    assert (found == []) == ok, found
    if not ok:
        assert found[0].startswith('netbox_url is {0!r}, which is not an http(s) URL; give the URL with its scheme'.format(url))


def test_user_info_of_a_url_is_never_shown():
    spec = netbox_argument_spec()
    found = messages(defaults(spec, netbox_url='htps://admin:hunter2@netbox', netbox_token='t'), spec)
    assert "'htps://***@netbox'" in found[0] and 'hunter2' not in found[0]
    warned = insecure_warnings(defaults(spec, netbox_url='http://admin:hunter2@netbox', netbox_token='t'))
    assert 'hunter2' not in warned[0] and 'http://***@netbox' in warned[0]


def test_clusters_are_checked_element_by_element():
    spec = dict(clusters=dict(type='list', elements='dict', options=dict(
        name=dict(type='str'), api_host=dict(type='str'), api_port=dict(type='int', default=8006),
        ca_path=dict(type='path'), validate_certs=dict(type='bool', default=True))))
    params = {'clusters': [{'name': 'dc1', 'api_host': 'pve1', 'api_port': 8006, 'ca_path': None},
                           {'name': 'dc2', 'api_host': 'https://pve2', 'api_port': 0, 'ca_path': None}]}
    problems = check_params(params, spec)
    assert [kind for kind, _text in problems] == ['connection', 'connection']
    assert problems[0][1].startswith("clusters[1] (dc2): api_host is 'https://pve2', which is not a host name")
    assert problems[1][1] == 'clusters[1] (dc2): api_port is 0, which is not a TCP port; give 1 to 65535 (the default is 8006)'


def test_insecure_settings_one_sentence_each():
    spec = pve_argument_spec()
    assert insecure_warnings(defaults(spec, api_host='pve1')) == []
    warned = insecure_warnings(defaults(spec, api_host='pve1', validate_certs=False))
    assert warned == ["validate_certs is false: the TLS certificate of Proxmox VE at pve1 is not checked, so anyone on "
                      "the network path can pose as the server and read the API token or password. Give ca_path (the "
                      "cluster's CA, /etc/pve/pve-root-ca.pem) or fingerprint instead."]
    # a pinned fingerprint is checked: exactly that certificate is accepted
    assert insecure_warnings(defaults(spec, api_host='pve1', validate_certs=False, fingerprint='ab' * 32)) == []
    spec = pbs_argument_spec()
    assert insecure_warnings(defaults(spec, pbs_api_host='pbs', pbs_validate_certs=False))[0].startswith(
        'pbs_validate_certs is false: the TLS certificate of Proxmox Backup Server at pbs is not checked')
    spec = netbox_argument_spec()
    base = defaults(spec, netbox_token='t')
    assert insecure_warnings(dict(base, netbox_url='https://nb')) == []
    assert insecure_warnings(dict(base, netbox_url='https://nb', netbox_validate_certs=False))[0].startswith(
        'netbox_validate_certs is false: the TLS certificate of NetBox at https://nb is not checked')
    http = insecure_warnings(dict(base, netbox_url='http://127.0.0.1:8000', netbox_validate_certs=False))
    assert http == ['netbox_url http://127.0.0.1:8000 is plain http: the NetBox token travels in clear text, readable '
                    'by anyone who sees the traffic (said for loopback addresses too). Use an https URL.']
    clusters = insecure_warnings({'clusters': [{'name': 'dc1', 'api_host': 'a', 'validate_certs': True},
                                               {'name': 'dc2', 'api_host': 'b', 'validate_certs': False}]})
    assert len(clusters) == 1 and clusters[0].startswith('clusters[1] (dc2): validate_certs is false: the TLS '
                                                         'certificate of Proxmox VE at b')


# ----------------------------------------------------------------------------- _module.run

class Exit(Exception):
    pass


class FakeModule:
    def __init__(self, params, spec):
        self.params, self.argument_spec = params, spec
        self.warnings, self.failed, self.exited = [], None, None

    def warn(self, text):
        self.warnings.append(text)

    def fail_json(self, **kwargs):
        self.failed = kwargs
        raise Exit()

    def exit_json(self, **kwargs):
        self.exited = kwargs
        raise Exit()


def test_run_refuses_before_the_action_with_one_fail_json():
    calls = []
    params, spec = pve(api_port=0, cores=0)
    module = FakeModule(params, spec)
    with pytest.raises(Exit):
        _module.run(module, lambda m: calls.append(m) or {})
    assert calls == []
    assert module.failed['error_type'] == 'ConfigurationError'      # a connection option among the problems
    assert module.failed['msg'] == ('api_port is 0, which is not a TCP port; give 1 to 65535 (the default is 8006). '
                                    'cores is 0, which is out of range; give 1 or more. Nothing was sent to any server')


def test_run_gives_invalid_parameter_for_module_options_and_warns_once():
    params, spec = pve(vmid=0)
    with pytest.raises(InvalidParameter):
        _module.validate(FakeModule(params, spec))
    params, spec = pve(api_port=0)
    with pytest.raises(ConfigurationError):
        _module.validate(FakeModule(params, spec))
    params, spec = pve(validate_certs=False)
    module = FakeModule(params, spec)
    with pytest.raises(Exit):
        _module.run(module, lambda m: {'changed': False})
    assert module.exited == {'changed': False} and len(module.warnings) == 1


# ----------------------------------------------------------------------------- the tables against the modules

def _documented_options(name):
    module = importlib.import_module('ansible_collections.nbsync.proxmox.plugins.modules.' + name)
    return (yaml.safe_load(module.DOCUMENTATION) or {}).get('options') or {}


@pytest.mark.parametrize('name', MODULES)
def test_every_checked_option_is_a_number_where_a_module_has_it(name):
    """The tables go by option name; a module whose option of that name meant something else would be
    checked wrongly. Every module option a numeric check applies to is an int or float."""
    numeric = set(OPTION_CHECKS) | {'connect_timeout', 'read_timeout', 'retries', 'api_port', 'pbs_api_port'}
    options = _documented_options(name)
    for option, doc in options.items():
        if option in numeric:
            assert doc.get('type') in ('int', 'float'), (name, option)
        if option in ('api_host', 'pbs_api_host', 'netbox_url', 'fingerprint', 'pbs_fingerprint'):
            assert doc.get('type') == 'str', (name, option)
        for list_name, table in LIST_CHECKS.items():
            if option == list_name:
                for sub, subdoc in (doc.get('suboptions') or {}).items():
                    if sub in table and table is not CONNECTION_CHECKS:
                        assert subdoc.get('type') in ('int', 'float'), (name, option, sub)
                    if sub in ('api_port',):
                        assert subdoc.get('type') == 'int', (name, option, sub)


def test_the_role_marks_its_secrets_no_log():
    """The role's argument spec: the NetBox token and the clusters list (which holds the Proxmox tokens)."""
    root = os.path.join(os.path.dirname(_arg_specs.__file__), '..', '..')
    with open(os.path.join(root, 'roles', 'provision', 'meta', 'argument_specs.yml')) as handle:
        options = yaml.safe_load(handle)['argument_specs']['main']['options']
    secret = [name for name in options
              if any(w in name for w in ('token', 'password', 'secret')) or name == 'nbsync_proxmox_clusters']
    assert sorted(secret) == ['nbsync_netbox_token', 'nbsync_proxmox_clusters']
    assert [name for name in secret if options[name].get('no_log') is not True] == []

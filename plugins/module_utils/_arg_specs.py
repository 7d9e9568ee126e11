# -*- coding: utf-8 -*-
# Copyright (c) 2026 nbsync.proxmox contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The connection options, once: every module builds its argument spec from these.

They mirror the doc fragments ``nbsync.proxmox.pve``, ``nbsync.proxmox.pbs``
and ``nbsync.proxmox.netbox``; environment variable names are those users
know from community.proxmox and netbox.netbox.

``check_params`` and ``insecure_warnings`` check the values of those options (and of the options
every module names alike: vmid, timeout, cores...) from small tables; ``_module.run`` calls them
before any client exists, so a bad value ends in one message and nothing is sent.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import math
import os
import re

try:
    from urllib.parse import urlsplit
except ImportError:  # pragma: no cover - Python 2 is not supported, this keeps the import sanity test quiet
    from urlparse import urlsplit

from ansible.module_utils.basic import env_fallback


def _env(*names):
    return (env_fallback, list(names))


def pve_argument_spec():
    return dict(
        api_host=dict(type='str', required=True, fallback=_env('PROXMOX_HOST')),
        api_port=dict(type='int', default=8006, fallback=_env('PROXMOX_PORT')),
        api_user=dict(type='str', fallback=_env('PROXMOX_USER')),
        api_password=dict(type='str', no_log=True, fallback=_env('PROXMOX_PASSWORD')),
        api_token_id=dict(type='str', no_log=False, fallback=_env('PROXMOX_TOKEN_ID')),
        api_token_secret=dict(type='str', no_log=True, fallback=_env('PROXMOX_TOKEN_SECRET')),
        api_token=dict(type='str', no_log=True, fallback=_env('PROXMOX_TOKEN')),
        validate_certs=dict(type='bool', default=True, fallback=_env('PROXMOX_VALIDATE_CERTS')),
        ca_path=dict(type='path', fallback=_env('PROXMOX_CA_PATH')),
        fingerprint=dict(type='str', fallback=_env('PROXMOX_FINGERPRINT')),
        connect_timeout=dict(type='float', default=10),
        read_timeout=dict(type='float', default=60),
        retries=dict(type='int', default=4),
    )


def pbs_argument_spec():
    return dict(
        pbs_api_host=dict(type='str', required=True, fallback=_env('PBS_HOST')),
        pbs_api_port=dict(type='int', default=8007, fallback=_env('PBS_PORT')),
        pbs_api_user=dict(type='str', fallback=_env('PBS_USER')),
        pbs_api_password=dict(type='str', no_log=True, fallback=_env('PBS_PASSWORD')),
        pbs_api_token_id=dict(type='str', no_log=False, fallback=_env('PBS_TOKEN_ID')),
        pbs_api_token_secret=dict(type='str', no_log=True, fallback=_env('PBS_TOKEN_SECRET')),
        pbs_api_token=dict(type='str', no_log=True, fallback=_env('PBS_TOKEN')),
        pbs_validate_certs=dict(type='bool', default=True, fallback=_env('PBS_VALIDATE_CERTS')),
        pbs_ca_path=dict(type='path', fallback=_env('PBS_CA_PATH')),
        pbs_fingerprint=dict(type='str', fallback=_env('PBS_FINGERPRINT')),
        connect_timeout=dict(type='float', default=10),
        read_timeout=dict(type='float', default=60),
        retries=dict(type='int', default=4),
    )


def netbox_argument_spec():
    return dict(
        netbox_url=dict(type='str', required=True, fallback=_env('NETBOX_API', 'NETBOX_URL')),
        netbox_token=dict(type='str', required=True, no_log=True, fallback=_env('NETBOX_TOKEN')),
        netbox_validate_certs=dict(type='bool', default=True, fallback=_env('NETBOX_VALIDATE_CERTS')),
        netbox_ca_path=dict(type='path', fallback=_env('NETBOX_CA_PATH')),
    )


# --------------------------------------------------------------------------- checking option values
#
# AnsibleModule checks types and choices; what it cannot know is which values make sense. These
# tables say it once for every module: ``check_params`` applies each check to the options the module
# has (by name, so a module needs no code of its own), and ``_module.run`` turns the problems into one
# fail_json before any client exists. Values in the messages are never secrets (hosts, ports, paths,
# URLs without user info, numbers); secret options are never checked here.

MIN_VMID = 100            # PVE's own range for a guest's vmid
MAX_VMID = 999999999
_FINGERPRINT = re.compile(r'^(?:[0-9a-fA-F]{2}:?){31}[0-9a-fA-F]{2}$')


def _show(value):
    return repr(value) if isinstance(value, str) else '{0:g}'.format(value) if isinstance(value, float) else str(value)


def _default_hint(entry):
    default = (entry or {}).get('default')
    return '' if default is None else ' (the default is {0})'.format(_show(default))


def _number(minimum, unit='', inclusive=True, maximum=None):
    """A number >= minimum (> minimum unless ``inclusive``), optionally <= maximum."""
    def check(value, entry, name):
        if isinstance(value, float) and not math.isfinite(value):
            return 'which is not a number', 'give a number{0}'.format(' of ' + unit if unit else '')
        low_ok = value >= minimum if inclusive else value > minimum
        if low_ok and (maximum is None or value <= maximum):
            return None
        if maximum is not None:
            want = '{0} to {1}'.format(minimum, maximum)
        else:
            want = '{0} or more'.format(minimum) if inclusive else 'more than {0}'.format(minimum)
        return 'which is out of range', 'give {0}{1}{2}'.format(want, ' ' + unit if unit else '', _default_hint(entry))
    return check


def _port(value, entry, name):
    if 1 <= value <= 65535:
        return None
    return 'which is not a TCP port', 'give 1 to 65535{0}'.format(_default_hint(entry))


def _host(value, entry, name):
    """A host name or address: no scheme, path, port or white space (an IPv6 address may be bracketed)."""
    port_option = name.replace('_host', '_port')
    if not value.strip():
        return 'which is empty', 'give the host name or address of the server'
    if any(c.isspace() for c in value):
        return 'which has white space in it', 'give the host name or address only'
    # 'pve1:8006' and '[::1]:8006' carry a port; '::1' and '[::1]' are IPv6 addresses
    with_port = value.count(':') == 1 or (value.startswith('[') and not value.endswith(']'))
    if '://' in value or '/' in value or with_port:
        try:
            parts = urlsplit(value if '://' in value else '//' + value)
            host, port = parts.hostname, parts.port
        except ValueError:
            host, port = None, None
        example = ''
        if host:
            example = ' ({0}: {1}{2})'.format(name, host, ', {0}: {1}'.format(port_option, port) if port else '')
        return ('which is not a host name', 'give the host name or address only, without scheme, port or path{0}'
                .format(example))
    return None


def _readable(value, entry, name):
    """A CA file (or a directory of hashed CA files, which requests also takes) this user can read."""
    if not os.path.exists(value):
        return 'which does not exist', 'give the PEM file of the CA that signed the server\'s certificate'
    if not os.access(value, os.R_OK) or (os.path.isdir(value) and not os.access(value, os.X_OK)):
        return ('which this user (uid {0}) cannot read'.format(os.getuid() if hasattr(os, 'getuid') else '?'),
                'make it readable for the user the module runs as')
    return None


def _fingerprint(value, entry, name):
    if _FINGERPRINT.match(value.strip()):
        return None
    return ('which is not a SHA-256 fingerprint',
            'give 64 hex digits, colons allowed, as the server shows them (pvenode cert info, '
            'proxmox-backup-manager cert info)')


def _http_url(value, entry, name):
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        parts = None
    if parts and parts.scheme in ('http', 'https') and parts.hostname and not any(c.isspace() for c in value):
        return None
    return 'which is not an http(s) URL', 'give the URL with its scheme, for example https://netbox.example.com'


def _vmid(value, entry, name):
    if MIN_VMID <= value <= MAX_VMID:
        return None
    return ('which is not a vmid (PVE gives guests {0} to {1})'.format(MIN_VMID, MAX_VMID),
            "give the guest's vmid, or leave vmid out and give name")


_SECONDS = _number(0, 'seconds', inclusive=False)

# Options that make the connection: a problem with one is a ConfigurationError.
CONNECTION_CHECKS = {
    'api_host': _host, 'pbs_api_host': _host,
    'api_port': _port, 'pbs_api_port': _port,
    'ca_path': _readable, 'pbs_ca_path': _readable, 'netbox_ca_path': _readable,
    'fingerprint': _fingerprint, 'pbs_fingerprint': _fingerprint,
    'netbox_url': _http_url,
    'connect_timeout': _SECONDS, 'read_timeout': _SECONDS,
    'retries': _number(0),
}

# Options of the modules, the same name meaning the same thing in each: an InvalidParameter.
OPTION_CHECKS = {
    'vmid': _vmid,
    'timeout': _SECONDS,
    'shutdown_timeout': _number(0, 'seconds'),
    'lock_wait': _number(0, 'seconds'),   # netbox_vm_sync: 0 fails at once when another run holds the lock
    'concurrency': _number(1),
    'cores': _number(1),
    'sockets': _number(1),
    'memory': _number(16, 'MiB'),      # PVE's minimum for QEMU and LXC
    'balloon': _number(0, 'MiB'),
    'swap': _number(0, 'MiB'),
}

# Lists of dicts whose elements are checked with a table of their own; the label names the element.
LIST_CHECKS = {
    'clusters': CONNECTION_CHECKS,     # netbox_vm_sync: the credentials per cluster
    'nics': {'tag': _number(1, maximum=4094), 'mtu': _number(1, maximum=65520), 'rate': _number(0, 'MB/s')},
}


def _apply(table, params, spec, where, out, kind):
    for name, check in table.items():
        if name not in params or params[name] is None:
            continue
        entry = spec.get(name) or {}
        found = check(params[name], entry, name)
        if found:
            problem, todo = found
            shown = _show(_redact(name, params[name]))
            out.append((kind, '{0}{1} is {2}, {3}; {4}'.format(where, name, shown, problem, todo)))


def _redact(name, value):
    """A URL with user info (``https://user:pw@host``) is shown without it."""
    if name.endswith('_url') and isinstance(value, str) and '@' in value:
        return re.sub(r'//[^/@]*@', '//***@', value)
    return value


def check_params(params, spec):
    """The problems of the module's option values, each ``(kind, message)``, kind 'connection' or 'option'."""
    problems = []
    _apply(CONNECTION_CHECKS, params, spec, '', problems, 'connection')
    _apply(OPTION_CHECKS, params, spec, '', problems, 'option')
    for list_name, table in LIST_CHECKS.items():
        elements = params.get(list_name)
        if not isinstance(elements, list):
            continue
        element_spec = (spec.get(list_name) or {}).get('options') or {}
        kind = 'connection' if table is CONNECTION_CHECKS else 'option'
        for index, element in enumerate(elements):
            if isinstance(element, dict):
                _apply(table, element, element_spec, _element_label(list_name, index, element), problems, kind)
    return problems


def _element_label(list_name, index, element):
    name = element.get('name')
    return '{0}[{1}]{2}: '.format(list_name, index, ' ({0})'.format(name) if name else '')


# --------------------------------------------------------------------------- insecure settings
#
# Said once per module run (ansible-playbook also shows a repeated warning once), never per request.

_TLS_OFF = ('{where}{option} is false: the TLS certificate of {product} at {host} is not checked, so anyone on '
            'the network path can pose as the server and read the {secret}. {todo}')
_VERIFIED = (
    # (flag option, host option, fingerprint option, product, secret, what to do)
    ('validate_certs', 'api_host', 'fingerprint', 'Proxmox VE', 'API token or password',
     'Give ca_path (the cluster\'s CA, /etc/pve/pve-root-ca.pem) or fingerprint instead.'),
    ('pbs_validate_certs', 'pbs_api_host', 'pbs_fingerprint', 'Proxmox Backup Server', 'API token or password',
     'Give pbs_ca_path or pbs_fingerprint instead.'),
)


def _tls_warnings(params, where):
    out = []
    for flag, host, fingerprint, product, secret, todo in _VERIFIED:
        # a pinned fingerprint replaces chain validation: exactly that certificate is accepted
        if flag in params and params[flag] is False and not params.get(fingerprint):
            out.append(_TLS_OFF.format(where=where, option=flag, product=product, host=params.get(host),
                                       secret=secret, todo=todo))
    return out


def insecure_warnings(params):
    """What the options make insecure, one sentence each: TLS not verified, a token sent over http."""
    out = _tls_warnings(params, '')
    for index, element in enumerate(params.get('clusters') or []):
        if isinstance(element, dict):
            out.extend(_tls_warnings(element, _element_label('clusters', index, element)))
    url = params.get('netbox_url')
    if isinstance(url, str) and 'netbox_token' in params:
        scheme = url.split(':', 1)[0].lower()
        if scheme == 'http':
            out.append('netbox_url {0} is plain http: the NetBox token travels in clear text, readable by anyone '
                       'who sees the traffic (said for loopback addresses too). Use an https URL.'
                       .format(_redact('netbox_url', url)))
        elif scheme == 'https' and params.get('netbox_validate_certs') is False:
            out.append(_TLS_OFF.format(where='', option='netbox_validate_certs', product='NetBox',
                                       host=_redact('netbox_url', url), secret='NetBox token',
                                       todo='Give netbox_ca_path instead.'))
    return out

# -*- coding: utf-8 -*-
# Copyright (c) 2026 nbsync.proxmox contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""What every module's ``main()`` shares: the one place a typed error becomes ``fail_json``."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

from ansible.module_utils.basic import missing_required_lib

from ansible_collections.nbsync.proxmox.plugins.module_utils._arg_specs import check_params, insecure_warnings
from ansible_collections.nbsync.proxmox.plugins.module_utils._errors import (
    ConfigurationError, InvalidParameter, NbsyncError,
)
from ansible_collections.nbsync.proxmox.plugins.module_utils import _proxmox_transport, _netbox_client


def require_libraries(module, netbox=False):
    """Fail early, with the install hint, when a Python library the module needs is missing."""
    if not _proxmox_transport.HAS_REQUESTS:
        module.fail_json(msg=missing_required_lib('requests'), exception=_proxmox_transport.REQUESTS_IMPORT_ERROR)
    if netbox and not _netbox_client.HAS_PYNETBOX:
        module.fail_json(msg=missing_required_lib('pynetbox'), exception=_netbox_client.PYNETBOX_IMPORT_ERROR)


def validate(module):
    """Refuse option values that can never work, in one error naming each option, its value and what to do
    (ConfigurationError for the connection options, else InvalidParameter); then warn, once, about each
    insecure setting. Called by ``run`` before ``action``, so nothing has been sent when it raises."""
    problems = check_params(module.params, module.argument_spec)
    if problems:
        error = ConfigurationError if any(kind == 'connection' for kind, _text in problems) else InvalidParameter
        raise error('. '.join(text for _kind, text in problems), hint='Nothing was sent to any server')
    for warning in insecure_warnings(module.params):
        module.warn(warning)


def run(module, action, netbox=False):
    """Validate the options, call ``action(module) -> dict`` and exit with its result; a NbsyncError
    becomes one fail_json."""
    require_libraries(module, netbox=netbox)
    try:
        validate(module)
        result = action(module)
    except NbsyncError as err:
        module.fail_json(msg=str(err), **err.to_dict())
    module.exit_json(**result)

# -*- coding: utf-8 -*-
# Copyright (c) 2026 nbsync.proxmox contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""What every module's ``main()`` shares: the one place a typed error becomes ``fail_json``."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

from ansible.module_utils.basic import missing_required_lib

from ansible_collections.nbsync.proxmox.plugins.module_utils._errors import NbsyncError
from ansible_collections.nbsync.proxmox.plugins.module_utils import _proxmox_transport, _netbox_client


def require_libraries(module, netbox=False):
    """Fail early, with the install hint, when a Python library the module needs is missing."""
    if not _proxmox_transport.HAS_REQUESTS:
        module.fail_json(msg=missing_required_lib('requests'), exception=_proxmox_transport.REQUESTS_IMPORT_ERROR)
    if netbox and not _netbox_client.HAS_PYNETBOX:
        module.fail_json(msg=missing_required_lib('pynetbox'), exception=_netbox_client.PYNETBOX_IMPORT_ERROR)


def run(module, action, netbox=False):
    """Call ``action(module) -> dict`` and exit with its result; a NbsyncError becomes one fail_json."""
    require_libraries(module, netbox=netbox)
    try:
        result = action(module)
    except NbsyncError as err:
        module.fail_json(msg=str(err), **err.to_dict())
    module.exit_json(**result)

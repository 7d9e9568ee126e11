# -*- coding: utf-8 -*-
# Copyright (c) 2026 nbsync.proxmox contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The connection options, once: every module builds its argument spec from these.

They mirror the doc fragments ``nbsync.proxmox.pve``, ``nbsync.proxmox.pbs``
and ``nbsync.proxmox.netbox``; environment variable names are those users
know from community.proxmox and netbox.netbox.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

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

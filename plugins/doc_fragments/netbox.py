# -*- coding: utf-8 -*-
# Copyright (c) 2026 nbsync.proxmox contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type


class ModuleDocFragment(object):

    DOCUMENTATION = r'''
options:
  netbox_url:
    description:
      - URL of NetBox, for example V(https://netbox.example.com). Falls back to E(NETBOX_API).
      - With an V(http://) URL the token travels in clear text; the module warns, once per task (for loopback
        addresses too).
    type: str
    required: true
  netbox_token:
    description:
      - NetBox API token, v1 (40 hex digits, sent as C(Token)) or v2 (V(nbt_<key>.<secret>), sent as C(Bearer)).
      - Falls back to E(NETBOX_TOKEN).
    type: str
    required: true
  netbox_validate_certs:
    description:
      - Verify NetBox's TLS certificate. Falls back to E(NETBOX_VALIDATE_CERTS).
      - When off with an V(https://) URL, the module warns, once per task.
    type: bool
    default: true
  netbox_ca_path:
    description: PEM file of the CA that signed NetBox's certificate. Falls back to E(NETBOX_CA_PATH).
    type: path
'''

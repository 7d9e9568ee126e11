# -*- coding: utf-8 -*-
# Copyright (c) 2026 nbsync.proxmox contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type


class ModuleDocFragment(object):

    DOCUMENTATION = r'''
options:
  pbs_api_host:
    description: Host name or address of the Proxmox Backup Server, without scheme or port. Falls back to E(PBS_HOST).
    type: str
    required: true
  pbs_api_port:
    description: Port of the PBS API. Falls back to E(PBS_PORT).
    type: int
    default: 8007
  pbs_api_user:
    description: User, as V(user@realm), owning the token or logging in. Falls back to E(PBS_USER).
    type: str
  pbs_api_password:
    description: Password of O(pbs_api_user). Prefer an API token. Falls back to E(PBS_PASSWORD).
    type: str
  pbs_api_token_id:
    description: Token name (the part after V(!)). Falls back to E(PBS_TOKEN_ID).
    type: str
  pbs_api_token_secret:
    description: Secret of the token. Falls back to E(PBS_TOKEN_SECRET).
    type: str
  pbs_api_token:
    description:
      - The whole token in one string, V(user@realm!name:secret). Falls back to E(PBS_TOKEN).
    type: str
  pbs_validate_certs:
    description:
      - Verify the server's TLS certificate. Falls back to E(PBS_VALIDATE_CERTS).
      - When off (and no O(pbs_fingerprint) is pinned) the module warns, once per task.
    type: bool
    default: true
  pbs_ca_path:
    description: PEM file of the CA that signed the server's certificate. Falls back to E(PBS_CA_PATH).
    type: path
  pbs_fingerprint:
    description:
      - SHA-256 fingerprint of the server's certificate; when set, exactly that certificate is accepted.
      - Falls back to E(PBS_FINGERPRINT).
    type: str
  connect_timeout:
    description: Seconds to wait for a connection.
    type: float
    default: 10
  read_timeout:
    description: Seconds to wait for an answer to one API call.
    type: float
    default: 60
  retries:
    description: How often to repeat a request after a transient failure, only where repeating is safe.
    type: int
    default: 4
'''

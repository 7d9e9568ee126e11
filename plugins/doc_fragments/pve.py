# -*- coding: utf-8 -*-
# Copyright (c) 2026 nbsync.proxmox contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type


class ModuleDocFragment(object):

    DOCUMENTATION = r'''
options:
  api_host:
    description:
      - Host name or address of a Proxmox VE node, without scheme, port or path (the port is O(api_port)).
      - Falls back to the environment variable E(PROXMOX_HOST).
    type: str
    required: true
  api_port:
    description:
      - Port of the Proxmox VE API. Falls back to E(PROXMOX_PORT).
    type: int
    default: 8006
  api_user:
    description:
      - User, as V(user@realm), that owns the token or logs in with O(api_password). Falls back to E(PROXMOX_USER).
    type: str
  api_password:
    description:
      - Password of O(api_user); the client logs in for a ticket and renews it when it expires.
      - Prefer an API token for automation. Falls back to E(PROXMOX_PASSWORD).
    type: str
  api_token_id:
    description:
      - Token id (the part after V(!)) of an API token of O(api_user). Falls back to E(PROXMOX_TOKEN_ID).
    type: str
  api_token_secret:
    description:
      - Secret (UUID) of the API token. Falls back to E(PROXMOX_TOKEN_SECRET).
    type: str
  api_token:
    description:
      - The whole token in one string, V(user@realm!tokenid=secret), instead of the three options above.
      - Falls back to E(PROXMOX_TOKEN).
    type: str
  validate_certs:
    description:
      - Verify the API's TLS certificate. On by default; turn off only on a trusted network. When off (and no
        O(fingerprint) is pinned) the module warns, once per task.
      - Falls back to E(PROXMOX_VALIDATE_CERTS).
    type: bool
    default: true
  ca_path:
    description:
      - PEM file of the CA that signed the node's certificate (for example the cluster's C(pve-root-ca.pem)).
        A file that does not exist or cannot be read is refused before any request.
      - Falls back to E(PROXMOX_CA_PATH).
    type: path
  fingerprint:
    description:
      - SHA-256 fingerprint of the node's certificate (as C(pvenode cert info) shows it). When set, exactly
        that certificate is accepted and the chain is not checked.
      - Falls back to E(PROXMOX_FINGERPRINT).
    type: str
  connect_timeout:
    description: Seconds to wait for a connection.
    type: float
    default: 10
  read_timeout:
    description: Seconds to wait for an answer to one API call (tasks are waited on separately).
    type: float
    default: 60
  retries:
    description:
      - How often to repeat a request after a transient failure (connection refused, HTTP 502/503/504, a
        config lock timeout), with jittered exponential backoff. Requests that create are repeated only when
        the server refused them before acting.
    type: int
    default: 4
notes:
  - Give either O(api_token) or O(api_user) with O(api_token_id) and O(api_token_secret), or O(api_user) with
    O(api_password).
  - The connection options can be set once for all modules of the collection with
    C(module_defaults) and the action group C(group/nbsync.proxmox.proxmox).
'''

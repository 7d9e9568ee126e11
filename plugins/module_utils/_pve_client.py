# -*- coding: utf-8 -*-
# Copyright (c) 2026 nbsync.proxmox contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The Proxmox VE API client shared by every module and the inventory plugin.

Thin on purpose: it knows PVE's paths and auth forms; HTTP, TLS, retries and
error typing are the transport's (``_proxmox_transport``).
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

from ansible_collections.nbsync.proxmox.plugins.module_utils._errors import (
    Conflict, ConfigurationError, NotFound, Unavailable,
)
from ansible_collections.nbsync.proxmox.plugins.module_utils._proxmox_transport import (
    ApiClient, TicketAuth, TokenAuth,
)

DEFAULT_PORT = 8006
DEFAULT_TASK_TIMEOUT = 300


def split_token(token):
    """'user@realm!tokenid=secret' -> (user, tokenid, secret). Messages never repeat the secret."""
    head, sep, secret = (token or '').partition('=')
    user, bang, token_id = head.partition('!')
    if not (sep and bang and user and token_id and secret and '@' in user):
        raise ConfigurationError("api_token must look like 'user@realm!tokenid=secret'",
                                 hint='or give api_user, api_token_id and api_token_secret separately')
    return user, token_id, secret


def pve_auth(api_user=None, api_password=None, api_token_id=None, api_token_secret=None, api_token=None):
    """Choose the auth from the options: one-string token, token parts, or user and password."""
    if api_token:
        user, token_id, secret = split_token(api_token)
        return TokenAuth('PVEAPIToken', '=', user, token_id, secret)
    if api_token_id or api_token_secret:
        if not (api_user and api_token_id and api_token_secret):
            raise ConfigurationError('token auth needs api_user, api_token_id and api_token_secret together')
        token_id = api_token_id.split('!', 1)[-1]   # accept 'user@realm!id' as the id too
        return TokenAuth('PVEAPIToken', '=', api_user, token_id, api_token_secret)
    if api_user and api_password:
        return TicketAuth('PVEAuthCookie', api_user, api_password)
    raise ConfigurationError('no Proxmox VE credentials were given',
                             hint='set api_token_id and api_token_secret (or api_token), or api_password, '
                                  'with api_user; or the PROXMOX_* environment variables')


class PveClient(ApiClient):
    """Proxmox VE API calls the collection makes."""

    PRODUCT = 'Proxmox VE'
    DEFAULT_PORT = DEFAULT_PORT
    DEFAULT_TASK_TIMEOUT = DEFAULT_TASK_TIMEOUT

    @classmethod
    def from_params(cls, params):
        """Build from the shared argument spec (``_arg_specs.pve_argument_spec``)."""
        auth = pve_auth(params.get('api_user'), params.get('api_password'), params.get('api_token_id'),
                        params.get('api_token_secret'), params.get('api_token'))
        return cls(cls._transport_from_params(params, auth))

    # ----------------------------------------------------------------- reads

    def nodes(self):
        return self.get('/nodes') or []

    def cluster_resources(self, resource_type=None):
        """One call for every guest, node or storage of the cluster (``type``: vm, node, storage, sdn)."""
        return self.get('/cluster/resources', params={'type': resource_type} if resource_type else None) or []

    def guests(self):
        """Every QEMU VM and LXC container, from one ``/cluster/resources`` call."""
        return [r for r in self.cluster_resources('vm') if r.get('type') in ('qemu', 'lxc')]

    def find_guest(self, vmid=None, name=None):
        """The resource entry of a guest by vmid, or by name. Absent -> None; a name on two guests -> error."""
        guests = self.guests()
        if vmid is not None:
            return next((g for g in guests if int(g.get('vmid', -1)) == int(vmid)), None)
        matches = [g for g in guests if g.get('name') == name]
        if len(matches) > 1:
            raise Conflict('the name {0!r} belongs to {1} guests (vmids {2}); give the vmid'.format(
                name, len(matches), ', '.join(str(g['vmid']) for g in matches)))
        return matches[0] if matches else None

    def guest_config(self, node, kind, vmid, current=True):
        """The guest's config; ``current`` asks PVE for the applied values, not pending ones."""
        return self.get('/nodes/{0}/{1}/{2}/config'.format(node, kind, vmid),
                        params={'current': 1} if current and kind == 'qemu' else None) or {}

    def next_vmid(self):
        return int(self.get('/cluster/nextid'))

    def node_status(self, node):
        return self.get('/nodes/{0}/status'.format(node))

    def require_node_online(self, node):
        """NotFound for a node the cluster lacks, Unavailable for one that is offline (from one list call)."""
        for entry in self.nodes():
            if entry.get('node') == node:
                if entry.get('status') != 'online':
                    raise Unavailable('node {0} is {1}'.format(node, entry.get('status', 'offline')),
                                      hint='choose another target node or bring the node back')
                return entry
        raise NotFound('the cluster has no node {0!r}'.format(node))

    # ----------------------------------------------------------------- tasks

    def wait_for_task(self, upid, timeout=None, node=None):
        """Block until the task stops; TaskFailed (with exit status and log tail) or TaskTimeout at the deadline."""
        return self.tasks.wait(upid, self.task_timeout if timeout is None else timeout, node=node)

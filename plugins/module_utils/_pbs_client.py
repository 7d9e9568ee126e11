# -*- coding: utf-8 -*-
# Copyright (c) 2026 nbsync.proxmox contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The Proxmox Backup Server API client: the same transport as PVE, PBS's paths and auth forms."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

from ansible_collections.nbsync.proxmox.plugins.module_utils._errors import ConfigurationError
from ansible_collections.nbsync.proxmox.plugins.module_utils._proxmox_transport import (
    ApiClient, TicketAuth, TokenAuth,
)

DEFAULT_PORT = 8007
DEFAULT_TASK_TIMEOUT = 600
JOB_TYPES = ('sync', 'verify', 'prune')


def split_token(token):
    """'user@realm!name:secret' (PBS form; '=' accepted too) -> (user, name, secret)."""
    text = token or ''
    head, sep, secret = text.partition(':') if ':' in text.split('!', 1)[-1] else text.partition('=')
    user, bang, token_id = head.partition('!')
    if not (sep and bang and user and token_id and secret and '@' in user):
        raise ConfigurationError("pbs_api_token must look like 'user@realm!name:secret'",
                                 hint='or give pbs_api_user, pbs_api_token_id and pbs_api_token_secret separately')
    return user, token_id, secret


def pbs_auth(user=None, password=None, token_id=None, token_secret=None, token=None):
    if token:
        user, token_id, secret = split_token(token)
        return TokenAuth('PBSAPIToken', ':', user, token_id, secret)
    if token_id or token_secret:
        if not (user and token_id and token_secret):
            raise ConfigurationError('PBS token auth needs pbs_api_user, pbs_api_token_id and pbs_api_token_secret')
        return TokenAuth('PBSAPIToken', ':', user, token_id.split('!', 1)[-1], token_secret)
    if user and password:
        return TicketAuth('PBSAuthCookie', user, password)
    raise ConfigurationError('no Proxmox Backup Server credentials were given',
                             hint='set pbs_api_token_id and pbs_api_token_secret (or pbs_api_token), or '
                                  'pbs_api_password, with pbs_api_user; or the PBS_* environment variables')


class PbsClient(ApiClient):
    """Proxmox Backup Server API calls the collection makes."""

    PRODUCT = 'Proxmox Backup Server'
    DEFAULT_PORT = DEFAULT_PORT
    DEFAULT_TASK_TIMEOUT = DEFAULT_TASK_TIMEOUT

    @classmethod
    def from_params(cls, params):
        """Build from the shared argument spec (``_arg_specs.pbs_argument_spec``)."""
        auth = pbs_auth(params.get('pbs_api_user'), params.get('pbs_api_password'), params.get('pbs_api_token_id'),
                        params.get('pbs_api_token_secret'), params.get('pbs_api_token'))
        return cls(cls._transport_from_params(params, auth, prefix='pbs_'))

    def datastores(self):
        """Configured datastores (``/config/datastore``)."""
        return self.get('/config/datastore') or []

    def datastore_status(self, store):
        return self.get('/admin/datastore/{0}/status'.format(store))

    def jobs(self, job_type):
        if job_type not in JOB_TYPES:
            raise ConfigurationError('job type must be one of {0}, not {1!r}'.format(', '.join(JOB_TYPES), job_type))
        return self.get('/config/{0}'.format(job_type)) or []

    def wait_for_task(self, upid, timeout=None):
        """PBS tasks live under /nodes/localhost/tasks whatever the host is called."""
        return self.tasks.wait(upid, self.task_timeout if timeout is None else timeout, node='localhost')

# -*- coding: utf-8 -*-
# Copyright (c) 2026 nbsync.proxmox contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The NetBox API client on pynetbox: paged bulk reads, bulk writes, typed errors.

Endpoints are named as pynetbox attributes joined by dots:
``virtualization.virtual_machines``, ``ipam.ip_addresses``,
``plugins.netbox_dns.records``.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import time
import traceback

from ansible_collections.nbsync.proxmox.plugins.module_utils._errors import (
    AuthenticationFailed, ConfigurationError, Conflict, InvalidRequest, NotFound, PermissionDenied, ServerError,
    TLSError, Unavailable, UnexpectedResponse, describe_body, shown_location,
)
from ansible_collections.nbsync.proxmox.plugins.module_utils._retry import (
    GATEWAY_STATUS, IDEMPOTENT_METHODS, backoff_delay, never_sent,
)

try:
    from urllib.parse import urlsplit
except ImportError:  # pragma: no cover - Python 2 is not supported, this keeps the import sanity test quiet
    from urlparse import urlsplit

try:
    import requests
    import pynetbox
    HAS_PYNETBOX = True
    PYNETBOX_IMPORT_ERROR = None
    _SessionBase = requests.Session
except ImportError:
    HAS_PYNETBOX = False
    PYNETBOX_IMPORT_ERROR = traceback.format_exc()
    _SessionBase = object

DEFAULT_TIMEOUT = 60
DEFAULT_WORKERS = 4
DEFAULT_RETRIES = 2
NETBOX_IDEMPOTENT = IDEMPOTENT_METHODS | frozenset(('PATCH',))   # NetBox's PATCH sets field values


class _VerifyingSession(_SessionBase):
    """A requests session whose TLS choice is passed with every request, that follows no redirect and
    accepts no success answer that is not JSON.

    requests lets ``REQUESTS_CA_BUNDLE`` replace a ``Session.verify`` set to a CA
    path or to False; passing ``verify`` per request is the way to keep the
    user's choice. The timeout is applied to every request for the same reason.

    A redirect is an UnexpectedResponse naming where it pointed (followed, it would send a write's body, and
    the token where the host stays the same, elsewhere; on 301/302 requests would even turn a POST into a
    GET). A 2xx whose body is not JSON (a proxy's login page, a captive portal) is one too: pynetbox would
    raise its untyped ContentError, or worse, and every call goes through here, pynetbox's and ours.
    """

    def __init__(self, verify, timeout, retries=DEFAULT_RETRIES, sleep=time.sleep):
        super(_VerifyingSession, self).__init__()
        self._verify = verify
        self._timeout = timeout
        self._retries = retries
        self._sleep = sleep
        self.request_count = 0

    def request(self, method, url, **kwargs):
        """One call, repeated (``_retry``'s policy) only where that cannot do a thing twice: a read or a write
        of values (PUT, PATCH, DELETE) after a broken connection or a gateway answer (a kept-alive connection
        that gunicorn closes at the instant it is reused meets a reset), any call whose connection never
        opened. A POST that may have reached NetBox is never repeated: it could create twice."""
        kwargs['verify'] = self._verify
        kwargs.setdefault('timeout', self._timeout)
        kwargs['allow_redirects'] = False
        idempotent = method.upper() in NETBOX_IDEMPOTENT
        attempt = 0
        while True:
            self.request_count += 1
            try:
                response = super(_VerifyingSession, self).request(method, url, **kwargs)
            except requests.exceptions.ConnectionError as exc:
                # A TLS failure is no passing fault; a timeout repeated would only multiply the wait.
                if attempt >= self._retries or not (idempotent or never_sent(exc)) \
                        or isinstance(exc, (requests.exceptions.SSLError, requests.exceptions.Timeout)):
                    raise
            else:
                if not (idempotent and response.status_code in GATEWAY_STATUS and attempt < self._retries):
                    _check_answer(method, url, response)
                    return response
            self._sleep(backoff_delay(attempt))
            attempt += 1


def _check_answer(method, url, response):
    """Raise UnexpectedResponse for a redirect, or for a 2xx with a body that is not JSON."""
    status = response.status_code
    parts = urlsplit(url)
    where = 'NetBox at {0} answered {1} {2}'.format(parts.netloc.rpartition('@')[2], method.upper(), parts.path)
    if 300 <= status < 400:
        location = shown_location(response.headers.get('Location'))
        raise UnexpectedResponse(
            '{0} with a redirect (HTTP {1}) to {2}; redirects are not followed, as that would send the request '
            'and the token elsewhere'.format(where, status, location or '(no Location)'),
            status=status, path=parts.path, location=location,
            hint='set netbox_url to the address NetBox answers on itself (https:// where http:// redirects, the '
                 'path prefix if NetBox has one), or check the proxy between')
    if 200 <= status < 300 and response.content:
        body = None
        if 'json' in (response.headers.get('Content-Type') or '').lower():
            try:
                body = response.json()
            except ValueError:
                body = None
        if not isinstance(body, (dict, list)):
            raise UnexpectedResponse(
                '{0} with HTTP {1} but not with the API\'s JSON ({2})'.format(where, status, describe_body(response)),
                status=status, path=parts.path,
                hint='a proxy, login page or captive portal between here and NetBox may have answered; check that '
                     'netbox_url is the address of NetBox itself')


def _field_errors(body):
    """NetBox's 400 body -> {"field": "msg"} ({"[i].field": ...} for bulk calls).

    Shapes: {"field": ["msg"]}; a list of those for bulk calls; and since NetBox 4.7 for bulk calls
    {"detail": "1 of 1 objects could not be created.", "errors": [{"index": 0, "errors": {"field": [...]}}]}.
    """
    if isinstance(body, dict) and 'errors' in body and 'detail' in body:
        nested = body['errors'] if isinstance(body['errors'], list) else [body['errors']]
        out = {}
        for entry in nested:
            if isinstance(entry, dict) and isinstance(entry.get('errors'), dict):
                for field, text in _field_errors(entry['errors']).items():
                    out['[{0}].{1}'.format(entry.get('index', '?'), field)] = text
        return out or {'detail': str(body['detail'])}
    out = {}
    items = body if isinstance(body, list) else [body]
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            continue
        prefix = '[{0}].'.format(index) if isinstance(body, list) and len(body) > 1 else ''
        for field, value in item.items():
            if isinstance(value, list):
                value = ' '.join(str(v) for v in value)
            elif isinstance(value, dict):
                value = '; '.join('{0}: {1}'.format(k, v) for k, v in value.items())
            if value:
                out[prefix + field] = str(value)
    return out


class _ResponseError:
    """Carries a response to ``_typed`` the way pynetbox.RequestError does."""

    def __init__(self, response):
        self.req = response


class NetBoxClient:
    """NetBox API calls the collection makes; every failure is a typed NbsyncError."""

    def __init__(self, url, token, validate_certs=True, ca_path=None, timeout=DEFAULT_TIMEOUT,
                 max_workers=DEFAULT_WORKERS, threading=True):
        if not HAS_PYNETBOX:
            raise ConfigurationError('the Python library pynetbox is required', hint='pip install pynetbox')
        if not url:
            raise ConfigurationError('netbox_url is required', hint='set netbox_url or NETBOX_API')
        if not token:
            raise ConfigurationError('netbox_token is required', hint='set netbox_token or NETBOX_TOKEN')
        self.url = url.rstrip('/')
        verify = (ca_path or True) if validate_certs else False
        self.session = _VerifyingSession(verify, timeout)
        self.api = pynetbox.api(self.url, token=token, threading=threading, max_workers=max_workers)
        self.api.http_session = self.session

    def __repr__(self):
        return 'NetBoxClient(url={0!r}, token=<hidden>)'.format(self.url)

    @classmethod
    def from_params(cls, params):
        return cls(params.get('netbox_url'), params.get('netbox_token'),
                   validate_certs=params.get('netbox_validate_certs', True), ca_path=params.get('netbox_ca_path'),
                   timeout=params.get('read_timeout') or DEFAULT_TIMEOUT)

    @property
    def request_count(self):
        return self.session.request_count

    # ------------------------------------------------------------ plumbing

    def endpoint(self, name):
        """'virtualization.virtual_machines' -> the pynetbox Endpoint."""
        node = self.api
        for part in name.split('.'):
            node = getattr(node, part)
        return node

    def _call(self, what, func, *args, **kwargs):
        try:
            return func(*args, **kwargs)
        except pynetbox.RequestError as exc:
            raise self._typed(what, exc)
        except pynetbox.ContentError as exc:   # JSON by its content type, but not parseable
            raise UnexpectedResponse('NetBox at {0} did not answer {1} with JSON'.format(self.url, what),
                                     status=exc.req.status_code,
                                     hint='check that netbox_url is the address of NetBox itself')
        except requests.exceptions.SSLError as exc:
            raise TLSError('TLS verification of NetBox at {0} failed: {1}'.format(self.url, exc.__class__.__name__),
                           hint='give the CA with netbox_ca_path, or set netbox_validate_certs=false on a trusted network')
        except (requests.exceptions.ConnectionError, requests.exceptions.Timeout) as exc:
            raise Unavailable('cannot reach NetBox at {0} ({1}): {2}'.format(self.url, what, exc.__class__.__name__))

    def _typed(self, what, exc):
        response = exc.req
        status = response.status_code
        try:
            body = response.json()
        except ValueError:
            body = {}
        detail = body.get('detail') if isinstance(body, dict) else None
        if status == 400:
            return InvalidRequest('NetBox refused {0}'.format(what), status=status, field_errors=_field_errors(body))
        if status in (401, 403) and detail and ('token' in detail.lower() or 'credentials' in detail.lower()):
            return AuthenticationFailed('NetBox refused the token ({0}): {1}'.format(what, detail), status=status,
                                        hint='check netbox_token (v1: 40 hex digits; v2: nbt_<key>.<secret>)')
        if status == 403:
            return PermissionDenied('NetBox denied {0}: {1}'.format(what, detail or 'permission denied'),
                                    status=status, hint='give the token\'s user the permission for this object type')
        if status == 404:
            return NotFound('NetBox has no {0}'.format(what), status=status)
        if status == 409:
            return Conflict('NetBox cannot do {0}: {1}'.format(what, detail or response.text[:300]), status=status)
        if status in (502, 503, 504):
            return Unavailable('NetBox cannot serve {0} now (HTTP {1})'.format(what, status), status=status)
        return ServerError('NetBox failed {0} (HTTP {1}): {2}'.format(what, status, detail or response.reason),
                           status=status)

    # ----------------------------------------------------------------- reads

    def status(self):
        return self._call('GET /api/status/', self.api.status)

    def list(self, endpoint, **filters):
        """Every object matching the filters as plain dicts, paged (in parallel threads where possible).

        A filter value that is a list is sent as a repeated parameter (``id=[1, 2]``): one call for many ids.
        """
        ep = self.endpoint(endpoint)
        records = self._call('list of {0}'.format(endpoint), lambda: list(ep.filter(**filters) if filters else ep.all()))
        return [dict(r) for r in records]

    def get(self, endpoint, **filters):
        """One object as a dict, or None if none matches; ValueError-free: two matches raise InvalidRequest."""
        ep = self.endpoint(endpoint)
        try:
            record = self._call('{0} {1}'.format(endpoint, filters), ep.get, **filters)
        except ValueError:
            raise InvalidRequest('more than one {0} matches {1}'.format(endpoint, filters))
        return dict(record) if record is not None else None

    def request(self, method, path, data=None, params=None):
        """A raw API call for what pynetbox does not model well (``available-ips``): path under /api/."""
        url = '{0}/api/{1}'.format(self.url, path.strip('/') + '/')
        headers = {'Accept': 'application/json'}
        token = self.api.token
        headers['Authorization'] = ('Bearer ' if token.startswith('nbt_') else 'Token ') + token
        what = '{0} /api/{1}'.format(method, path.strip('/'))
        response = self._call(what, self.session.request, method, url, json=data, params=params, headers=headers)
        if response.status_code >= 400:
            raise self._typed(what, _ResponseError(response))
        return response.json() if response.content else None   # JSON: _VerifyingSession checked it

    # ---------------------------------------------------------------- writes

    def create(self, endpoint, items):
        """Bulk create: one POST for a list of objects; returns the created objects as dicts."""
        if not items:
            return []
        ep = self.endpoint(endpoint)
        created = self._call('create of {0} {1}'.format(len(items), endpoint), ep.create, list(items))
        return [dict(r) for r in (created if isinstance(created, list) else [created])]

    def update(self, endpoint, items):
        """Bulk update: one PATCH for a list of partial objects, each with its ``id``."""
        if not items:
            return []
        for item in items:
            if 'id' not in item:
                raise ConfigurationError('bulk update of {0} needs an id in every item'.format(endpoint))
        ep = self.endpoint(endpoint)
        updated = self._call('update of {0} {1}'.format(len(items), endpoint), ep.update, list(items))
        return [dict(r) for r in updated]

    def delete(self, endpoint, ids):
        """Bulk delete by id: one DELETE. Deleting what is already gone counts as done."""
        ids = list(ids)
        if not ids:
            return True
        ep = self.endpoint(endpoint)
        try:
            return self._call('delete of {0} {1}'.format(len(ids), endpoint), ep.delete, ids)
        except NotFound:
            return True

# -*- coding: utf-8 -*-
# Copyright (c) 2026 nbsync.proxmox contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""One HTTPS/JSON transport for the Proxmox VE and Proxmox Backup Server APIs.

Both products share the API style (``/api2/json``, ``{"data": ...}``,
tickets with CSRF tokens, API tokens in an ``Authorization`` header, tasks
with UPIDs), so one transport serves both and owns, once:

* TLS: verification on by default, a CA file passed with *every* request
  (a ``Session.verify`` would be overridden by ``REQUESTS_CA_BUNDLE``), and
  optional SHA-256 fingerprint pinning, as PVE's own tools pin self-signed
  certificates.
* timeouts (connect, read) on every request.
* retries with jittered exponential backoff, only where repeating is safe
  (see ``_may_retry``), and never past a caller's deadline (a task wait's).
* redirects are never followed (a 3xx is an error naming where it pointed:
  following it would send the login form or the ticket to another host), and a
  success answer that is not the API's JSON (a proxy's login page) is an error,
  never "no data".
* turning error answers into the typed errors of ``_errors``.
* login tickets renewed before they expire and once more when a ticket that
  worked is refused; a refused login is never repeated (fail2ban counts).

Secrets (token secret, password, ticket) live only in the auth objects and
in request headers/bodies; no message built here contains them.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import re
import time
import traceback

from ansible_collections.nbsync.proxmox.plugins.module_utils._errors import (
    AuthenticationFailed, ConfigurationError, Conflict, InvalidRequest, Locked, NbsyncError, NotFound,
    PermissionDenied, ServerError, TaskFailed, TaskTimeout, TLSError, Unavailable, UnexpectedResponse,
    describe_body, shown_location,
)
from ansible_collections.nbsync.proxmox.plugins.module_utils._retry import (
    DEFAULT_BACKOFF, IDEMPOTENT_METHODS, backoff_delay, never_sent,
)

try:
    import requests
    from requests.adapters import HTTPAdapter
    HAS_REQUESTS = True
    REQUESTS_IMPORT_ERROR = None
except ImportError:
    HAS_REQUESTS = False
    REQUESTS_IMPORT_ERROR = traceback.format_exc()
    HTTPAdapter = object

DEFAULT_CONNECT_TIMEOUT = 10.0
DEFAULT_READ_TIMEOUT = 60.0
DEFAULT_RETRIES = 4
TICKET_RENEW_AGE = 3600.0   # PVE and PBS tickets live 2 h; renew well before.
# A request with a deadline waits for its answer until the deadline, but at least this long: the last status
# read of a task wait is sent at the deadline itself.
DEADLINE_GRACE = 1.0

# "can't lock file '/var/lock/qemu-server/lock-100.conf' - got timeout" (PVE) and 'Unable to acquire
# lock "/etc/proxmox-backup/.sync.lck" - ...' (PBS): the config lock could not be taken, so the server
# refused the request before acting on it. Repeating is safe for any method.
_LOCK_TIMEOUT = re.compile(r"can't lock file .* - got timeout|Unable to acquire lock")
# PVE: "Permission check failed (/vms/100, VM.Clone)". PBS: "missing permissions 'Datastore.Verify' on
# '/datastore/store1'" (HTTP 400) or a bare "permission check failed" (HTTP 403 or 400).
_PERMISSION = re.compile(r'[Pp]ermission check failed \(([^,()]+)(?:, ([^()]+))?\)')
_PBS_PERMISSION = re.compile(r"missing permissions? '([^']+)' on '([^']+)'")
_BARE_PERMISSION = re.compile(r'^permission check failed', re.IGNORECASE)
# PBS answers GET/PUT of a missing datastore or job with HTTP 400 "no such datastore 'x'".
_PBS_MISSING = re.compile(r"^no such \w+ '|does not exist", re.IGNORECASE)
# PBS: PUT/DELETE with a stale digest (the config changed since it was read).
_PBS_DIGEST = re.compile(r'detected modified configuration')
_VM_LOCKED = re.compile(r'VM is locked \(([\w-]+)\)|CT is locked \(([\w-]+)\)')
# PVE answers a missing guest, storage, snapshot or pool with HTTP 500 and one of these phrases
# instead of 404; this is the one place that knows that.
_MISSING = re.compile(r"does not exist|no such (?:VM|CT|cluster node|storage|pool|user|token|datastore|job)"
                      r"|not found", re.IGNORECASE)
_UNAVAILABLE = re.compile(r'no quorum|No route to host|cluster not ready|Connection refused|node .* offline',
                          re.IGNORECASE)

TRANSIENT_STATUS = frozenset((502, 503, 504, 595, 596))


def normalize_fingerprint(value):
    """'AA:bb:..' or 'aabb..' (SHA-256) -> 'aabb...' as urllib3 expects; raises ConfigurationError."""
    if not value:
        return None
    text = value.replace(':', '').strip().lower()
    if not re.match(r'^[0-9a-f]{64}$', text):
        raise ConfigurationError('fingerprint must be a SHA-256 certificate fingerprint (64 hex digits, '
                                 'colons allowed)', hint='copy it from the node: pvenode cert info')
    return text


class _PinnedAdapter(HTTPAdapter):
    """An adapter that accepts exactly one certificate, by its SHA-256 fingerprint."""

    def __init__(self, fingerprint, **kwargs):
        self._fingerprint = fingerprint
        super(_PinnedAdapter, self).__init__(**kwargs)

    def init_poolmanager(self, *args, **kwargs):
        kwargs['assert_fingerprint'] = self._fingerprint
        return super(_PinnedAdapter, self).init_poolmanager(*args, **kwargs)


class TokenAuth:
    """API token auth: a static header. ``scheme`` is 'PVEAPIToken' or 'PBSAPIToken'."""

    def __init__(self, scheme, separator, user, token_id, secret):
        self.user = user
        self.token_id = token_id
        self._header = '{0}={1}!{2}{3}{4}'.format(scheme, user, token_id, separator, secret)

    def __repr__(self):
        return 'TokenAuth(user={0!r}, token_id={1!r}, secret=<hidden>)'.format(self.user, self.token_id)

    def apply(self, transport, method, headers, cookies):
        headers['Authorization'] = self._header

    def accepted(self):
        pass

    def renew(self, transport):
        return False   # a refused token stays refused


class TicketAuth:
    """User/password auth: a login ticket (cookie) plus a CSRF token for writes, renewed as it ages."""

    def __init__(self, cookie_name, user, password, renew_age=TICKET_RENEW_AGE):
        self.user = user
        self._password = password
        self._cookie_name = cookie_name
        self._renew_age = renew_age
        self._ticket = None
        self._csrf = None
        self._born = None
        self._proven = False    # the server accepted a request with the current ticket

    def __repr__(self):
        return 'TicketAuth(user={0!r}, password=<hidden>)'.format(self.user)

    def _login(self, transport):
        self._ticket, self._proven = None, False
        data = transport.raw_request('POST', '/access/ticket', data={'username': self.user, 'password': self._password},
                                     auth=False, retry_safe=False)
        if not isinstance(data, dict) or 'ticket' not in data:
            raise AuthenticationFailed('login of {0} did not return a ticket'.format(self.user))
        if data.get('NeedTFA'):
            raise AuthenticationFailed('user {0} needs a second factor (TFA)'.format(self.user),
                                       hint='use an API token for automation instead')
        self._ticket = data['ticket']
        self._csrf = data.get('CSRFPreventionToken')
        self._born = time.monotonic()

    def apply(self, transport, method, headers, cookies):
        if self._ticket is None or time.monotonic() - self._born >= self._renew_age:
            self._login(transport)
        cookies[self._cookie_name] = self._ticket
        if method != 'GET' and self._csrf:
            headers['CSRFPreventionToken'] = self._csrf

    def accepted(self):
        """The server answered a request made with the ticket (anything but a 401): the ticket works."""
        if self._ticket is not None:
            self._proven = True

    def renew(self, transport):
        """Called once after a 401: a ticket that worked may have expired early (server restart, shorter TTL),
        so log in again. Not when the login itself was refused, nor when a fresh ticket was: logging in again
        would repeat a failed login, which fail2ban and the server's own delay count."""
        if not self._proven:
            return False
        self._ticket, self._proven = None, False
        return True


class ProxmoxTransport:
    """HTTPS JSON transport for ``https://host:port/api2/json``; see the module docstring."""

    def __init__(self, host, port, auth, product='Proxmox VE', validate_certs=True, ca_path=None,
                 fingerprint=None, connect_timeout=DEFAULT_CONNECT_TIMEOUT, read_timeout=DEFAULT_READ_TIMEOUT,
                 retries=DEFAULT_RETRIES, backoff=DEFAULT_BACKOFF, sleep=time.sleep, clock=time.monotonic,
                 host_option='api_host'):
        if not HAS_REQUESTS:
            raise ConfigurationError('the Python library requests is required', hint='pip install requests')
        if not host:
            raise ConfigurationError('api_host is required', hint='set api_host or the environment variable')
        self.product = product
        self.host_option = host_option   # the option that names the host, for messages ('pbs_api_host')
        self.host = host
        self.port = int(port)
        bracketed = '[{0}]'.format(host) if ':' in host and not host.startswith('[') else host
        self.base_url = 'https://{0}:{1}/api2/json'.format(bracketed, self.port)
        self.auth = auth
        self.timeout = (float(connect_timeout), float(read_timeout))
        self.retries = max(0, int(retries))
        self.backoff = float(backoff)
        self._sleep = sleep
        self._clock = clock
        self.fingerprint = normalize_fingerprint(fingerprint)
        if self.fingerprint:
            # The pinned fingerprint replaces chain validation: exactly that certificate is accepted.
            self.verify = False
        elif not validate_certs:
            self.verify = False
        else:
            self.verify = ca_path or True
        self.session = requests.Session()
        self.session.headers['Accept'] = 'application/json'
        if self.fingerprint:
            self.session.mount('https://', _PinnedAdapter(self.fingerprint))
        self.request_count = 0

    # ------------------------------------------------------------------ public

    def get(self, path, params=None, deadline=None):
        return self.request('GET', path, params=params, deadline=deadline)

    def post(self, path, data=None, retry_safe=False):
        return self.request('POST', path, data=data, retry_safe=retry_safe)

    def put(self, path, data=None, retry_safe=None):
        return self.request('PUT', path, data=data, retry_safe=retry_safe)

    def delete(self, path, params=None, retry_safe=None):
        return self.request('DELETE', path, params=params, retry_safe=retry_safe)

    def request(self, method, path, params=None, data=None, retry_safe=None, full=False, deadline=None):
        """Send one API call and return its ``data``; raises a typed NbsyncError.

        retry_safe: None means "by method" (GET/PUT/DELETE are idempotent in these APIs, POST is not);
        False for a PUT or DELETE that must not be repeated once it may have been done (one carrying a
        digest, one that allocates a volume).
        full: return the whole answer ({"data": ..., "digest": ...}) instead of its data.
        deadline: a ``clock()`` value: no retry waits past it and no attempt waits for its answer past it
        (but at least DEADLINE_GRACE). An error raised because of it has ``deadline_reached`` set.
        """
        kwargs = dict(params=params, data=data, retry_safe=retry_safe, full=full, deadline=deadline)
        try:
            return self.raw_request(method, path, **kwargs)
        except AuthenticationFailed:
            if self.auth.renew(self):
                return self.raw_request(method, path, **kwargs)
            raise

    def raw_request(self, method, path, params=None, data=None, auth=True, retry_safe=None, full=False,
                    deadline=None):
        if retry_safe is None:
            retry_safe = method in IDEMPOTENT_METHODS
        attempt = 0
        while True:
            try:
                return self._once(method, path, params, data, auth, full, deadline)
            except (Unavailable, Locked) as err:
                retry = attempt < self.retries and self._may_retry(err, retry_safe)
                delay = backoff_delay(attempt, self.backoff)
                if deadline is not None and not isinstance(err, TLSError) \
                        and self._clock() + (delay if retry else 0) >= deadline:
                    err.deadline_reached = True
                    raise
                if not retry:
                    raise
            attempt += 1
            self._sleep(delay)

    # ---------------------------------------------------------------- helpers

    @staticmethod
    def _may_retry(err, retry_safe):
        """Whether repeating the request cannot do anything twice.

        * a config-lock timeout: the server refused before acting, so any method may repeat;
        * a connection that never opened: nothing was sent, so any method may repeat;
        * otherwise (502/503/504, a broken connection, a node offline) only idempotent requests.
        A TLS failure is never transient.
        """
        if isinstance(err, TLSError):
            return False
        if getattr(err, 'lock_timeout', False) or getattr(err, 'not_sent', False):
            return True
        if isinstance(err, Locked):
            return False
        return retry_safe

    def _url(self, path):
        return self.base_url + (path if path.startswith('/') else '/' + path)

    def _once(self, method, path, params, data, auth, full=False, deadline=None):
        headers = {}
        cookies = {}
        if auth:
            self.auth.apply(self, method, headers, cookies)
        timeout = self.timeout
        if deadline is not None:
            budget = max(deadline - self._clock(), DEADLINE_GRACE)
            timeout = (min(timeout[0], budget), min(timeout[1], budget))
        self.request_count += 1
        try:
            # Redirects are not followed: requests would re-send the login form, or the ticket cookie (set
            # without a domain), to wherever a proxy or a misconfigured server points. _decode_full reports it.
            response = self.session.request(method, self._url(path), params=params, data=data, headers=headers,
                                            cookies=cookies, timeout=timeout, verify=self.verify,
                                            allow_redirects=False)
        except requests.exceptions.SSLError as exc:
            raise self._tls_error(path, exc)
        except requests.exceptions.ConnectTimeout:
            err = Unavailable('{0} at {1}:{2} did not accept a connection within {3:g} s'.format(
                self.product, self.host, self.port, timeout[0]), path=path)
            err.not_sent = True
            raise err
        except requests.exceptions.ConnectionError as exc:
            err = Unavailable('cannot reach {0} at {1}:{2}: {3}'.format(
                self.product, self.host, self.port, _reason(exc)), path=path)
            err.not_sent = never_sent(exc)
            raise err
        except requests.exceptions.Timeout:
            raise Unavailable('{0} at {1}:{2} did not answer {3} {4} within {5:g} s'.format(
                self.product, self.host, self.port, method, path, timeout[1]), path=path)
        if auth and response.status_code != 401:
            self.auth.accepted()
        body = self._decode_full(method, path, response)
        return body if full else body.get('data')

    def _tls_error(self, path, exc):
        text = str(exc)
        if 'ingerprint' in text:
            return TLSError('the certificate of {0} at {1}:{2} does not match the pinned fingerprint'.format(
                self.product, self.host, self.port), path=path,
                hint='check the fingerprint option against the certificate the node serves')
        return TLSError('TLS verification of {0} at {1}:{2} failed: {3}'.format(
            self.product, self.host, self.port, _reason(exc)), path=path,
            hint='give the CA that signed the certificate with ca_path, pin it with fingerprint, '
                 'or (only on a trusted network) set validate_certs=false')

    def _decode_full(self, method, path, response):
        if 300 <= response.status_code < 400:
            raise self._redirected(method, path, response)
        try:
            body = response.json()
        except ValueError:
            body = None
        if 200 <= response.status_code < 300:
            # PVE and PBS answer every success with {"data": ...} ("data": null included). Anything else came
            # from something in between (a proxy's login page, a captive portal): never read it as "no data".
            if isinstance(body, dict) and 'data' in body:
                return body
            raise self._not_the_api(method, path, response)
        # PVE puts its message in the reason phrase (and a JSON "message"); PBS sends it as the plain-text
        # body, although the content type says JSON.
        if isinstance(body, dict):
            message = body.get('message') or response.reason
            field_errors = body.get('errors')
        else:
            message = response.text if response.text and len(response.text) < 2000 else response.reason
            field_errors = None
        message = (message or '').strip() or 'HTTP {0}'.format(response.status_code)
        raise self.classify(response.status_code, message, field_errors, method, path)

    def _where(self, method, path):
        return '{0} at {1}:{2} answered {3} {4}'.format(self.product, self.host, self.port, method, path)

    def _options(self):
        return '{0} and {1}'.format(self.host_option, self.host_option.replace('host', 'port'))

    def _redirected(self, method, path, response):
        location = response.headers.get('Location') or ''
        return UnexpectedResponse(
            '{0} with a redirect (HTTP {1}) to {2}; redirects are not followed, as that would send the '
            'credentials elsewhere'.format(self._where(method, path), response.status_code,
                                           shown_location(location) or '(no Location)'),
            status=response.status_code, path=path, location=shown_location(location),
            hint='set {0} to the address the {1} API answers on itself, or check the proxy between'.format(
                self._options(), self.product))

    def _not_the_api(self, method, path, response):
        return UnexpectedResponse(
            '{0} with HTTP {1} but not with the API\'s JSON ({2})'.format(
                self._where(method, path), response.status_code, describe_body(response)),
            status=response.status_code, path=path,
            hint='a proxy, login page or captive portal between here and {0} may have answered; check that {1} '
                 'name the {0} host itself'.format(self.product, self._options()))

    def get_with_digest(self, path, params=None):
        """GET returning (data, digest): PBS and PVE config objects carry a digest for optimistic locking."""
        body = self.request('GET', path, params=params, full=True)
        data = body.get('data')
        digest = body.get('digest') or (data.get('digest') if isinstance(data, dict) else None)
        return data, digest

    def classify(self, status, message, field_errors, method, path):
        """Map an error answer to a typed error; the one place that reads PVE/PBS error wording."""
        where = '{0} {1}'.format(method, path)
        if isinstance(field_errors, dict):
            field_errors = dict((k, str(v).strip()) for k, v in field_errors.items())
        else:
            field_errors = None
        if _LOCK_TIMEOUT.search(message):
            # Before the 400 branch: PBS sends "Unable to acquire lock ..." as HTTP 400, and it means
            # "try again", not "bad input" (the request did nothing).
            err = Locked('{0}: {1} ({2})'.format(self.product, message, where), status=status, path=path)
            err.lock_timeout = True
            return err
        if status == 400 and _PBS_MISSING.search(message):
            return NotFound('{0}: {1} ({2})'.format(self.product, message, where), status=status, path=path)
        if status == 400 and _PBS_DIGEST.search(message):
            return Conflict('{0}: {1} ({2})'.format(self.product, message, where), status=status, path=path,
                            hint='the configuration changed since it was read; run again')
        if status == 400 and not _BARE_PERMISSION.search(message) and not _PBS_PERMISSION.search(message):
            return InvalidRequest('{0} refused {1}: {2}'.format(self.product, where, message), status=status,
                                  path=path, field_errors=field_errors)
        if status == 401:
            who = getattr(self.auth, 'user', '?')
            token = getattr(self.auth, 'token_id', None)
            who = '{0}!{1}'.format(who, token) if token else who
            return AuthenticationFailed(
                '{0} at {1}:{2} refused the credentials of {3} ({4}): {5}'.format(
                    self.product, self.host, self.port, who, where, message),
                status=status, path=path, hint='check the user, token id and secret (or password)')
        pbs_perm = _PBS_PERMISSION.search(message)
        if status == 403 or pbs_perm or (status == 400 and _BARE_PERMISSION.search(message)):
            match = _PERMISSION.search(message)
            acl_path, privilege = (match.group(1), match.group(2)) if match else (None, None)
            if pbs_perm:
                privilege, acl_path = pbs_perm.group(1), pbs_perm.group(2)
            hint = None
            if privilege:
                hint = 'grant {0} on {1} to this user or token'.format(privilege, acl_path)
            return PermissionDenied('{0} denied {1}: {2}'.format(self.product, where, message), status=status,
                                    path=path, acl_path=acl_path, privilege=privilege, hint=hint)
        if status == 404 or (status == 500 and _MISSING.search(message)):
            return NotFound('{0}: {1} ({2})'.format(self.product, message, where), status=status, path=path)
        locked = _VM_LOCKED.search(message)
        if locked:
            return Locked('{0}: {1} ({2})'.format(self.product, message, where), status=status, path=path,
                          lock=locked.group(1) or locked.group(2))
        if status in TRANSIENT_STATUS or _UNAVAILABLE.search(message):
            return Unavailable('{0} cannot serve {1} now: {2}'.format(self.product, where, message),
                               status=status, path=path)
        return ServerError('{0} failed {1}: {2}'.format(self.product, where, message), status=status, path=path,
                           field_errors=field_errors)


def _reason(exc):
    """The innermost cause of a requests exception, without the URL repeated three times."""
    inner = exc
    while True:
        nxt = getattr(inner, 'reason', None) or (inner.args[0] if getattr(inner, 'args', None) else None)
        if isinstance(nxt, BaseException) and nxt is not inner:
            inner = nxt
            continue
        break
    text = str(inner)
    return text.split('] ', 1)[-1] if text.startswith('[') else text


def upid_node(upid):
    """The node a UPID ran on: 'UPID:pve1:...' -> 'pve1'."""
    parts = str(upid).split(':')
    if len(parts) < 3 or parts[0] != 'UPID':
        raise ValueError('not a task id (UPID): {0!r}'.format(upid))
    return parts[1]


class TaskWaiter:
    """Polls ``/nodes/{node}/tasks/{upid}/status`` until the task stops or a monotonic deadline passes.

    Polling starts fast (tasks are often done in well under a second) and backs off to ``max_interval``;
    no sleep ever reaches past the deadline, so a stuck task raises TaskTimeout at the deadline, not later.
    The status reads carry the deadline too: the transport's retries of a read that meets a 503 (backoff
    up to seconds) or a read that gets no answer (read timeout, 60 s) end at it, and the last read, sent at
    the deadline, waits at most DEADLINE_GRACE.
    """

    def __init__(self, transport, clock=time.monotonic, sleep=time.sleep, first_interval=0.05, max_interval=2.0):
        self.transport = transport
        self._clock = clock
        self._sleep = sleep
        self.first_interval = first_interval
        self.max_interval = max_interval

    def wait(self, upid, timeout, node=None):
        node = node or upid_node(upid)
        base = '/nodes/{0}/tasks/{1}'.format(node, upid)
        deadline = self._clock() + float(timeout)
        interval = self.first_interval
        while True:
            unread = None   # the error of a status read the deadline cut short
            try:
                status = self.transport.get(base + '/status', deadline=deadline) or {}
            except Unavailable as err:
                if not getattr(err, 'deadline_reached', False):
                    raise
                status, unread = {}, err
            if status.get('status') == 'stopped':
                exitstatus = status.get('exitstatus', '')
                if exitstatus == 'OK' or str(exitstatus).startswith('WARNINGS'):
                    return status
                tail = self.log_tail(base)
                raise TaskFailed('task {0} on {1} failed: {2}'.format(status.get('type', ''), node, exitstatus),
                                 upid=upid, exitstatus=exitstatus, log_tail=tail, path=base)
            remaining = deadline - self._clock()
            if remaining <= 0:
                if unread is not None:
                    message = 'task {0} on {1} did not end within {2:g} s as far as could be seen: its status ' \
                              'could not be read at the end ({3})'.format(upid, node, float(timeout), unread.message)
                else:
                    message = 'task {0} on {1} was still running after {2:g} s'.format(
                        status.get('type', upid), node, float(timeout))
                raise TaskTimeout(message, upid=upid, timeout=timeout, path=base,
                                  hint='raise the timeout, or look at the task in the Proxmox UI; it may still finish')
            self._sleep(min(interval, remaining))
            interval = min(self.max_interval, interval * 2)

    def log_tail(self, base, lines=10):
        try:
            entries = self.transport.get(base + '/log', params={'start': 0, 'limit': 5000}) or []
        except NbsyncError:  # the log is a courtesy: the task's own failure is what we report
            return []
        return [e.get('t', '') for e in entries[-lines:]]


class ApiClient:
    """What the PVE and PBS clients share: the transport's verbs, the task waiter, and building the
    transport from module options (``prefix`` is '' for PVE's options, 'pbs_' for PBS's)."""

    PRODUCT = None
    DEFAULT_PORT = None
    DEFAULT_TASK_TIMEOUT = 300

    def __init__(self, transport, task_timeout=None):
        self.transport = transport
        self.task_timeout = self.DEFAULT_TASK_TIMEOUT if task_timeout is None else task_timeout
        self.tasks = TaskWaiter(transport)

    @classmethod
    def _transport_from_params(cls, params, auth, prefix=''):
        return ProxmoxTransport(
            params.get(prefix + 'api_host'), params.get(prefix + 'api_port') or cls.DEFAULT_PORT, auth,
            product=cls.PRODUCT, validate_certs=params.get(prefix + 'validate_certs', True),
            ca_path=params.get(prefix + 'ca_path'), fingerprint=params.get(prefix + 'fingerprint'),
            connect_timeout=params.get('connect_timeout') or DEFAULT_CONNECT_TIMEOUT,
            read_timeout=params.get('read_timeout') or DEFAULT_READ_TIMEOUT,
            retries=params.get('retries') if params.get('retries') is not None else DEFAULT_RETRIES,
            host_option=prefix + 'api_host')

    # plain verbs, for modules that need a path the subclass does not name yet
    def get(self, path, params=None):
        return self.transport.get(path, params=params)

    def post(self, path, data=None, retry_safe=False):
        return self.transport.post(path, data=data, retry_safe=retry_safe)

    def put(self, path, data=None, retry_safe=None):
        """retry_safe=False: not repeated after it may have been done (a digest, a volume it allocates)."""
        return self.transport.put(path, data=data, retry_safe=retry_safe)

    def delete(self, path, params=None, retry_safe=None):
        return self.transport.delete(path, params=params, retry_safe=retry_safe)

    def version(self):
        return self.get('/version')

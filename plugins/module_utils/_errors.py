# -*- coding: utf-8 -*-
# Copyright (c) 2026 nbsync.proxmox contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Typed errors raised by every API client of the collection (PVE, PBS, NetBox, DNS).

Modules catch ``NbsyncError`` once, in ``main()``, and turn it into one
``fail_json``. Each error carries what a user needs to act: the object, the
field, and a hint. No error message ever contains a secret: clients build
messages from the request path and the server's answer only, never from
headers or request bodies.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import re


class NbsyncError(Exception):
    """Base class. ``str(err)`` is the one message a user sees."""

    def __init__(self, message, status=None, path=None, hint=None, field_errors=None):
        self.message = message
        self.status = status
        self.path = path
        self.hint = hint
        self.field_errors = dict(field_errors or {})
        super(NbsyncError, self).__init__(self._render())

    def _render(self):
        text = self.message
        if self.field_errors:
            text += ' (' + '; '.join('{0}: {1}'.format(k, v) for k, v in sorted(self.field_errors.items())) + ')'
        if self.hint:
            text += '. ' + self.hint
        return text

    def with_context(self, prefix):
        """Prefix the message (for example "backup job 'x': "), keeping the type and the details."""
        if not self.message.startswith(prefix):
            self.message = prefix + self.message
            self.args = (self._render(),)
        return self

    def to_dict(self):
        """What modules return beside ``msg``: machine-readable details of the failure."""
        out = {'error_type': type(self).__name__, 'status': self.status, 'path': self.path}
        if self.field_errors:
            out['field_errors'] = self.field_errors
        return out


class InvalidRequest(NbsyncError):
    """The server refused the parameters (HTTP 400); ``field_errors`` maps field -> reason."""


class AuthenticationFailed(NbsyncError):
    """The credentials were refused (HTTP 401)."""


class PermissionDenied(NbsyncError):
    """The user or token lacks a privilege (HTTP 403). ``acl_path`` and ``privilege`` as the server named them."""

    def __init__(self, message, acl_path=None, privilege=None, **kwargs):
        self.acl_path = acl_path
        self.privilege = privilege
        super(PermissionDenied, self).__init__(message, **kwargs)

    def to_dict(self):
        out = super(PermissionDenied, self).to_dict()
        out.update(acl_path=self.acl_path, privilege=self.privilege)
        return out


class NotFound(NbsyncError):
    """The object does not exist."""


class Conflict(NbsyncError):
    """The object exists already, or changed underneath us (digest mismatch)."""


class Locked(Conflict):
    """The guest or config is locked by another task (``lock`` names it when known)."""

    def __init__(self, message, lock=None, **kwargs):
        self.lock = lock
        super(Locked, self).__init__(message, **kwargs)


class Unavailable(NbsyncError):
    """The server or a node cannot answer now: connection refused, node offline, quorum lost, 502/503/504."""


class TLSError(Unavailable):
    """The server's certificate could not be verified (wrong CA, wrong fingerprint, wrong host name)."""


class TaskFailed(NbsyncError):
    """A Proxmox task ended with an exit status other than OK."""

    def __init__(self, message, upid=None, exitstatus=None, log_tail=None, **kwargs):
        self.upid = upid
        self.exitstatus = exitstatus
        self.log_tail = list(log_tail or [])
        super(TaskFailed, self).__init__(message, **kwargs)

    def to_dict(self):
        out = super(TaskFailed, self).to_dict()
        out.update(upid=self.upid, exitstatus=self.exitstatus, log_tail=self.log_tail)
        return out


class TaskTimeout(NbsyncError):
    """A task did not finish before its deadline. It may still be running on the server."""

    def __init__(self, message, upid=None, timeout=None, **kwargs):
        self.upid = upid
        self.timeout = timeout
        super(TaskTimeout, self).__init__(message, **kwargs)

    def to_dict(self):
        out = super(TaskTimeout, self).to_dict()
        out.update(upid=self.upid, timeout=self.timeout)
        return out


class ServerError(NbsyncError):
    """Any other error answer of the server, with its own message."""


class UnexpectedResponse(ServerError):
    """An answer that is not the API's: a redirect (never followed; ``location`` says where it pointed), or a
    success status whose body is not the JSON the API sends (a proxy's login page, a captive portal).

    Something between the client and the server usually answered; the message names the product, host:port,
    method and path, and which option to check.
    """

    def __init__(self, message, location=None, **kwargs):
        self.location = location
        super(UnexpectedResponse, self).__init__(message, **kwargs)

    def to_dict(self):
        out = super(UnexpectedResponse, self).to_dict()
        if self.location:
            out['location'] = self.location
        return out


def shown_location(location):
    """A redirect target as shown in messages: scheme, host and path, without a query (it may carry a token)."""
    return str(location or '').split('?', 1)[0].split('#', 1)[0][:200]


def describe_body(response):
    """'text/html, page title 'Sign in'' or a short start of the body: what answered instead of the API."""
    kind = (response.headers.get('Content-Type') or 'no content type').split(';', 1)[0].strip()
    text = response.text or ''
    title = re.search(r'<title[^>]*>([^<]{1,120})</title>', text, re.IGNORECASE)
    if title:
        return "{0}, page title '{1}'".format(kind, ' '.join(title.group(1).split()))
    start = ' '.join(text.split())[:80]
    return "{0}, body '{1}'".format(kind, start) if start else '{0}, empty body'.format(kind)


class ConfigurationError(NbsyncError):
    """The options given to the client do not make a usable connection (raised before any request)."""


class InvalidParameter(NbsyncError):
    """The user's input can never be applied (malformed MAC or CIDR, a disk shrink, conflicting options).

    Raised before any write, so nothing is half done.
    """

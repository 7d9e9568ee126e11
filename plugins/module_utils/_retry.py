# -*- coding: utf-8 -*-
# Copyright (c) 2026 nbsync.proxmox contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The retry policy every client follows, in one place: what may be sent again, and how long to wait.

A request is repeated only when repeating it cannot do a thing twice: an idempotent method (reading,
or writing values that are the same the second time), or any request whose connection never opened
(nothing was sent). A POST that may have reached the server is never repeated: it could clone, allocate
or create twice. The Proxmox transport (``_proxmox_transport``) and the NetBox client (``_netbox_client``)
both decide with these.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import random

DEFAULT_BACKOFF = 0.5
MAX_BACKOFF = 8.0
# GET/HEAD read; PUT and DELETE (and NetBox's PATCH of field values) leave the same state when repeated.
IDEMPOTENT_METHODS = frozenset(('GET', 'HEAD', 'PUT', 'DELETE'))
# Gateway answers: the server behind did not take the request, or nobody can say it did.
GATEWAY_STATUS = frozenset((502, 503, 504))


def never_sent(exc):
    """True when a requests connection error happened before a byte of the request went out (refused, DNS)."""
    text = repr(exc)
    return 'NewConnectionError' in text or 'Connection refused' in text or 'NameResolutionError' in text


def backoff_delay(attempt, base=DEFAULT_BACKOFF, cap=MAX_BACKOFF):
    """Seconds before retry number ``attempt`` (0 for the first): exponential, capped, jittered."""
    return min(cap, base * (2 ** attempt)) * random.uniform(0.5, 1.0)

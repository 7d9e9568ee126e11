# -*- coding: utf-8 -*-
# Copyright (c) 2026 nbsync.proxmox contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""One record of differences that yields ``changed``, ``diff`` and the per-field reasons together.

Modules compare only the options the user set, each after normalising both
sides (``'2048'`` and ``2048`` are the same memory), so a second run with the
same input finds nothing to change.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type


class DiffTracker:
    """Collects (field, before, after); ``changed`` and ``diff()`` are derived from the same records."""

    def __init__(self):
        self._changes = []
        self._before = {}
        self._after = {}

    def add(self, field, before, after):
        """Record a field's values; only a difference counts as a change."""
        self._before[field] = before
        self._after[field] = after
        if before != after:
            self._changes.append((field, before, after))

    def compare(self, desired, actual, normalize=None):
        """Compare each key of ``desired`` whose value is not None against ``actual``.

        normalize: {field: callable} applied to both sides before comparing (types, units, case).
        Returns the fields that differ, as {field: desired value}.
        """
        normalize = normalize or {}
        differ = {}
        for field, want in desired.items():
            if want is None:
                continue
            norm = normalize.get(field, _identity)
            have = actual.get(field)
            want_n = norm(want)
            have_n = norm(have) if have is not None else None
            self.add(field, have_n, want_n)
            if have_n != want_n:
                differ[field] = want
        return differ

    @property
    def changed(self):
        return bool(self._changes)

    @property
    def changes(self):
        return list(self._changes)

    def reasons(self):
        """Human lines, one per changed field: 'memory: 2048 -> 4096'."""
        return ['{0}: {1} -> {2}'.format(f, _show(b), _show(a)) for f, b, a in self._changes]

    def diff(self):
        """The --diff payload: only the fields that changed, before and after."""
        fields = [f for f, _b, _a in self._changes]
        return {'before': dict((f, self._before[f]) for f in fields),
                'after': dict((f, self._after[f]) for f in fields)}


def _identity(value):
    return value


def _show(value):
    return '(unset)' if value is None else value

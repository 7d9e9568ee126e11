# -*- coding: utf-8 -*-
# Copyright (c) 2026 nbsync.proxmox contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""One run per Proxmox cluster at a time, with a lock every run can see: a NetBox tag.

Runs start from many places (a shell, AWX schedules, NetBox event rules) and would otherwise overlap:
two runs that read NetBox at the same moment both clone the same new VM and both allocate an address
for the same interface. A run therefore holds, for each cluster it writes to, a NetBox tag whose slug
is ``nbsync-lock-cluster-<cluster id>``. Creating it is atomic (NetBox refuses a second tag with the
same slug), its description names the holder (host, process, run id) and an expiry, and a heartbeat
pushes the expiry forward while the run lives, so a crashed run blocks the next one for at most
``TTL`` seconds. A run that finds the lock held waits, up to its ``wait`` seconds, then fails naming
the holder. An expired lock is deleted by its id only, so two waiting runs never delete each other's
fresh lock.

The lock is taken before NetBox is read (a plan made from reads that another run then changes is
stale) and released when the run ends, whatever happened. Check mode takes no lock: it writes nothing.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import json
import os
import socket
import threading
import time
import uuid

from ansible_collections.nbsync.proxmox.plugins.module_utils._errors import (
    InvalidRequest, Locked, NbsyncError, ServerError, Unavailable,
)

SLUG_PREFIX = 'nbsync-lock-cluster-'
TTL = 300.0          # seconds a lock outlives its last heartbeat
HEARTBEAT = 60.0     # seconds between heartbeats
# Seconds between looks at a held lock; not 2: gunicorn's keep-alive closes idle connections after 2 s, and
# a request sent at that instant meets a reset.
POLL = 1.5
DEFAULT_WAIT = 600


def lock_slug(cluster_id):
    return '{0}{1}'.format(SLUG_PREFIX, cluster_id)


def describe_holder(description):
    """The holder's record from a lock tag's description; {} when it is not one of ours."""
    try:
        record = json.loads(description or '')
    except ValueError:
        return {}
    return record if isinstance(record, dict) else {}


class ClusterLocks:
    """The locks of one run: ``acquire(clusters)`` for every cluster it writes to, ``release()`` at the end."""

    def __init__(self, netbox, wait=DEFAULT_WAIT, ttl=TTL, heartbeat=HEARTBEAT, poll=POLL, clock=time.time,
                 sleep=time.sleep):
        self.nb = netbox
        self.wait = float(wait)
        self.ttl = float(ttl)
        self.heartbeat = float(heartbeat)
        self.poll = float(poll)
        self._clock = clock
        self._sleep = sleep
        self.owner = '{0} pid {1}'.format(socket.gethostname(), os.getpid())
        self.run_id = uuid.uuid4().hex[:12]
        self.held = {}              # cluster id -> (tag id, cluster name)
        self.lost = []              # names of clusters whose lock could not be refreshed
        self.waited = 0.0
        self._stop = threading.Event()
        self._thread = None
        self._mutex = threading.Lock()

    # ------------------------------------------------------------------ public

    def acquire(self, clusters):
        """Take the lock of each cluster (by id order, so two runs never wait on each other crosswise)."""
        started = self._clock()
        deadline = started + self.wait
        try:
            for cluster in sorted(clusters, key=lambda c: c['id']):
                self._acquire_one(cluster, deadline)
        except BaseException:
            self.release()
            raise
        self.waited = self._clock() - started
        if self.held and self.heartbeat > 0:
            self._thread = threading.Thread(target=self._beat, name='nbsync-lock-heartbeat')
            self._thread.daemon = True
            self._thread.start()

    def release(self):
        """Give back every lock held; what NetBox cannot delete now expires by itself within the TTL."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None
        with self._mutex:
            ids = [tag_id for tag_id, _name in self.held.values()]
            self.held = {}
        if ids:
            try:
                self.nb.delete('extras.tags', ids)
            except NbsyncError:
                pass    # it expires by itself: TTL seconds after the last heartbeat

    # ----------------------------------------------------------------- helpers

    def _record(self, cluster):
        now = self._clock()
        return json.dumps({'nbsync': 'lock', 'owner': self.owner, 'run': self.run_id, 'cluster': cluster['name'],
                           'since': int(now), 'expires': int(now + self.ttl)}, sort_keys=True)

    def _acquire_one(self, cluster, deadline):
        slug = lock_slug(cluster['id'])
        refused = []                # creates that failed while nobody held the lock
        while True:
            try:
                made = self.nb.create('extras.tags', [{'name': slug, 'slug': slug, 'color': '9e9e9e',
                                                       'description': self._record(cluster)}])[0]
            except (InvalidRequest, ServerError, Unavailable) as err:
                # InvalidRequest: the slug exists, NetBox refused the duplicate. ServerError: two creates at
                # the same instant both pass NetBox's own check and the database's unique index refuses the
                # second (HTTP 500). Unavailable: the answer was lost. The look below tells which it was.
                failure = err
            else:
                with self._mutex:
                    self.held[cluster['id']] = (made['id'], cluster['name'])
                return
            holder = self.nb.get('extras.tags', slug=slug)
            if holder is None:
                # Released between our create and our look: try again; but a create that keeps failing with
                # nobody holding the lock is NetBox refusing it (a permission, a bad value): say so.
                refused.append(failure)
                if len(refused) >= 3 or self._clock() >= deadline:
                    raise failure
                self._sleep(min(self.poll, 0.2 * len(refused)))
                continue
            record = describe_holder(holder.get('description'))
            if record.get('run') == self.run_id:
                with self._mutex:   # our own create went through although its answer was lost
                    self.held[cluster['id']] = (holder['id'], cluster['name'])
                return
            now = self._clock()
            if record.get('expires') is not None and record['expires'] < now:
                # The holder stopped beating (a crashed or killed run): its lock goes, by its id only.
                self.nb.delete('extras.tags', [holder['id']])
                continue
            if now >= deadline:
                raise Locked(
                    'cluster {0!r} is being synchronised by another run ({1}, run {2}, holding it since {3}); '
                    'waited {4:g} s'.format(cluster['name'], record.get('owner', 'unknown holder'),
                                            record.get('run', '?'), _when(record.get('since')), self.wait),
                    hint='run again when it has finished, or raise lock_wait; a lock whose run died expires '
                         'by itself at {0} (NetBox tag {1})'.format(_when(record.get('expires')), slug))
            self._sleep(max(0.0, min(self.poll, deadline - now)))

    def _beat(self):
        while not self._stop.wait(self.heartbeat):
            with self._mutex:
                held = list(self.held.items())
            for cluster_id, (tag_id, name) in held:
                try:
                    self.nb.update('extras.tags', [{'id': tag_id, 'description': self._record(
                        {'id': cluster_id, 'name': name})}])
                except NbsyncError:
                    if name not in self.lost:
                        self.lost.append(name)


def _when(epoch):
    if epoch is None:
        return 'an unknown time'
    return time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(epoch))

"""The run lock's decisions, against an in-memory stand-in for NetBox's tags (the real thing: the lab tests)."""

import pytest

from ansible_collections.nbsync.proxmox.plugins.module_utils._errors import (
    InvalidRequest, Locked, PermissionDenied, ServerError,
)
from ansible_collections.nbsync.proxmox.plugins.module_utils._run_lock import ClusterLocks, lock_slug

CLUSTER = {'id': 7, 'name': 'dc1'}


class Tags:
    """extras.tags with a unique slug. ``duplicate`` is how a duplicate is refused: NetBox's own check
    (HTTP 400) or, when two creates race past it, the database's unique index (HTTP 500)."""

    def __init__(self, duplicate=InvalidRequest, refuse=None):
        self.tags, self.next_id, self.duplicate, self.refuse, self.creates = {}, 1, duplicate, refuse, 0

    def create(self, endpoint, items):
        self.creates += 1
        if self.refuse is not None:
            raise self.refuse
        item = items[0]
        if item['slug'] in self.tags:
            raise self.duplicate('NetBox refused create of 1 extras.tags')
        self.tags[item['slug']] = dict(item, id=self.next_id)
        self.next_id += 1
        return [self.tags[item['slug']]]

    def get(self, endpoint, slug):
        return self.tags.get(slug)

    def delete(self, endpoint, ids):
        self.tags = dict((k, v) for k, v in self.tags.items() if v['id'] not in ids)

    def update(self, endpoint, items):
        return items


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


@pytest.mark.parametrize('duplicate', [InvalidRequest, ServerError])
def test_a_held_lock_is_waited_for_then_refused_naming_the_holder(duplicate):
    tags, clock = Tags(duplicate), Clock()
    holder = ClusterLocks(tags, heartbeat=0, clock=clock, sleep=clock.sleep)
    holder.acquire([CLUSTER])
    waiting = ClusterLocks(tags, wait=10, heartbeat=0, clock=clock, sleep=clock.sleep)
    with pytest.raises(Locked) as err:
        waiting.acquire([CLUSTER])
    assert holder.run_id in str(err.value) and "'dc1'" in str(err.value) and lock_slug(7) in str(err.value)
    assert 10 <= clock.now - 1000 <= 10 + waiting.poll
    holder.release()
    waiting.acquire([CLUSTER])                  # free again: taken at once
    assert waiting.held


def test_an_expired_lock_is_taken_over_by_its_id_only():
    tags, clock = Tags(), Clock()
    ClusterLocks(tags, ttl=5, heartbeat=0, clock=clock, sleep=clock.sleep).acquire([CLUSTER])   # then it dies
    clock.now += 6
    taker = ClusterLocks(tags, wait=0, heartbeat=0, clock=clock, sleep=clock.sleep)
    taker.acquire([CLUSTER])
    assert taker.run_id in tags.get('extras.tags', slug=lock_slug(7))['description']


def test_a_create_netbox_keeps_refusing_with_nobody_holding_is_said_not_waited_for():
    tags, clock = Tags(refuse=PermissionDenied('NetBox denied create of 1 extras.tags')), Clock()
    with pytest.raises(PermissionDenied):
        ClusterLocks(tags, wait=600, heartbeat=0, clock=clock, sleep=clock.sleep).acquire([CLUSTER])
    assert tags.creates == 1                    # a permission is not retried
    tags, clock = Tags(refuse=ServerError('NetBox failed create of 1 extras.tags (HTTP 500)')), Clock()
    with pytest.raises(ServerError):
        ClusterLocks(tags, wait=600, heartbeat=0, clock=clock, sleep=clock.sleep).acquire([CLUSTER])
    assert tags.creates == 3 and clock.now - 1000 < 5

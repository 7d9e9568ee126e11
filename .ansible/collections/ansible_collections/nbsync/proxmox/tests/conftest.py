"""Shared pytest setup: the collection importable, and the lab description for integration tests."""

import json
import os
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
COLLECTIONS = os.path.join(ROOT, '.build', 'collections')
LINK = os.path.join(COLLECTIONS, 'ansible_collections', 'nbsync', 'proxmox')
if not os.path.exists(LINK):
    os.makedirs(os.path.dirname(LINK), exist_ok=True)
    os.symlink(ROOT, LINK)
if COLLECTIONS not in sys.path:
    sys.path.insert(0, COLLECTIONS)
LAB_DIR = os.environ.get('NBSYNC_LAB_DIR', os.path.join(ROOT, '.lab'))
LAB_FILE = os.path.join(LAB_DIR, 'lab.json')


@pytest.fixture(scope='session')
def lab():
    """The running lab's description (.lab/lab.json, written by `make lab-up`)."""
    if not os.path.exists(LAB_FILE):
        if os.environ.get('CI'):
            pytest.fail('the lab is not up: {0} is missing (make lab-up)'.format(LAB_FILE))
        pytest.skip('the lab is not up: run make lab-up')
    with open(LAB_FILE) as handle:
        return json.load(handle)

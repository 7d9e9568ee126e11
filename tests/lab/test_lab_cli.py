"""The lab's own commands, on the running lab: a second ``up`` is quick and changes nothing, ``status`` says
each service runs, and an unknown service is refused by name."""

import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
LAB = os.path.join(HERE, 'lab.py')


def _lab(*args):
    return subprocess.run([sys.executable, LAB] + list(args), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, timeout=600, check=False)


def test_a_second_up_takes_seconds_and_keeps_the_credentials(lab):
    started = time.monotonic()
    proc = _lab('up')
    took = time.monotonic() - started
    assert proc.returncode == 0, proc.stdout
    assert took < 30, 'a second lab-up took {0:.0f} s'.format(took)
    root = os.path.dirname(os.path.dirname(HERE))
    lab_json = os.path.join(os.environ.get('NBSYNC_LAB_DIR', os.path.join(root, '.lab')), 'lab.json')
    with open(lab_json) as handle:
        again = json.load(handle)
    assert again['pve']['token']['secret'] == lab['pve']['token']['secret']   # tests keep what they hold
    assert again['netbox']['token'] == lab['netbox']['token']
    for secret in (lab['pve']['token']['secret'], lab['netbox']['token'], lab['pbs']['token']['secret']):
        assert secret not in proc.stdout                                     # never printed


def test_status_says_every_service_runs(lab):
    proc = _lab('status')
    assert proc.returncode == 0, proc.stdout
    lines = [line.split() for line in proc.stdout.splitlines() if line.strip()]
    assert sorted(fields[0] for fields in lines) == ['dns', 'netbox', 'pbs', 'pve']
    assert all(fields[1] == 'running' for fields in lines), proc.stdout


def test_an_unknown_service_is_named():
    proc = _lab('status', 'vmware')
    assert proc.returncode != 0
    assert 'vmware' in proc.stdout

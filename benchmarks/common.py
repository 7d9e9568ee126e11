"""What the seed and the run share: the lab, the 1,000 VMs (one deterministic definition), helpers.

A VM i (0-based) is described once here; ``seed.py`` writes it to NetBox and ``run.py`` writes the
matching guest to the benchmark's own fakepve, so that a sync between the two plans nothing.
"""

import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
COLLECTIONS = os.path.join(ROOT, '.build', 'collections')
if COLLECTIONS not in sys.path:
    sys.path.insert(0, COLLECTIONS)

COUNT = 1000
CLUSTER = 'bench-1k'
CLUSTER_TYPE = 'proxmox'
VMID_BASE = 20000
NODES = ('pve1', 'pve2', 'pve3')
PREFIX = '10.213.0.0/16'
GATEWAY = '10.213.0.1'
BRIDGE = 'vmbr0'
STORAGE = 'local-lvm'
DISK_MB = 10240
DEFAULTS = {'bridge': BRIDGE, 'storage': STORAGE, 'template': 'debian12-cloudinit'}


def load_lab():
    with open(os.path.join(ROOT, '.lab', 'lab.json'), encoding='utf-8') as handle:
        return json.load(handle)


def vm_def(i):
    """Everything about VM i, both sides."""
    vmid = VMID_BASE + i
    return {
        'name': 'bench-{0:04d}'.format(i),
        'vmid': vmid,
        'node': NODES[i % len(NODES)],
        'vcpus': 1 + i % 4,
        'memory': 1024 * (1 + i % 4),
        'mac': 'BC:24:11:D5:{0:02X}:{1:02X}'.format(i // 256, i % 256),
        'ip': '10.213.{0}.{1}/16'.format(1 + i // 200, 10 + i % 200),
        'disk_mb': DISK_MB,
    }


def guest_spec(i):
    """The fakepve guest (POST /_lab/guests entry) that matches VM i exactly."""
    d = vm_def(i)
    return {
        'vmid': d['vmid'], 'name': d['name'], 'type': 'qemu', 'node': d['node'], 'status': 'running',
        'config': {
            'name': d['name'], 'cores': d['vcpus'], 'sockets': 1, 'memory': str(d['memory']), 'ostype': 'l26',
            'scsihw': 'virtio-scsi-single', 'boot': 'order=scsi0', 'agent': 'enabled=1',
            'scsi0': '{0}:vm-{1}-disk-0,iothread=1,size={2}G'.format(STORAGE, d['vmid'], d['disk_mb'] // 1024),
            'ide2': '{0}:vm-{1}-cloudinit,media=cdrom'.format(STORAGE, d['vmid']),
            'net0': 'virtio={0},bridge={1}'.format(d['mac'], BRIDGE),
            'ipconfig0': 'ip={0},gw={1}'.format(d['ip'], GATEWAY),
        },
    }


def chunks(items, size):
    for start in range(0, len(items), size):
        yield items[start:start + size]

#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026 nbsync.proxmox contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r'''
module: proxmox_vm_clone
short_description: Clone a QEMU VM or LXC container from a template and keep it configured
version_added: 0.1.0
description:
  - Clones a guest from a template given by name or vmid, then brings it to the requested configuration
    (CPU, memory, disks on any bus, NICs, cloud-init, agent, boot and protection flags) and power state in
    the same task.
  - An existing guest (matched by O(vmid), or by O(name) within the cluster) is updated, never recloned.
    Only the options you set are compared, with types normalised, so a second run reports no change.
  - Changes that a running guest only takes at its next start are reported in RV(restart_required).
  - Every wait is on the task's UPID, bound by O(timeout).
extends_documentation_fragment:
  - nbsync.proxmox.pve
attributes:
  check_mode:
    support: full
    description: Reads the cluster and reports what it would clone, set, resize and power; changes nothing.
  diff_mode:
    support: full
    description: Shows each changed option before and after.
options:
  name:
    description:
      - Name of the guest (the hostname for a container). Identifies the guest when O(vmid) is not given;
        a name that two guests carry is reported, not guessed.
    type: str
  vmid:
    description:
      - The guest's vmid, V(100) to V(999999999) as PVE allows. For a new clone, the next free vmid when left out
        (V(0) is refused, not taken as "left out").
      - A vmid that belongs to a guest with another O(name) is refused.
    type: int
    aliases: [newid]
  template:
    description:
      - Template (or guest, for a full clone) to clone from, by name or vmid. Needed only to create.
    type: str
  node:
    description:
      - Node the new clone is placed on. Defaults to the template's node. Not used to move existing guests.
    type: str
  full:
    description: Full clone (V(true)) or linked clone (V(false), needs a template).
    type: bool
    default: true
  storage:
    description:
      - Target storage of a full clone; also the storage of new disks and of a cloud-init drive that is added.
    type: str
  format:
    description: Disk format of a full clone (QEMU).
    type: str
    choices: [raw, qcow2, vmdk]
  pool:
    description: Resource pool the new clone joins.
    type: str
  description:
    description: Description (notes) of the guest.
    type: str
  tags:
    description: Tags of the guest; compared as a set.
    type: list
    elements: str
  cores:
    description: CPU cores (per socket, for QEMU).
    type: int
  sockets:
    description: CPU sockets (QEMU).
    type: int
  cpu:
    description: CPU type (QEMU), for example V(host) or V(x86-64-v2-AES).
    type: str
  memory:
    description: Memory in MiB.
    type: int
  balloon:
    description: Minimum memory for ballooning in MiB (QEMU); V(0) turns ballooning off.
    type: int
  swap:
    description: Swap in MiB (LXC).
    type: int
  disks:
    description:
      - Disks to grow, tune or add. A disk not named here is left alone. Growing calls PVE's resize;
        shrinking is refused. A new disk needs O(disks[].size) in whole GiB and a storage.
    type: list
    elements: dict
    suboptions:
      name:
        description: Slot, V(scsiN), V(virtioN), V(sataN) or V(ideN) for QEMU; V(rootfs) or V(mpN) for LXC.
        type: str
        required: true
      size:
        description: Size, for example V(32G) or V(512M) (units K, M, G, T; powers of 1024).
        type: str
      storage:
        description: Storage of a new disk (defaults to O(storage), else the storage of the guest's first disk).
        type: str
      format:
        description: Image format of a new QEMU disk.
        type: str
        choices: [raw, qcow2, vmdk]
      discard:
        description: Pass discard/trim to the storage (QEMU).
        type: bool
      ssd:
        description: Present the disk as an SSD (QEMU).
        type: bool
      iothread:
        description: Use an IO thread (QEMU, VirtIO and SCSI with virtio-scsi-single).
        type: bool
      cache:
        description: Cache mode (QEMU).
        type: str
        choices: [none, writethrough, writeback, unsafe, directsync]
      backup:
        description: Include the disk in backups.
        type: bool
      mp:
        description: Mount path in the container of an LXC V(mpN).
        type: str
  nics:
    description:
      - Network interfaces, V(net0), V(net1)... by position unless O(nics[].name) is given. Properties not
        given are kept (the MAC stays unless O(nics[].macaddr) is set).
    type: list
    elements: dict
    suboptions:
      name:
        description: Interface slot, V(netN).
        type: str
      model:
        description: NIC model (QEMU), V(virtio) for a new NIC when left out.
        type: str
      bridge:
        description: Bridge, required for a new NIC.
        type: str
      tag:
        description: VLAN tag.
        type: int
      macaddr:
        description: MAC address, V(XX:XX:XX:XX:XX:XX).
        type: str
      firewall:
        description: Enable the PVE firewall on the NIC.
        type: bool
      mtu:
        description: MTU.
        type: int
      rate:
        description: Rate limit in MB/s.
        type: float
      link_down:
        description: Disconnect the NIC.
        type: bool
      interface:
        description: Interface name inside a container (LXC), V(ethN) for a new NIC when left out.
        type: str
      ip:
        description: IPv4 of a container NIC, CIDR or V(dhcp) (LXC).
        type: str
      gw:
        description: IPv4 gateway of a container NIC (LXC).
        type: str
      ip6:
        description: IPv6 of a container NIC, CIDR, V(auto) or V(dhcp) (LXC).
        type: str
      gw6:
        description: IPv6 gateway of a container NIC (LXC).
        type: str
  ciuser:
    description: Cloud-init user (QEMU).
    type: str
  cipassword:
    description:
      - Cloud-init password (QEMU). PVE never returns it, so it is set when the guest is new or when
        O(update_password=always).
    type: str
  update_password:
    description: When to set O(cipassword) on an existing guest.
    type: str
    choices: [always, on_create]
    default: on_create
  sshkeys:
    description: Public SSH keys for cloud-init, one per line (QEMU).
    type: str
  ipconfig:
    description: Cloud-init network configuration, V(ipconfig0), V(ipconfig1)... by position (QEMU).
    type: list
    elements: dict
    suboptions:
      ip:
        description: IPv4 address in CIDR form, or V(dhcp).
        type: str
      gw:
        description: IPv4 gateway.
        type: str
      ip6:
        description: IPv6 address in CIDR form, V(dhcp) or V(auto).
        type: str
      gw6:
        description: IPv6 gateway.
        type: str
  nameserver:
    description: DNS servers, space separated (QEMU through cloud-init; LXC in the container's configuration).
    type: str
  searchdomain:
    description: DNS search domain (QEMU through cloud-init; LXC in the container's configuration).
    type: str
  cicustom:
    description: Custom cloud-init files, for example V(user=local:snippets/user.yml) (QEMU).
    type: str
  agent:
    description: QEMU guest agent, V(true)/V(false) or a property string such as V(enabled=1,fstrim_cloned_disks=1).
    type: raw
  onboot:
    description: Start the guest when the node boots.
    type: bool
  protection:
    description: Protect the guest from removal.
    type: bool
  state:
    description:
      - V(present) clones or updates the guest and leaves its power state alone; V(started) and V(stopped)
        also set the power state; V(paused) hibernates a QEMU VM (suspend to disk; V(started) resumes it);
        V(absent) removes the guest (a guest with protection is refused).
    type: str
    choices: [present, started, stopped, paused, absent]
    default: present
  shutdown_timeout:
    description: Seconds an ACPI shutdown may take (O(state=stopped)).
    type: int
    default: 60
  force:
    description: Stop the guest hard when the ACPI shutdown did not finish in O(shutdown_timeout).
    type: bool
    default: false
  purge:
    description: With O(state=absent), also remove the guest from backup jobs, replication and HA.
    type: bool
    default: false
  timeout:
    description: Seconds the whole task may wait on Proxmox tasks (clone, configure, resize, power).
    type: int
    default: 300
notes:
  - Disks are never moved between storages and guests are never migrated by this module.
seealso:
  - module: nbsync.proxmox.proxmox_info
author:
  - nbsync.proxmox developers (!UNKNOWN)
'''

EXAMPLES = r'''
- name: A web server from the Debian template, started
  nbsync.proxmox.proxmox_vm_clone:
    api_host: pve1.example.com
    api_token: "{{ vault_pve_token }}"
    template: debian12-cloudinit
    name: web1
    node: pve2
    storage: ceph-rbd
    cores: 4
    memory: 4096
    disks:
      - name: scsi0
        size: 32G
      - name: virtio1
        size: 100G
        storage: ceph-rbd
    nics:
      - bridge: vmbr0
        tag: 20
      - bridge: vmbr1
        firewall: true
    ciuser: debian
    sshkeys: "{{ lookup('ansible.builtin.file', 'id_ed25519.pub') }}"
    ipconfig:
      - ip: 10.20.0.15/24
        gw: 10.20.0.1
    nameserver: 10.20.0.2
    state: started

- name: Remove it, even from backup jobs
  nbsync.proxmox.proxmox_vm_clone:
    name: web1
    state: absent
    purge: true
'''

RETURN = r'''
vmid:
  description: The guest's vmid (for a planned clone in check mode, the vmid it would get).
  returned: always, when a guest is or would be there
  type: int
  sample: 104
node:
  description: The node the guest is on.
  returned: when a guest is or would be there
  type: str
  sample: pve2
type:
  description: V(qemu) or V(lxc).
  returned: when a guest is or would be there
  type: str
created:
  description: Whether a clone was made (or would be, in check mode).
  returned: when a clone was made
  type: bool
mac_addresses:
  description: MAC address of each NIC.
  returned: when the guest exists after the run
  type: dict
  sample: {"net0": "BC:24:11:0A:0B:0C"}
status:
  description: Power status after the run (V(absent) when removed).
  returned: when the guest exists after the run, or was removed
  type: str
  sample: running
restart_required:
  description: Options that a running guest takes only after its next start.
  returned: when a running guest was changed
  type: list
  elements: str
  sample: ["cores", "memory"]
actions:
  description: What was done (or would be, in check mode), one line each, with field-level reasons.
  returned: always
  type: list
  elements: str
  sample: ["clone qemu 9000 (debian12-cloudinit) -> 104 'web1' on pve2", "set memory: 2048 -> 4096"]
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.nbsync.proxmox.plugins.module_utils import _module
from ansible_collections.nbsync.proxmox.plugins.module_utils._arg_specs import pve_argument_spec
from ansible_collections.nbsync.proxmox.plugins.module_utils._pve_client import PveClient
from ansible_collections.nbsync.proxmox.plugins.module_utils._vm_clone import GuestManager


def argument_spec():
    spec = pve_argument_spec()
    spec.update(
        name=dict(type='str'),
        vmid=dict(type='int', aliases=['newid']),
        template=dict(type='str'),
        node=dict(type='str'),
        full=dict(type='bool', default=True),
        storage=dict(type='str'),
        format=dict(type='str', choices=['raw', 'qcow2', 'vmdk']),
        pool=dict(type='str'),
        description=dict(type='str'),
        tags=dict(type='list', elements='str'),
        cores=dict(type='int'),
        sockets=dict(type='int'),
        cpu=dict(type='str'),
        memory=dict(type='int'),
        balloon=dict(type='int'),
        swap=dict(type='int'),
        disks=dict(type='list', elements='dict', options=dict(
            name=dict(type='str', required=True),
            size=dict(type='str'),
            storage=dict(type='str'),
            format=dict(type='str', choices=['raw', 'qcow2', 'vmdk']),
            discard=dict(type='bool'),
            ssd=dict(type='bool'),
            iothread=dict(type='bool'),
            cache=dict(type='str', choices=['none', 'writethrough', 'writeback', 'unsafe', 'directsync']),
            backup=dict(type='bool'),
            mp=dict(type='str'),
        )),
        nics=dict(type='list', elements='dict', options=dict(
            name=dict(type='str'),
            model=dict(type='str'),
            bridge=dict(type='str'),
            tag=dict(type='int'),
            macaddr=dict(type='str'),
            firewall=dict(type='bool'),
            mtu=dict(type='int'),
            rate=dict(type='float'),
            link_down=dict(type='bool'),
            interface=dict(type='str'),
            ip=dict(type='str'),
            gw=dict(type='str'),
            ip6=dict(type='str'),
            gw6=dict(type='str'),
        )),
        ciuser=dict(type='str'),
        cipassword=dict(type='str', no_log=True),
        update_password=dict(type='str', choices=['always', 'on_create'], default='on_create', no_log=False),
        sshkeys=dict(type='str', no_log=False),
        ipconfig=dict(type='list', elements='dict', options=dict(
            ip=dict(type='str'), gw=dict(type='str'), ip6=dict(type='str'), gw6=dict(type='str'),
        )),
        nameserver=dict(type='str'),
        searchdomain=dict(type='str'),
        cicustom=dict(type='str'),
        agent=dict(type='raw'),
        onboot=dict(type='bool'),
        protection=dict(type='bool'),
        state=dict(type='str', choices=['present', 'started', 'stopped', 'paused', 'absent'], default='present'),
        shutdown_timeout=dict(type='int', default=60),
        force=dict(type='bool', default=False),
        purge=dict(type='bool', default=False),
        timeout=dict(type='int', default=300),
    )
    return spec


def manage(module):
    result = GuestManager(PveClient.from_params(module.params), module.params, module.check_mode).run()
    for warning in result.pop('warnings', []):
        module.warn(warning)
    if not module._diff:
        result.pop('diff', None)
    return result


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True,
                           required_one_of=[('name', 'vmid')])
    _module.run(module, manage)


if __name__ == '__main__':
    main()

#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026 nbsync.proxmox contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r'''
module: netbox_vm_sync
short_description: Make Proxmox VE match the VMs documented in NetBox
version_added: 0.1.0
description:
  - Reads the VMs of NetBox's Proxmox clusters (cluster type C(proxmox)) with a fixed number of paged list
    calls, reads each Proxmox cluster with one C(/cluster/resources) call plus the configs of matched guests
    (concurrently, bounded by O(concurrency)), plans each VM with a pure function and applies the plans.
  - Creates missing guests by cloning, updates CPU, memory, disks, NICs, tags and cloud-init of existing ones,
    sets the power state the NetBox status asks for, and writes the vmid, node and MAC addresses Proxmox
    chose back to NetBox. Interfaces without an address get the next free one of their prefix.
  - One VM's failure never stops the others; RV(vms) reports each VM as created, updated, unchanged, removed,
    skipped or failed (with the reason), and RV(summary) counts them.
  - The NetBox contract (statuses, custom fields, defaults) is in the collection's C(docs/netbox-contract.md).
extends_documentation_fragment:
  - nbsync.proxmox.netbox
attributes:
  check_mode:
    support: full
    description: Reads both sides and reports the plan per VM; writes to neither.
  diff_mode:
    support: full
    description:
      - Before and after of each changed VM's Proxmox configuration, keyed by C(cluster/VM name) (also in RV(vms[].diff)).
        The field-level list of changes, NetBox's side included, is in RV(vms[].changes).
options:
  clusters:
    description:
      - Proxmox API credentials per NetBox cluster, by the NetBox cluster's name. Keep them in ansible-vault;
        they never come from NetBox.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description: Name of the cluster in NetBox.
        type: str
        required: true
      api_host:
        description: A node of the cluster.
        type: str
        required: true
      api_port:
        description: API port.
        type: int
        default: 8006
      api_user:
        description: User owning the token (with O(clusters[].api_token_id) and O(clusters[].api_token_secret)).
        type: str
      api_token_id:
        description: Token id.
        type: str
      api_token_secret:
        description: Token secret.
        type: str
      api_token:
        description: Whole token, V(user@realm!id=secret).
        type: str
      validate_certs:
        description: Verify TLS.
        type: bool
        default: true
      ca_path:
        description: CA file for the cluster's certificate.
        type: path
      fingerprint:
        description: SHA-256 fingerprint to pin.
        type: str
  defaults:
    description:
      - What a VM leaves out (template, storage, bridge, disk_bus, ciuser, sshkeys, nameserver, searchdomain,
        pool, node), at the top level and per cluster (C(clusters.<name>)) and per role (C(roles.<slug>)).
    type: dict
    default: {}
  limit_clusters:
    description: Only these NetBox clusters.
    type: list
    elements: str
  limit_tags:
    description: Only VMs with one of these tags (slugs).
    type: list
    elements: str
  limit_roles:
    description: Only VMs with one of these roles (slugs).
    type: list
    elements: str
  limit_names:
    description: Only these VMs.
    type: list
    elements: str
  allow_delete:
    description:
      - Remove guests of VMs in status C(decommissioning) (and then their NetBox objects and IP addresses).
        Without it they are reported as skipped. A guest with Proxmox protection is never removed.
    type: bool
    default: false
  shutdown_timeout:
    description: Seconds a guest gets to shut down (ACPI or guest agent) when NetBox sets it C(offline) or C(staged).
    type: int
    default: 120
  force_stop:
    description:
      - When a guest has not shut down within O(shutdown_timeout), stop it hard. Without it such a guest is
        reported as failed, still running.
    type: bool
    default: false
  concurrency:
    description: How many VMs are read and applied at the same time.
    type: int
    default: 4
  timeout:
    description: Seconds one VM's Proxmox tasks may take.
    type: int
    default: 600
  lock_wait:
    description:
      - Seconds to wait for another run that holds a cluster of this run (two runs started together, an AWX
        schedule and a NetBox event). Runs are serialised per cluster with a lock in NetBox (a tag with the slug
        C(nbsync-lock-cluster-<cluster id>) naming its holder and expiry); after this long the run fails naming
        the holder. A lock whose run died expires by itself five minutes after its last heartbeat.
      - Check mode takes no lock (it writes nothing). The NetBox token needs permission to add, change and
        delete tags.
    type: int
    default: 600
author:
  - nbsync.proxmox developers (!UNKNOWN)
'''

EXAMPLES = r'''
- name: Make Proxmox match NetBox
  nbsync.proxmox.netbox_vm_sync:
    netbox_url: https://netbox.example.com
    netbox_token: "{{ vault_netbox_token }}"
    clusters: "{{ vault_proxmox_clusters }}"
    defaults:
      template: debian12-cloudinit
      storage: ceph-rbd
      bridge: vmbr0
      clusters:
        dc1:
          nameserver: 10.0.0.2
    limit_tags: [web]
  register: sync
'''

RETURN = r'''
summary:
  description: How many VMs ended in each result.
  returned: always
  type: dict
  sample: {"created": 1, "updated": 2, "unchanged": 40, "removed": 0, "skipped": 1, "failed": 0}
vms:
  description: One entry per VM, with its result, the field-level changes and any error.
  returned: always
  type: list
  elements: dict
  sample: [{"name": "web1", "cluster": "dc1", "status": "active", "action": "update", "result": "updated",
            "vmid": 104, "changes": ["set memory: 2048 -> 4096"], "error": null}]
  contains:
    name:
      description: The VM's name in NetBox.
      returned: always
      type: str
    cluster:
      description: The NetBox cluster of the VM.
      returned: always
      type: str
    status:
      description: The VM's status in NetBox.
      returned: always
      type: str
    action:
      description: What the plan for the VM was, one of C(create), C(update), C(remove), C(noop), C(skip) or C(fail).
      returned: always
      type: str
    result:
      description: How the VM ended, one of C(created), C(updated), C(unchanged), C(removed), C(skipped) or C(failed).
      returned: always
      type: str
    vmid:
      description: The vmid of the Proxmox guest the VM was matched to, or of the guest created (or to be created, in check mode); null when there was none.
      returned: always
      type: int
    changes:
      description: The field-level changes, done or (in check mode) planned, or why the VM was skipped.
      returned: always
      type: list
      elements: str
    restart_required:
      description: Options a running guest takes only after its next start (changed on this run).
      returned: always
      type: list
      elements: str
    error:
      description:
        - Why the VM failed; null when nothing went wrong.
        - A VM done in Proxmox whose write-back to NetBox failed has it too (and in RV(vms[].warning)).
      returned: always
      type: str
    warning:
      description: A problem that did not fail the VM, such as a failed write-back to NetBox.
      returned: when there was one
      type: str
    diff:
      description: Before and after of the guest's Proxmox configuration (only the options that change).
      returned: when the VM was created or updated in Proxmox (or would be, in check mode)
      type: dict
diff:
  description: Before and after per changed VM, keyed by C(cluster/VM name) (with C(--diff)).
  returned: when run with --diff and a VM changed
  type: dict
custom_fields_created:
  description: Custom fields the collection created in NetBox on this run (or would, in check mode).
  returned: always
  type: list
  elements: str
clusters:
  description: The NetBox clusters of type proxmox that were read.
  returned: always
  type: list
  elements: str
unmanaged:
  description:
    - Guests of the clusters read that no NetBox VM claims (by recorded vmid or, for adoption, by name). They are
      never touched. Listed by runs without O(limit_names), O(limit_tags) and O(limit_roles) (a limited run
      does not read every VM that could claim them).
  returned: always
  type: list
  elements: dict
  sample: [{"cluster": "dc1", "vmid": 142, "node": "pve2", "name": "old-web", "type": "qemu", "status": "running"}]
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.nbsync.proxmox.plugins.module_utils import _module
from ansible_collections.nbsync.proxmox.plugins.module_utils._arg_specs import netbox_argument_spec
from ansible_collections.nbsync.proxmox.plugins.module_utils._errors import ConfigurationError
from ansible_collections.nbsync.proxmox.plugins.module_utils._netbox_client import NetBoxClient
from ansible_collections.nbsync.proxmox.plugins.module_utils._pve_client import PveClient
from ansible_collections.nbsync.proxmox.plugins.module_utils._reconcile import Reconciler, combined_diff


def pve_factory(clusters):
    by_name = dict((c['name'], c) for c in clusters)

    def make(name):
        params = by_name.get(name)
        if params is None:
            raise ConfigurationError('cluster {0!r} has no credentials in clusters (the vaulted variables)'.format(name),
                                     hint='add an entry with name {0!r}, api_host and a token'.format(name))
        return PveClient.from_params(params)
    return make


def sync(module):
    p = module.params
    reconciler = Reconciler(NetBoxClient.from_params(p), pve_factory(p['clusters']), defaults=p['defaults'],
                            check_mode=module.check_mode, allow_delete=p['allow_delete'],
                            concurrency=p['concurrency'], timeout=p['timeout'],
                            shutdown_timeout=p['shutdown_timeout'], force_stop=p['force_stop'],
                            lock_wait=p['lock_wait'])
    result = reconciler.run(clusters=p['limit_clusters'], tags=p['limit_tags'], roles=p['limit_roles'],
                            names=p['limit_names'])
    for vm in result['vms']:  # half-done work (a failed write-back) is shown, not only returned
        if vm.get('warning'):
            module.warn('{0} ({1}): {2}'.format(vm['name'], vm['cluster'], vm['warning']))
    for text in result.pop('warnings', []):
        module.warn(text)
    if module._diff:
        diff = combined_diff(result['vms'])
        if diff:
            result['diff'] = diff
    return result


def main():
    spec = netbox_argument_spec()
    spec.update(
        clusters=dict(type='list', elements='dict', required=True, options=dict(
            name=dict(type='str', required=True),
            api_host=dict(type='str', required=True),
            api_port=dict(type='int', default=8006),
            api_user=dict(type='str'),
            api_token_id=dict(type='str', no_log=False),
            api_token_secret=dict(type='str', no_log=True),
            api_token=dict(type='str', no_log=True),
            validate_certs=dict(type='bool', default=True),
            ca_path=dict(type='path'),
            fingerprint=dict(type='str'),
        )),
        defaults=dict(type='dict', default={}),
        limit_clusters=dict(type='list', elements='str'),
        limit_tags=dict(type='list', elements='str'),
        limit_roles=dict(type='list', elements='str'),
        limit_names=dict(type='list', elements='str'),
        allow_delete=dict(type='bool', default=False),
        shutdown_timeout=dict(type='int', default=120),
        force_stop=dict(type='bool', default=False),
        concurrency=dict(type='int', default=4),
        timeout=dict(type='int', default=600),
        lock_wait=dict(type='int', default=600),
    )
    module = AnsibleModule(argument_spec=spec, supports_check_mode=True)
    _module.run(module, sync, netbox=True)


if __name__ == '__main__':
    main()

# -*- coding: utf-8 -*-
# Copyright (c) 2026 nbsync.proxmox contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""NetBox -> Proxmox: read both sides, plan per VM (pure), apply with a bounded pool, write back.

``plan_vm`` is pure: a desired VmSpec, the guest PVE lists (or None) and its
config in, a VmPlan out. ``Reconciler`` does the I/O around it: the bulk reads,
IP allocation, applying each plan through ``GuestManager`` (the same executor
the ``proxmox_vm_clone`` module uses), and writing vmid, node and MACs back to
NetBox. One VM's failure is recorded and the others go on.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import ipaddress
import threading
from concurrent.futures import ThreadPoolExecutor

from ansible_collections.nbsync.proxmox.plugins.module_utils._errors import (
    Conflict, InvalidRequest, NbsyncError, NotFound, ServerError, Unavailable,
)
from ansible_collections.nbsync.proxmox.plugins.module_utils._guest_plan import plan_config
from ansible_collections.nbsync.proxmox.plugins.module_utils._identity import SLOT_FIELD
from ansible_collections.nbsync.proxmox.plugins.module_utils._identity import resolve as resolve_slots
from ansible_collections.nbsync.proxmox.plugins.module_utils._model import STATUS_MEANING
from ansible_collections.nbsync.proxmox.plugins.module_utils._netbox_reader import NetBoxReader
from ansible_collections.nbsync.proxmox.plugins.module_utils._pve_codecs import format_size
from ansible_collections.nbsync.proxmox.plugins.module_utils._run_lock import DEFAULT_WAIT as DEFAULT_LOCK_WAIT
from ansible_collections.nbsync.proxmox.plugins.module_utils._run_lock import ClusterLocks
from ansible_collections.nbsync.proxmox.plugins.module_utils._vm_clone import GuestManager

DEFAULT_CONCURRENCY = 4
RELEASE = 'netbox: delete the VM, its IP addresses and their DNS records'
PREFIX_FULL = 'the prefix is full; free an address or widen the prefix'


class VmPlan:
    """What one VM needs: ``action`` is create, update, remove, noop, skip or fail."""

    def __init__(self, spec, action, reasons=None, params=None, guest=None, error=None):
        self.spec = spec
        self.action = action
        self.reasons = list(reasons or [])
        self.params = params or {}
        self.guest = guest
        self.error = error
        self.restart_required = []
        self.diff = None

    def report(self):
        if self.guest:
            vmid = int(self.guest['vmid'])
        else:       # a guest created (or to be created, in check mode) has the vmid handed out for it
            vmid = self.params.get('vmid') if self.action == 'create' else None
        return {'name': self.spec.name, 'cluster': self.spec.cluster, 'status': self.spec.status,
                'action': self.action, 'changes': self.reasons, 'vmid': vmid,
                'restart_required': self.restart_required, 'error': self.error}


def desired_options(spec):
    """The proxmox_vm_clone options a VmSpec asks for (only what NetBox says; None = leave alone)."""
    opts = {'cores': spec.vcpus, 'memory': spec.memory, 'tags': spec.tags or None,
            'ciuser': spec.ciuser if spec.kind == 'qemu' else None,
            'sshkeys': spec.sshkeys if spec.kind == 'qemu' else None,
            'nameserver': spec.nameserver, 'searchdomain': spec.searchdomain}   # cloud-init (QEMU) or pct (LXC)
    opts['disks'] = [{'name': d.slot, 'size': format_size(d.size), 'storage': d.storage,
                      'mp': '/mnt/{0}'.format(d.slot) if spec.kind == 'lxc' and d.slot != 'rootfs' else None}
                     for d in spec.disks] or None
    nics, ipconfig = [], []
    for nic in spec.nics:
        v4 = [a for a in nic.ips if ipaddress.ip_interface(a).version == 4]
        v6 = [a for a in nic.ips if ipaddress.ip_interface(a).version == 6]
        entry = {'name': nic.slot, 'bridge': nic.bridge, 'tag': nic.vlan, 'macaddr': nic.mac, 'mtu': nic.mtu}
        cfg = {'ip': v4[0] if v4 else None, 'gw': nic.gateway if v4 else None, 'ip6': v6[0] if v6 else None}
        if spec.kind == 'lxc':
            entry.update(interface=nic.name if nic.name and nic.name.startswith('eth') else None, **cfg)
        else:
            # ipconfigN belongs to netN: the index is the NIC's slot, never its position in the list.
            ipconfig.append(dict(cfg if (v4 or v6) else {'ip': 'dhcp'}, index=int(nic.slot[3:])))
        nics.append(entry)
    opts['nics'] = nics or None
    opts['ipconfig'] = ipconfig or None
    return opts


def combined_diff(vm_reports):
    """One Ansible diff for a run: before/after of each VM that has one, keyed 'cluster/name' (pure)."""
    with_diff = [vm for vm in vm_reports if vm.get('diff')]
    if not with_diff:
        return None
    keys = ['{0}/{1}'.format(vm['cluster'], vm['name']) for vm in with_diff]
    return {'before': dict((k, vm['diff'].get('before')) for k, vm in zip(keys, with_diff)),
            'after': dict((k, vm['diff'].get('after')) for k, vm in zip(keys, with_diff))}


def first_address(spec, version):
    """The first address of that IP version in NIC order: the one that becomes primary."""
    for nic in spec.nics:
        for address in nic.ips:
            if ipaddress.ip_interface(address).version == version:
                return address
    return None


def netbox_record(spec, guest):
    """What NetBox should learn about an existing guest (pure): reasons, each one a write-back.

    A guest adopted by name (NetBox never learnt its vmid, e.g. its write-back failed), a guest that moved
    to another node, and a VM with addresses but no primary IP: Proxmox needs nothing, NetBox does.
    """
    reasons = slot_records(spec)
    if spec.vmid is None:
        reasons.append('netbox: record vmid {0} (node {1}) of the guest found by name'
                       .format(guest['vmid'], guest.get('node')))
    elif guest.get('node') and spec.recorded_node != guest['node']:
        reasons.append('netbox: node {0} -> {1}'.format(spec.recorded_node or '(unset)', guest['node']))
    for version, current in ((4, spec.primary_ip4), (6, spec.primary_ip6)):
        address = first_address(spec, version)
        if current is None and address and spec.ip_ids.get(address):
            reasons.append('netbox: primary IPv{0} {1}'.format(version, address))
    return reasons


def slot_records(spec):
    """The slots NetBox has not recorded yet (or records otherwise): each one a write-back (pure)."""
    return ['netbox: record {0} {1} as {2}'.format(what, obj.name, obj.slot)
            for what, objects in (('interface', spec.nics), ('virtual disk', spec.disks))
            for obj in objects if obj.slot and obj.recorded_slot != obj.slot]


def _power_of(guest):
    return None if guest is None else guest.get('status')


def plan_vm(spec, guest, config, allow_delete=False, guests_named=None):
    """Decide what one VM needs (pure). guest: its /cluster/resources entry or None; config: its config."""
    meaning = STATUS_MEANING.get(spec.status)
    if spec.errors:
        return VmPlan(spec, 'fail', error='; '.join(spec.errors))
    if meaning is None:
        return VmPlan(spec, 'fail', error='status {0!r} is not one the collection knows'.format(spec.status))
    if spec.status == 'failed':
        return VmPlan(spec, 'skip', ['status failed: left alone'], guest=guest)
    if guests_named and len(guests_named) > 1 and guest is None:
        return VmPlan(spec, 'fail', error='name {0!r} matches {1} guests (vmids {2}); set proxmox_vmid in NetBox'
                      .format(spec.name, len(guests_named), ', '.join(str(g['vmid']) for g in guests_named)))
    if not meaning['exists']:
        if guest is not None and spec.vmid is None and spec.status == 'decommissioning':
            # Found by name only: removal is for the guest whose vmid NetBox recorded, never a namesake.
            return VmPlan(spec, 'fail', guest=guest, error='decommissioning: guest {0} on {1} has the name {2!r} '
                          'but NetBox has no recorded vmid for this VM, so it is not removed: recorded vmid '
                          'missing: adopt it first or set proxmox_vmid (to adopt it, set the VM staged or '
                          'active and run once)'.format(guest['vmid'], guest.get('node'), spec.name))
        if guest is None and spec.status == 'decommissioning':
            # Gone from Proxmox already (removed by hand, or a run whose NetBox release failed): the NetBox
            # side is still to be released, under the same guard.
            if not allow_delete:
                return VmPlan(spec, 'skip', ['decommissioning: no guest in Proxmox; deleting the VM and its '
                                             'addresses from NetBox is not allowed in this run (set allow_delete)'])
            return VmPlan(spec, 'remove', ['no guest in Proxmox', RELEASE])
        if guest is None:
            return VmPlan(spec, 'noop')
        if spec.status == 'planned':
            return VmPlan(spec, 'skip', ['status planned but guest {0} exists in Proxmox: left alone'
                                         .format(guest['vmid'])], guest=guest)
        if not allow_delete:
            return VmPlan(spec, 'skip', ['decommissioning: removal of guest {0} not allowed in this run '
                                         '(set allow_delete)'.format(guest['vmid'])], guest=guest)
        if str((config or {}).get('protection', '0')) in ('1', 'True', 'true'):
            return VmPlan(spec, 'fail', error='guest {0} has Proxmox protection set; it is never deleted'
                          .format(guest['vmid']), guest=guest)
        return VmPlan(spec, 'remove', ['remove guest {0} on {1}'.format(guest['vmid'], guest['node']), RELEASE],
                      params={'vmid': int(guest['vmid']), 'name': spec.name, 'type': spec.kind, 'state': 'absent',
                              'purge': True}, guest=guest)
    if meaning['power'] == 'paused' and spec.kind != 'qemu':
        return VmPlan(spec, 'fail', error='status paused: only QEMU VMs can be suspended (hibernated); '
                                          'set the container active or offline', guest=guest)
    state = {'running': 'started', 'stopped': 'stopped', 'paused': 'paused'}[meaning['power']]
    problems = resolve_slots(spec, config if guest is not None else None, spec.disk_bus)
    if problems:
        return VmPlan(spec, 'fail', error='; '.join(problems), guest=guest)
    params = dict(desired_options(spec), name=spec.name, state=state, template=spec.template, type=spec.kind,
                  storage=spec.storage, node=spec.node, vmid=spec.vmid, pool=spec.pool)
    if guest is None:
        if not spec.template:
            return VmPlan(spec, 'fail', error='no template to clone from: set custom field proxmox_template or '
                                              'defaults template for cluster {0}'.format(spec.cluster))
        return VmPlan(spec, 'create', ['clone from {0}'.format(spec.template)], params=params)
    params['vmid'] = int(guest['vmid'])
    params['node'] = None
    # A paused guest is hibernated: /cluster/resources lists it stopped with lock 'suspended'. PVE refuses
    # config changes while it is suspended, so they wait until NetBox sets it active again.
    suspended = guest.get('lock') == 'suspended'
    try:
        cfg_plan = plan_config(desired_options(spec), config or {}, kind=guest['type'], name=spec.name)
    except NbsyncError as err:
        return VmPlan(spec, 'fail', error=str(err), guest=guest)
    reasons = cfg_plan.tracker.reasons()
    power = 'paused' if suspended else _power_of(guest)
    if meaning['power'] == 'paused':
        if suspended:
            if reasons:
                return VmPlan(spec, 'skip', ['paused: waiting until it is active for: ' + '; '.join(reasons)],
                              guest=guest)
            return VmPlan(spec, 'noop', guest=guest)
        reasons.append('power: {0} -> paused (hibernated)'.format(power))
    if meaning['power'] == 'running' and power != 'running':
        reasons.append('power: {0} -> running'.format(power))
    if meaning['power'] == 'stopped' and power == 'running':
        reasons.append('power: running -> stopped')
    # An update whose only reasons are NetBox's still runs the executor (which changes nothing) and
    # ends in the write-back.
    reasons.extend(netbox_record(spec, guest))
    if reasons:
        return VmPlan(spec, 'update', reasons, params=params, guest=guest)
    return VmPlan(spec, 'noop', guest=guest)


def _host(address):
    """'10.0.0.1/24' -> '10.0.0.1'."""
    return str(address).split('/', 1)[0]


def _ref_id(obj):
    return obj.get('id') if isinstance(obj, dict) else obj


def _isolated(plan_one, spec, *args):
    """plan_vm for one VM, whatever its data: an unexpected error fails that VM alone, with the message."""
    try:
        return plan_one(spec, *args)
    except Exception as exc:  # noqa: BLE001 - the isolation boundary between VMs
        return VmPlan(spec, 'fail', error='planning failed: {0}: {1}'.format(type(exc).__name__, exc))


class Reconciler:
    """One NetBox -> Proxmox run over every VM of the selected Proxmox clusters."""

    def __init__(self, netbox, pve_factory, defaults=None, check_mode=False, allow_delete=False,
                 concurrency=DEFAULT_CONCURRENCY, timeout=600, shutdown_timeout=120, force_stop=False,
                 lock_wait=DEFAULT_LOCK_WAIT):
        self.nb = netbox
        self.lock_wait = lock_wait                  # seconds to wait for another run on the same cluster
        self.unmanaged = []                         # guests no NetBox VM claims (runs without VM limits)
        self.shutdown_timeout = shutdown_timeout    # offline/staged: ACPI shutdown grace, then...
        self.force_stop = force_stop                # ...a hard stop only when allowed
        self.pve_factory = pve_factory      # cluster name -> new PveClient (one per thread)
        self.defaults = defaults or {}
        self.check = check_mode
        self.allow_delete = allow_delete
        self.concurrency = max(1, int(concurrency))
        self.timeout = timeout
        self.reader = NetBoxReader(netbox)
        self._local = threading.local()

    def _pve(self, cluster):
        """One client per cluster and thread: its session keeps the TLS connection for every call of the run
        (a requests session is not shared between threads)."""
        clients = getattr(self._local, 'clients', None)
        if clients is None:
            clients = self._local.clients = {}
        if cluster not in clients:
            clients[cluster] = self.pve_factory(cluster)
        return clients[cluster]

    # ---------------------------------------------------------------------- run

    def run(self, clusters=None, tags=None, roles=None, names=None):
        """One whole run: the selected clusters locked (not in check mode), read, planned, applied, written
        back, the locks released whatever happens."""
        created_fields = self.reader.ensure_custom_fields(check_mode=self.check)
        nb_clusters = self.reader.proxmox_clusters(clusters)
        locks = None
        if not self.check and nb_clusters:
            locks = ClusterLocks(self.nb, wait=self.lock_wait)
            locks.acquire(nb_clusters)
        try:
            plans = self.prepare(clusters, tags, roles, names, nb_clusters=nb_clusters)
            results = self.execute(plans)
        finally:
            if locks is not None:
                locks.release()
        summary = self._summary(results, created_fields, nb_clusters)
        if self.reader.warnings:
            summary.setdefault('warnings', []).extend(self.reader.warnings)
        if locks is not None and locks.lost:
            summary.setdefault('warnings', []).append(
                'the run lock of {0} could not be refreshed in NetBox; another run may have started'.format(
                    ', '.join(locks.lost)))
        return summary

    def prepare(self, clusters=None, tags=None, roles=None, names=None, nb_clusters=None):
        """Read NetBox and Proxmox and plan every VM (no writes): the plans ``execute`` carries out. Guests no
        VM claims are listed only when no VM limit applies (a limited run does not read every claimant)."""
        specs, _clusters = self.reader.read(self.defaults, clusters, tags, roles, names, clusters_read=nb_clusters)
        return self.plan(specs, report_unmanaged=not (tags or roles or names))

    def execute(self, plans):
        """Addresses, then Proxmox, then NetBox's side; returns [(plan, result)]."""
        if self.check:
            self._preview_ips(plans)
        else:
            self._allocate_ips(plans)
        results = self._apply_all(plans)
        if not self.check:
            self._write_back(results)
        return results

    def plan(self, specs, report_unmanaged=False):
        by_cluster = {}
        for spec in specs:
            by_cluster.setdefault(spec.cluster, []).append(spec)
        plans = []
        self.unmanaged = []
        for cluster, members in sorted(by_cluster.items(), key=lambda kv: str(kv[0])):
            if cluster is None:  # no Proxmox to ask: their own errors (no cluster) fail them
                plans.extend(_isolated(plan_vm, spec, None, None) for spec in members)
                continue
            try:
                pve = self._pve(cluster)
                resources = pve.cluster_resources('vm')
            except NbsyncError as err:
                plans.extend(VmPlan(s, 'fail', error='cluster {0}: {1}'.format(cluster, err)) for s in members)
                continue
            guests = [r for r in resources if r.get('type') in ('qemu', 'lxc') and not r.get('template')]
            matched = []
            claimed = set(int(s.vmid) for s in members if s.vmid is not None)
            for spec in members:
                try:
                    guest, named = self._match(spec, guests, claimed)
                except Exception as exc:  # noqa: BLE001 - one VM's data never stops the others
                    spec.errors.append('matching its guest failed: {0}: {1}'.format(type(exc).__name__, exc))
                    guest, named = None, None
                matched.append((spec, guest, named))
            configs = self._configs(cluster, [g for _s, g, _n in matched if g is not None])
            cluster_plans = []
            for spec, guest, named in matched:
                config = configs.get(int(guest['vmid'])) if guest else None
                if isinstance(config, NbsyncError):
                    cluster_plans.append(VmPlan(spec, 'fail', error=str(config), guest=guest))
                    continue
                cluster_plans.append(_isolated(plan_vm, spec, guest, config, self.allow_delete, named))
            self._assign_vmids(pve, cluster_plans, set(int(r['vmid']) for r in resources if 'vmid' in r))
            plans.extend(cluster_plans)
            if report_unmanaged:
                mine = claimed | set(int(g['vmid']) for _s, g, _n in matched if g is not None)
                self.unmanaged.extend({'cluster': cluster, 'vmid': int(g['vmid']), 'node': g.get('node'),
                                       'name': g.get('name'), 'type': g.get('type'), 'status': g.get('status')}
                                      for g in guests if int(g['vmid']) not in mine)
        return plans

    @staticmethod
    def _assign_vmids(pve, plans, used):
        """Give each new guest its own vmid before the clones run in parallel.

        /cluster/nextid answers the same id to concurrent callers, so parallel clones would collide;
        the ids are handed out here, once, above PVE's next free id and past every id in use.
        """
        new = [p for p in plans if p.action == 'create' and p.params.get('vmid') is None]
        if not new:
            return
        used = set(used) | set(int(p.params['vmid']) for p in plans if p.params.get('vmid') is not None)
        candidate = pve.next_vmid()
        for plan in new:
            while candidate in used:
                candidate += 1
            plan.params['vmid'] = candidate
            used.add(candidate)

    @staticmethod
    def _match(spec, guests, claimed=()):
        """Identity is (cluster, vmid, type); the name only adopts a guest NetBox has no vmid for yet, of the
        same type, whose vmid no other NetBox VM holds."""
        if spec.vmid is not None:
            guest = next((g for g in guests if int(g['vmid']) == int(spec.vmid)), None)
            if guest is not None and guest.get('name') != spec.name:
                spec.errors.append('proxmox_vmid {0}: belongs to guest {1!r}, not {2!r}'.format(
                    spec.vmid, guest.get('name'), spec.name))
            if guest is not None and guest.get('type') != spec.kind:
                spec.errors.append('proxmox_vmid {0}: is a {1} guest, NetBox says {2}'.format(
                    spec.vmid, guest.get('type'), spec.kind))
            return guest, None
        named = [g for g in guests if g.get('name') == spec.name and int(g['vmid']) not in claimed]
        same_type = [g for g in named if g.get('type') == spec.kind]
        if named and not same_type:
            spec.errors.append('name {0!r}: the guest of that name (vmid {1}) is a {2} guest, NetBox says {3}; set '
                               'custom field proxmox_type, or proxmox_vmid to the guest NetBox means'.format(
                                   spec.name, named[0]['vmid'], named[0].get('type'), spec.kind))
            return None, None
        return (same_type[0] if len(same_type) == 1 else None), same_type

    def _configs(self, cluster, guests):
        """The config of each matched guest: what /cluster/resources lacks, read concurrently with a bound."""
        def read(guest):
            try:
                pve = self._pve(cluster)
                return int(guest['vmid']), pve.guest_config(guest['node'], guest['type'], guest['vmid'], current=False)
            except NbsyncError as err:
                return int(guest['vmid']), err
        if not guests:
            return {}
        with ThreadPoolExecutor(max_workers=self.concurrency) as pool:
            return dict(pool.map(read, guests))

    # -------------------------------------------------------------------- apply

    def _apply_all(self, plans):
        todo = [p for p in plans if p.action in ('create', 'update', 'remove')]
        done = [(p, None) for p in plans if p.action not in ('create', 'update', 'remove')]
        if not todo:
            return done
        # In check mode the executor runs too, read-only: it validates template, node, storages and the
        # configuration against what Proxmox has, so check mode reports the failures a real run would meet.
        with ThreadPoolExecutor(max_workers=self.concurrency) as pool:
            done.extend(pool.map(self._apply_one, todo))
        return done

    def _apply_one(self, plan):
        try:
            return self._apply_guest(plan)
        except Exception as exc:  # noqa: BLE001 - the isolation boundary: one VM never stops the others
            plan.action, plan.error = 'fail', 'applying failed: {0}: {1}'.format(type(exc).__name__, exc)
            return plan, None

    def _apply_guest(self, plan):
        if plan.action == 'remove' and not plan.params:     # the guest is gone: only NetBox is left to release
            try:
                self._confirm_gone(plan.spec)
            except NbsyncError as err:
                plan.action, plan.error = 'fail', str(err)
                return plan, None
            return plan, (None if self.check else {'netbox_only': True})
        params = dict(plan.params, timeout=self.timeout)
        if plan.action != 'remove':
            params.update(force=self.force_stop, shutdown_timeout=self.shutdown_timeout)
        manager = None
        try:
            pve = self._pve(plan.spec.cluster)
            manager = GuestManager(pve, params, check_mode=self.check)
            result = manager.run()
            # The executor's actions say what happens in Proxmox; the NetBox side stays in the report.
            actions = result.get('actions') or []
            if actions:
                plan.reasons = actions + [r for r in plan.reasons if r.startswith(('netbox: ', 'allocate'))]
            plan.restart_required = result.get('restart_required') or []
            plan.diff = result.get('diff') or None
            return plan, (None if self.check else result)
        except NbsyncError as err:
            plan.action, plan.error = 'fail', str(err)
            return plan, self._half_done(plan, manager)

    def _confirm_gone(self, spec):
        """Before NetBox's side of a VM is released because its guest is gone: a fresh, direct read says so.

        The plan's list may be stale or wrong; this asks again, now. By vmid when NetBox recorded one (and
        the guest's own status on the recorded node), else by name. Anything but a clear "not there"
        refuses the release.
        """
        pve = self._pve(spec.cluster)
        resources = pve.cluster_resources()
        if not any(r.get('type') == 'node' for r in resources):
            raise ServerError('cluster {0}: /cluster/resources listed no node, so the absence of the guest '
                              'cannot be trusted; NetBox\'s side is not released'.format(spec.cluster))
        guests = [r for r in resources if r.get('type') in ('qemu', 'lxc')]
        if spec.vmid is not None:
            found = next((g for g in guests if int(g['vmid']) == int(spec.vmid)), None)
            if found is None and spec.recorded_node:
                try:
                    found = pve.get('/nodes/{0}/{1}/{2}/status/current'.format(spec.recorded_node, spec.kind,
                                                                               spec.vmid))
                except NotFound:
                    found = None
            if found:
                raise Conflict('decommissioning: guest {0} ({1!r}) is still in Proxmox although the plan found none;'
                               ' NetBox\'s side is not released'.format(spec.vmid, found.get('name')),
                               hint='run again; the next run removes the guest first')
        else:
            named = [g for g in guests if g.get('name') == spec.name]
            if named:
                raise Conflict('decommissioning: a guest named {0!r} (vmid {1}) is in Proxmox although the plan '
                               'found none; NetBox\'s side is not released'.format(spec.name, named[0]['vmid']),
                               hint='run again')

    def _half_done(self, plan, manager):
        """After a failure, whether a guest was created before it: said in the error, and handed to the
        write-back so NetBox records its vmid (the next run then updates it rather than cloning again).

        Only a clone PVE took (the executor says ``created`` once a task id came back) counts, and only a
        guest with this VM's name and type at that vmid is recorded: never another actor's guest.
        """
        partial = getattr(manager, 'result', None) or {}
        if self.check or not partial.get('created') or partial.get('vmid') is None:
            return None
        try:
            guest = self._pve(plan.spec.cluster).find_guest(vmid=partial['vmid'])
        except NbsyncError:
            guest = None
        if guest is None or guest.get('name') != plan.spec.name or guest.get('type') != plan.spec.kind:
            return None
        plan.error = '{0}; guest {1} was created on {2} before this and is left as it is: the next run ' \
                     'finishes its configuration'.format(plan.error, partial['vmid'], guest.get('node'))
        return dict(partial, node=guest.get('node'), type=guest.get('type'))

    @staticmethod
    def _needing_ips(plans):
        """(plan, nic) for each interface of a VM to create or update that has no address but a prefix."""
        return [(plan, nic) for plan in plans if plan.action in ('create', 'update')
                for nic in plan.spec.nics if not nic.ips and nic.prefix_id is not None]

    @staticmethod
    def _no_address(plan, nic, problem):
        plan.action, plan.error = 'fail', 'interface {0}: no address from prefix {1}: {2}'.format(
            nic.name, nic.prefix_id, problem)

    @staticmethod
    def _give_address(plan, nic, address, reason):
        """The address goes into the interface and from there into the guest's NIC/cloud-init options."""
        nic.ips.append(address)
        plan.reasons.append(reason)
        options = desired_options(plan.spec)
        plan.params = dict(plan.params, nics=options['nics'], ipconfig=options['ipconfig'])

    def _preview_ips(self, plans):
        """Check mode: which address each interface would get (GET available-ips, one call per prefix,
        nothing reserved), so the plan shows it and a full prefix fails here as it would in a real run."""
        by_prefix = {}
        for plan, nic in self._needing_ips(plans):
            by_prefix.setdefault(nic.prefix_id, []).append((plan, nic))
        self._reserve_gateways(plans)
        for prefix_id, members in by_prefix.items():
            gateway = members[0][1].gateway
            try:
                free = self.nb.request('GET', 'ipam/prefixes/{0}/available-ips'.format(prefix_id),
                                       params={'limit': len(members) + 1}) or []
                # The gateway is never a VM's: in a real run it is reserved first (_reserve_gateways).
                free = [f for f in free if _host(f['address']) != gateway][:len(members)]
                problem = PREFIX_FULL
            except NbsyncError as err:
                free, problem = [], str(err)
            for index, (plan, nic) in enumerate(members):
                if plan.action == 'fail':
                    continue
                if index >= len(free):
                    self._no_address(plan, nic, problem)
                    continue
                address = free[index]['address']
                self._give_address(plan, nic, address, 'allocate {0} to {1} (from prefix {2})'.format(
                    address, nic.name, prefix_id))

    def _reserve_gateways(self, plans):
        """A prefix's gateway (custom field proxmox_gateway) that NetBox has no IP address for is recorded as
        a reserved address before any allocation from that prefix: otherwise available-ips gives it to the
        first VM (seen: the VM got 10.30.10.1/24 with gw=10.30.10.1). One list call; one bulk create.
        In check mode the reservation is only reported."""
        wanted = {}
        for plan, nic in self._needing_ips(plans):
            if plan.action == 'fail' or not nic.gateway or not nic.prefix:
                continue
            try:
                network = ipaddress.ip_network(nic.prefix, strict=False)
                inside = ipaddress.ip_address(nic.gateway) in network
            except ValueError:
                inside = False
            if not inside:
                self._no_address(plan, nic, 'the prefix\'s gateway {0!r} (custom field proxmox_gateway) is not an '
                                            'address of {1}; correct it'.format(nic.gateway, nic.prefix))
                continue
            wanted.setdefault((nic.gateway, nic.prefix_vrf), (nic, []))[1].append(plan)
        if not wanted:
            return
        try:
            known = self.nb.list('ipam.ip_addresses', address=sorted(set(g for g, _v in wanted)))
        except NbsyncError as err:
            for (gateway, _vrf), (nic, members) in wanted.items():
                for plan in members:
                    self._no_address(plan, nic, 'cannot check that gateway {0} is reserved: {1}'.format(gateway, err))
            return
        have = set((_host(ip['address']), _ref_id(ip.get('vrf'))) for ip in known)
        missing = [(key, value) for key, value in sorted(wanted.items(), key=lambda kv: str(kv[0])) if key not in have]
        for (gateway, _vrf), (nic, members) in missing:
            members[0].reasons.append('netbox: reserve gateway {0} of prefix {1}'.format(gateway, nic.prefix))
        if self.check or not missing:
            return
        items = [{'address': '{0}/{1}'.format(gateway, ipaddress.ip_network(nic.prefix, strict=False).prefixlen),
                  'vrf': vrf, 'status': 'reserved',
                  'description': 'gateway of {0}: reserved by nbsync.proxmox, never given to a VM'.format(nic.prefix)}
                 for (gateway, vrf), (nic, _members) in missing]
        try:
            try:
                self.nb.create('ipam.ip_addresses', items)
            except InvalidRequest:
                # Another run reserved one meanwhile (NetBox refuses a duplicate): what is left is retried.
                again = set((_host(ip['address']), _ref_id(ip.get('vrf'))) for ip in self.nb.list(
                    'ipam.ip_addresses', address=[_host(i['address']) for i in items]))
                self.nb.create('ipam.ip_addresses', [i for i in items if (_host(i['address']), i['vrf']) not in again])
        except NbsyncError as err:
            for (gateway, _vrf), (nic, members) in missing:
                for plan in members:
                    self._no_address(plan, nic, 'reserving gateway {0} failed: {1}'.format(gateway, err))

    def _allocate_ips(self, plans):
        """An interface without an address gets the next free one of its prefix (NetBox's available-ips,
        which hands out each address once, however many runs ask at the same time). The prefix's gateway
        is reserved in NetBox first, so available-ips never hands it out."""
        self._reserve_gateways(plans)
        for plan, nic in self._needing_ips(plans):
            if plan.action == 'fail':     # an earlier interface of this VM got none: the VM fails as a whole
                continue
            try:
                created = self.nb.request('POST', 'ipam/prefixes/{0}/available-ips'.format(nic.prefix_id), data={
                    'assigned_object_type': 'virtualization.vminterface', 'assigned_object_id': nic.netbox_id,
                    'dns_name': plan.spec.name, 'status': 'active',
                    'description': 'allocated by nbsync.proxmox'})
            except Conflict as err:
                self._no_address(plan, nic, '{0} ({1})'.format(PREFIX_FULL, err))
                continue
            except NbsyncError as err:
                self._no_address(plan, nic, err)
                continue
            created = created[0] if isinstance(created, list) else created
            plan.spec.ip_ids[created['address']] = created['id']
            self._give_address(plan, nic, created['address'], 'allocated {0} to {1}'.format(created['address'],
                                                                                            nic.name))

    def _write_back(self, results):
        """vmid, node and type as custom fields; MACs PVE assigned; primary IPs; released VMs. Bulk calls.

        A bulk call NetBox refuses (one VM's bad data fails the whole request: NetBox writes a bulk
        request in one transaction) is repeated one VM at a time, so the refusal lands on that VM alone.
        NetBox unreachable fails the rest of the write-back: every VM done in Proxmox says so.
        """
        vm_updates, mac_creates, removed, disk_updates, iface_updates = [], [], [], [], {}
        for plan, result in results:
            spec = plan.spec
            if plan.action == 'remove' and result:
                removed.append(plan)
                continue
            if not result or result.get('vmid') is None:
                continue
            cf = {'proxmox_vmid': result['vmid'], 'proxmox_node': result.get('node'), 'proxmox_type': result.get('type')}
            update = {}
            if spec.vmid is None or (int(spec.vmid), spec.recorded_node, spec.kind) != \
                    (cf['proxmox_vmid'], cf['proxmox_node'], cf['proxmox_type']):
                update['custom_fields'] = cf
            for version, current, field in ((4, spec.primary_ip4, 'primary_ip4'), (6, spec.primary_ip6, 'primary_ip6')):
                address = first_address(spec, version)
                if current is None and address and spec.ip_ids.get(address):
                    update[field] = spec.ip_ids[address]
            if update:
                update['id'] = spec.netbox_id
                vm_updates.append((plan, update))
            macs = result.get('mac_addresses') or {}
            for nic in spec.nics:
                if not nic.mac and macs.get(nic.slot) and nic.netbox_id:
                    mac_creates.append((plan, nic, macs[nic.slot]))
            # The slot each interface and disk got is recorded, so that it stays theirs (docs/identity.md).
            for nic in spec.nics:
                if nic.netbox_id and nic.slot and nic.recorded_slot != nic.slot:
                    iface_updates[nic.netbox_id] = (plan, {'id': nic.netbox_id, 'custom_fields': {SLOT_FIELD: nic.slot}})
            disk_updates.extend((plan, {'id': d.netbox_id, 'custom_fields': {SLOT_FIELD: d.slot}})
                                for d in spec.disks if d.netbox_id and d.slot and d.recorded_slot != d.slot)
        try:
            self._each_or_bulk('virtualization.virtual_machines', vm_updates, self.nb.update)
            made = self._each_or_bulk('dcim.mac_addresses', [
                (plan, {'mac_address': mac, 'assigned_object_type': 'virtualization.vminterface',
                        'assigned_object_id': nic.netbox_id}) for plan, nic, mac in mac_creates], self.nb.create)
            for (plan, nic, _mac), m in zip(mac_creates, made):
                if m is not None:
                    _plan, item = iface_updates.setdefault(nic.netbox_id, (plan, {'id': nic.netbox_id}))
                    item['primary_mac_address'] = m['id']
            self._each_or_bulk('virtualization.interfaces', list(iface_updates.values()), self.nb.update)
            self._each_or_bulk('virtualization.virtual_disks', disk_updates, self.nb.update)
            for plan in removed:
                try:
                    self._release(plan.spec)
                except Unavailable:
                    raise
                except NbsyncError as err:
                    self._written_back_failed(plan, err)
        except Unavailable as err:
            for plan, _result in results:
                if plan.action in ('create', 'update', 'remove'):
                    self._written_back_failed(plan, err)

    def _each_or_bulk(self, endpoint, owned_items, call):
        """call(endpoint, items) in one request; when NetBox refuses it, one request per item, so that the
        item it refuses fails only its own VM. Returns the answers in order (None where refused)."""
        if not owned_items:
            return []
        try:
            return call(endpoint, [item for _plan, item in owned_items])
        except Unavailable:
            raise
        except NbsyncError:
            answers = []
            for plan, item in owned_items:
                try:
                    answers.extend(call(endpoint, [item]))
                except Unavailable:
                    raise
                except NbsyncError as err:
                    self._written_back_failed(plan, err)
                    answers.append(None)
            return answers

    @staticmethod
    def _written_back_failed(plan, err):
        if not plan.error:
            plan.error = 'done in Proxmox, but writing back to NetBox failed: {0}; the next run finishes it'.format(err)

    def _release(self, spec):
        """A removed guest's NetBox side: the DNS records of its addresses, the addresses, then the VM.

        Records the DNS plugin manages itself (its IPAM sync, PTRs) go with their address; the others that
        point at a released address are deleted here so that no name keeps pointing at a reused address.
        """
        ips = self.nb.list('ipam.ip_addresses', virtual_machine_id=spec.netbox_id)
        addresses = [ip['address'].split('/')[0] for ip in ips]
        if addresses and self._has_dns_plugin():
            records = self.nb.list('plugins.netbox_dns.records', ip_address=addresses, type=['A', 'AAAA'],
                                   managed='false')
            self.nb.delete('plugins.netbox_dns.records', [r['id'] for r in records])
        self.nb.delete('ipam.ip_addresses', [ip['id'] for ip in ips])
        self.nb.delete('virtualization.virtual_machines', [spec.netbox_id])

    def _has_dns_plugin(self):
        if not hasattr(self, '_dns_plugin'):
            self._dns_plugin = 'netbox_dns' in (self.nb.status().get('plugins') or {})
        return self._dns_plugin

    # ------------------------------------------------------------------- report

    def _summary(self, results, created_fields, nb_clusters):
        outcome = {'create': 'created', 'update': 'updated', 'remove': 'removed', 'noop': 'unchanged',
                   'skip': 'skipped', 'fail': 'failed'}
        vms, counts = [], dict((v, 0) for v in outcome.values())
        for plan, _result in results:
            entry = plan.report()
            entry['result'] = outcome[plan.action]
            if plan.error and plan.action != 'fail':
                entry['warning'] = plan.error
            if plan.diff:
                entry['diff'] = plan.diff
            counts[entry['result']] += 1
            vms.append(entry)
        vms.sort(key=lambda e: (str(e['cluster']), e['name']))
        changed = any(e['result'] in ('created', 'updated', 'removed') for e in vms) or bool(created_fields)
        # Guests no NetBox VM claims: listed, never touched (their NetBox VM may have been deleted, and with
        # it its addresses, which NetBox will then hand out again: worth a look).
        counts['unmanaged'] = len(self.unmanaged)
        return {'changed': changed, 'summary': counts, 'vms': vms, 'custom_fields_created': created_fields,
                'clusters': sorted(c['name'] for c in nb_clusters),
                'unmanaged': sorted(self.unmanaged, key=lambda g: (str(g['cluster']), g['vmid']))}

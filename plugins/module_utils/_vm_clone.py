# -*- coding: utf-8 -*-
# Copyright (c) 2026 nbsync.proxmox contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Clone a guest from a template, bring it to the requested configuration and power state.

Used by the ``proxmox_vm_clone`` module and by the NetBox reconciler. The
order is: read the cluster once, validate everything that can be validated
(template, node, storage, vmid, the configuration plan against the template),
and only then write. Every wait is on a task UPID with a deadline.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import time

from ansible_collections.nbsync.proxmox.plugins.module_utils._errors import (
    Conflict, InvalidParameter, NotFound, TaskTimeout, Unavailable,
)
from ansible_collections.nbsync.proxmox.plugins.module_utils._guest_plan import mac_addresses, plan_config
from ansible_collections.nbsync.proxmox.plugins.module_utils._pve_codecs import (
    is_cloudinit_drive, is_digits, is_disk_key, parse_lxc_mount, parse_new_volume, parse_qemu_disk, split_volume_id,
)

CONFIG_OPTIONS = ('cores', 'sockets', 'cpu', 'memory', 'balloon', 'swap', 'description', 'tags', 'onboot',
                  'protection', 'agent', 'ciuser', 'cipassword', 'sshkeys', 'nameserver', 'searchdomain',
                  'cicustom', 'ipconfig', 'nics', 'disks')
CLOUDINIT_OPTIONS = ('ciuser', 'cipassword', 'sshkeys', 'ipconfig', 'nameserver', 'searchdomain', 'cicustom')


class ClusterView:
    """One ``/cluster/resources`` read: guests, nodes and storages, looked up without further calls."""

    def __init__(self, resources):
        self.guests = [r for r in resources if r.get('type') in ('qemu', 'lxc')]
        self.nodes = dict((r['node'], r) for r in resources if r.get('type') == 'node')
        self.storages = {}
        for r in resources:
            if r.get('type') == 'storage':
                self.storages.setdefault(r['storage'], {})[r['node']] = r

    def guest_by_vmid(self, vmid):
        return next((g for g in self.guests if int(g['vmid']) == int(vmid)), None)

    def guests_named(self, name):
        return [g for g in self.guests if g.get('name') == name]

    def resolve_template(self, template):
        """A template given by vmid (digits) or by name."""
        text = str(template)
        if is_digits(text):
            found = self.guest_by_vmid(int(text))
            if not found:
                raise NotFound('template {0}: no guest has vmid {0}'.format(text),
                               hint='give the vmid or name of an existing template')
            return found
        named = self.guests_named(text)
        if not named:
            raise NotFound('template {0!r} does not exist in the cluster'.format(text),
                           hint='give the vmid or name of an existing template')
        templates = [g for g in named if g.get('template')] or named
        if len(templates) > 1:
            raise Conflict('template {0!r} is ambiguous: vmids {1}'.format(
                text, ', '.join(str(g['vmid']) for g in templates)), hint='give the template by vmid')
        return templates[0]

    def require_node(self, node):
        entry = self.nodes.get(node)
        if entry is None:
            raise NotFound('node {0!r} is not in the cluster (nodes: {1})'.format(node, ', '.join(sorted(self.nodes))))
        if entry.get('status') != 'online':
            raise Unavailable('node {0} is {1}'.format(node, entry.get('status') or 'offline'),
                              hint='choose another node or bring {0} back online'.format(node))

    def require_storage(self, storage, node, content):
        on_nodes = self.storages.get(storage)
        if not on_nodes:
            raise NotFound('storage {0!r} does not exist (storages: {1})'.format(
                storage, ', '.join(sorted(self.storages))), hint='give an existing storage')
        entry = on_nodes.get(node)
        if entry is None:
            raise InvalidParameter('storage {0!r} is not available on node {1}'.format(storage, node))
        kinds = str(entry.get('content', '')).split(',')
        if content not in kinds:
            raise InvalidParameter('storage {0!r} does not hold {1} (content: {2})'.format(
                storage, content, entry.get('content')), hint='choose a storage whose content includes ' + content)


def _desired(params):
    return dict((k, params.get(k)) for k in CONFIG_OPTIONS)


def _has_cloudinit_drive(config):
    return any(is_cloudinit_drive(v) for k, v in config.items()
               if isinstance(v, str) and k[:3] in ('ide', 'sat', 'scs', 'vir'))


class GuestManager:
    """Carries out one ``proxmox_vm_clone`` request. ``check_mode`` plans without writing."""

    def __init__(self, client, params, check_mode=False):
        self.pve = client
        self.p = params
        self.check = check_mode
        self.timeout = float(params.get('timeout') or 300)
        self._deadline = time.monotonic() + self.timeout
        self.result = {'changed': False, 'actions': []}

    # ------------------------------------------------------------------ entry

    def run(self):
        view = ClusterView(self.pve.cluster_resources())
        guest = self._find_existing(view)
        state = self.p.get('state') or 'present'
        if state == 'absent':
            return self._absent(guest)
        if guest is None:
            guest = self._create(view)
            if guest is None:           # check mode: the clone was only planned
                return self.result
        kind, node, vmid = guest['type'], guest['node'], int(guest['vmid'])
        if guest.get('lock') == 'suspended' and state in ('started', 'paused'):
            # A hibernated guest takes no config change; starting it resumes it from its saved state.
            self._act('resume {0} (start from hibernation)'.format(vmid),
                      '/nodes/{0}/{1}/{2}/status/start'.format(node, kind, vmid), {})
            guest = dict(guest, status='running', lock=None)
        config = self.pve.guest_config(node, kind, vmid, current=False)
        self._confirm_identity(vmid, kind, config.get('name' if kind == 'qemu' else 'hostname'), 'a config write')
        self._configure(kind, node, vmid, config, guest, new=self.result.get('created', False))
        self._power(kind, node, vmid, state)
        self._report(kind, node, vmid)
        return self.result

    # -------------------------------------------------------------- identity

    def _confirm_identity(self, vmid, kind, seen_name, before):
        """Right before a stop, a delete or a config write: the guest at this vmid is still the one meant
        (its name and type as read just now), so a vmid that changed hands since the plan is never acted on."""
        name, expected_type = self.p.get('name'), self.p.get('type')
        if expected_type and kind != expected_type:
            raise Conflict('vmid {0} is now a {1} guest, not the {2} guest {3!r}: {4} refused'.format(
                vmid, kind, expected_type, name, before), hint='it changed hands since it was read; run again')
        if name and seen_name is not None and seen_name != name:
            raise Conflict('vmid {0} is now {1!r}, not {2!r}: {3} refused'.format(vmid, seen_name, name, before),
                           hint='the vmid changed hands since it was read; check the guest and run again')

    def _find_existing(self, view):
        vmid, name = self.p.get('vmid'), self.p.get('name')
        if vmid is not None:
            guest = view.guest_by_vmid(vmid)
            if guest and name and guest.get('name') != name:
                hint = 'give a free vmid, or leave vmid out to take the next free one'
                if self.p.get('state') == 'absent':
                    hint = 'nothing was removed: check which guest is meant (the vmid may have changed hands)'
                raise Conflict('vmid {0} belongs to another guest, {1!r} ({2} on {3}), not {4!r}'.format(
                    vmid, guest.get('name'), guest['type'], guest['node'], name), hint=hint)
            if guest and guest.get('template') and self.p.get('state') != 'absent':
                raise Conflict('vmid {0} is a template ({1!r}); a clone needs its own vmid'.format(vmid, guest.get('name')))
            if guest and self.p.get('type') and guest.get('type') != self.p['type']:
                raise Conflict('vmid {0} is a {1} guest ({2!r}), not the {3} guest this run means'.format(
                    vmid, guest.get('type'), guest.get('name'), self.p['type']),
                    hint='check proxmox_vmid and proxmox_type in NetBox')
            return guest
        if not name:
            raise InvalidParameter('give name or vmid of the guest')
        named = [g for g in view.guests_named(name) if not g.get('template')]
        if len(named) > 1:
            raise Conflict('the name {0!r} belongs to {1} guests (vmids {2})'.format(
                name, len(named), ', '.join(str(g['vmid']) for g in named)), hint='give the vmid')
        return named[0] if named else None

    # ---------------------------------------------------------------- create

    def _create(self, view):
        if not self.p.get('template'):
            raise InvalidParameter('guest {0!r} does not exist and no template was given to clone it from'.format(
                self.p.get('name') or self.p.get('vmid')), hint='give template (name or vmid)')
        if not self.p.get('name'):
            raise InvalidParameter('a new clone needs a name')
        template = view.resolve_template(self.p['template'])
        kind, src_node, src_vmid = template['type'], template['node'], int(template['vmid'])
        if self.p.get('type') and kind != self.p['type']:
            wanted = 'a container' if self.p['type'] == 'lxc' else 'a QEMU VM'
            raise InvalidParameter('template {0!r} (vmid {1}) is a {2} template, but {3!r} is {4} ({5})'.format(
                template.get('name'), src_vmid, 'container' if kind == 'lxc' else 'QEMU', self.p['name'], wanted,
                self.p['type']), hint='give a {0} template (custom field proxmox_template, or the defaults '
                                      'template for that type)'.format(self.p['type']))
        target = self.p.get('node') or src_node
        view.require_node(src_node)
        view.require_node(target)
        full = self.p.get('full', True)
        if not full and not template.get('template'):
            raise InvalidParameter('a linked clone (full: false) needs a template; {0!r} is not one'.format(
                template.get('name')))
        content = 'images' if kind == 'qemu' else 'rootdir'
        if self.p.get('storage'):
            if not full:
                raise InvalidParameter('storage applies to full clones only; a linked clone stays on the '
                                       'template\'s storage')
            view.require_storage(self.p['storage'], target, content)
        for disk in self.p.get('disks') or []:
            if disk.get('storage'):
                view.require_storage(disk['storage'], target, content)
        # Plan the configuration against the template's config now: a disk shrink or a bad MAC fails
        # here, before the clone exists.
        template_config = self.pve.guest_config(src_node, kind, src_vmid, current=False)
        planned = plan_config(self._desired_for_new(kind), template_config, kind=kind, name=self.p['name'])
        vmid = self.p.get('vmid') or self.pve.next_vmid()
        self.result['changed'] = True
        self.result['actions'].append('clone {0} {1} ({2}) -> {3} {4!r} on {5}'.format(
            kind, src_vmid, template.get('name'), vmid, self.p['name'], target))
        if self.check:
            self.result.update(created=True, vmid=vmid, node=target, type=kind)
            self.result['actions'].extend('set ' + r for r in planned.tracker.reasons())
            self.result['diff'] = {'before': {}, 'after': dict(planned.tracker.diff()['after'], name=self.p['name'],
                                                               vmid=vmid, node=target)}
            return None
        data = {'newid': vmid, 'full': 1 if full else 0, 'target': target}
        data['name' if kind == 'qemu' else 'hostname'] = self.p['name']
        for option in ('storage', 'pool', 'description'):
            if self.p.get(option):
                data[option] = self.p[option]
        if self.p.get('format') and kind == 'qemu':
            data['format'] = self.p['format']
        # A template that another clone holds locked answers "can't lock file ... got timeout": the
        # transport repeats such a refusal (nothing was done), with backoff, up to its retry count.
        upid = self.pve.post('/nodes/{0}/{1}/{2}/clone'.format(src_node, kind, src_vmid), data=data)
        # Created only now that PVE took the clone (a task id came back): a refused clone (the vmid taken
        # by another actor meanwhile) must never make that other guest look like ours.
        self.result.update(created=True, vmid=vmid, node=target, type=kind)
        self.pve.wait_for_task(upid, timeout=self._remaining())
        return {'type': kind, 'node': target, 'vmid': vmid, 'name': self.p['name'], 'status': 'stopped'}

    def _desired_for_new(self, kind):
        desired = _desired(self.p)
        desired['default_storage'] = self.p.get('storage')
        return desired

    # ------------------------------------------------------------- configure

    def _configure(self, kind, node, vmid, config, guest, new):
        desired = _desired(self.p)
        desired['default_storage'] = self.p.get('storage') or _first_disk_storage(config)
        name = self.p.get('name') or guest.get('name') or str(vmid)
        plan = plan_config(desired, config, kind=kind, name=name,
                           update_password=self.p.get('update_password') == 'always')
        if self.p.get('pool') and not new and guest.get('pool') != self.p['pool']:
            self.result.setdefault('warnings', []).append(
                'guest {0} is in pool {1!r}, not {2!r}; pool membership of existing guests is not changed'.format(
                    vmid, guest.get('pool'), self.p['pool']))
        needs_ci_drive = kind == 'qemu' and any(self.p.get(o) for o in CLOUDINIT_OPTIONS) \
            and not _has_cloudinit_drive(config)
        if needs_ci_drive:
            slot = next((s for s in ('ide2', 'ide0', 'ide1', 'ide3', 'sata5') if s not in config), None)
            storage = self.p.get('storage') or _first_disk_storage(config)
            if slot is None or storage is None:
                raise InvalidParameter('guest {0}: cloud-init options were given but it has no cloud-init drive '
                                       'and no free IDE slot or storage for one'.format(name))
            plan.set[slot] = '{0}:cloudinit'.format(storage)
            plan.tracker.add(slot, None, 'cloud-init drive on ' + storage)
        self.result.setdefault('diff', {'before': {}, 'after': {}})
        diff = plan.tracker.diff()
        if not new:
            self.result['diff'] = diff
        else:
            self.result['diff']['after'].update(diff['after'])
        if not plan.changed:
            return
        self.result['changed'] = True
        self.result['actions'].extend('set ' + r for r in plan.tracker.reasons())
        running = guest.get('status') == 'running'
        if self.check:
            if running:
                self.result['restart_required'] = plan.restart_needed(kind)
            return
        base = '/nodes/{0}/{1}/{2}'.format(node, kind, vmid)
        if plan.set or plan.delete:
            data = dict(plan.set)
            if plan.delete:
                data['delete'] = ','.join(plan.delete)
            # Setting values is safe to repeat after a gateway error; allocating a new volume is not (it could
            # allocate twice): for QEMU's POST and LXC's PUT alike.
            allocates = any(_allocates_volume(v) for v in plan.set.values())
            if kind == 'qemu':
                # POST config runs as a task (disk allocation can take long); wait on its UPID.
                upid = self.pve.post(base + '/config', data=data, retry_safe=not allocates)
                if upid:
                    self.pve.wait_for_task(upid, timeout=self._remaining())
            else:
                self.pve.put(base + '/config', data=data, retry_safe=not allocates)
        for disk, size in plan.resize:
            upid = self.pve.put(base + '/resize', data={'disk': disk, 'size': size})
            if upid:
                self.pve.wait_for_task(upid, timeout=self._remaining())
        if running:   # what the running guest takes only at its next start (QEMU and LXC both list it)
            pending = self.pve.get(base + '/pending') or []
            self.result['restart_required'] = sorted(e['key'] for e in pending if 'pending' in e or e.get('delete'))

    # ------------------------------------------------------------------ power

    def _power(self, kind, node, vmid, state):
        if state not in ('started', 'stopped', 'paused'):
            return
        base = '/nodes/{0}/{1}/{2}'.format(node, kind, vmid)
        current = self.pve.get(base + '/status/current') or {}
        status = current.get('status')
        self._confirm_identity(vmid, kind, current.get('name'), 'a power change')
        if state in ('started', 'paused') and status != 'running':
            self._act('start {0}'.format(vmid), base + '/status/start', {})
        if state == 'paused':
            if kind != 'qemu':
                raise InvalidParameter('state paused: only QEMU VMs can be suspended (hibernated)')
            # Hibernate (suspend to disk): the guest's state is saved and /cluster/resources shows it, so
            # the next run sees a paused guest without a call per VM.
            self._act('suspend {0} to disk'.format(vmid), base + '/status/suspend', {'todisk': 1})
        elif state == 'stopped' and status == 'running':
            grace = int(self.p.get('shutdown_timeout') or 60)
            data = {'timeout': grace}
            if self.p.get('force'):
                data['forceStop'] = 1
            then = ', then force' if self.p.get('force') else ''
            self._act('shut down {0} (timeout {1}s{2})'.format(vmid, grace, then), base + '/status/shutdown', data,
                      timeout=grace + 30)

    def _act(self, what, path, data, timeout=None):
        self.result['changed'] = True
        self.result['actions'].append(what)
        if self.check:
            return
        upid = self.pve.post(path, data=data, retry_safe=False)
        self.pve.wait_for_task(upid, timeout=min(timeout or self._remaining(), self._remaining()))

    # ----------------------------------------------------------------- absent

    def _absent(self, guest):
        if guest is None:
            return self.result
        kind, node, vmid = guest['type'], guest['node'], int(guest['vmid'])
        base = '/nodes/{0}/{1}/{2}'.format(node, kind, vmid)
        config = self.pve.guest_config(node, kind, vmid, current=True)
        self._confirm_identity(vmid, kind, config.get('name' if kind == 'qemu' else 'hostname'), 'removal')
        if str(config.get('protection', '0')) in ('1', 'True', 'true'):
            raise Conflict('guest {0} ({1!r}) has protection set; it is not removed'.format(vmid, guest.get('name')),
                           hint='set protection: false on it first if it really should go')
        before = {'vmid': vmid, 'name': guest.get('name'), 'status': guest.get('status')}
        self.result.update(vmid=vmid, node=node, type=kind, diff={'before': before, 'after': {}})
        if guest.get('status') == 'running':
            self._act('stop {0}'.format(vmid), base + '/status/stop', {})
        params = {'destroy-unreferenced-disks': 1}
        if self.p.get('purge'):
            params['purge'] = 1
        self.result['changed'] = True
        self.result['actions'].append('remove {0} {1} ({2!r}){3}'.format(
            kind, vmid, guest.get('name'), ' and purge it from backup jobs, replication and HA'
            if self.p.get('purge') else ''))
        if not self.check:
            upid = self.pve.delete(base, params=params)
            self.pve.wait_for_task(upid, timeout=self._remaining())
        self.result['status'] = 'absent'
        return self.result

    # ---------------------------------------------------------------- report

    def _report(self, kind, node, vmid):
        self.result.update(vmid=vmid, node=node, type=kind)
        if self.check and self.result.get('created'):
            return
        config = self.pve.guest_config(node, kind, vmid, current=False)
        self.result['mac_addresses'] = mac_addresses(config)
        status = self.pve.get('/nodes/{0}/{1}/{2}/status/current'.format(node, kind, vmid)) or {}
        self.result['status'] = status.get('status')

    def _remaining(self):
        left = self._deadline - time.monotonic()
        if left <= 0:
            raise TaskTimeout('the module\'s timeout of {0:g} s ran out'.format(self.timeout),
                              timeout=self.timeout, hint='raise timeout')
        return left


def _allocates_volume(value):
    """True for a drive value that makes PVE allocate: 'storage:N[,...]' or 'storage:cloudinit'."""
    head = str(value).split(',', 1)[0]
    return parse_new_volume(head) is not None or head.endswith(':cloudinit')


def _first_disk_storage(config):
    for key in sorted(config):
        value = config[key]
        if key == 'rootfs':
            return parse_lxc_mount(value).storage
        if is_disk_key(key) and isinstance(value, str) and 'media=cdrom' not in value:
            try:
                return parse_qemu_disk(value).storage
            except ValueError:
                parts = split_volume_id(value.split(',')[0])
                return parts[0] if parts else None
    return None

"""LabPve: fakepve with the stateful areas nbsync.proxmox manages, for the test lab only.

fakepve (AGPL, a test-only dependency) is imported and subclassed here, never copied.
What this adds, following the PVE 9 sources (pve-manager, qemu-server):

* Ceph pools: ``/nodes/{node}/ceph/pool`` (list, create), ``.../pool/{name}`` (index, set, destroy),
  ``/nodes/{node}/ceph/rules`` (the CRUSH rules replicated_rule and replicated_ssd)
  and ``.../pool/{name}/status``; create, set and destroy are worker tasks (UPIDs).
* Backup jobs: ``/cluster/backup`` and ``/cluster/backup/{id}`` (jobs.cfg, validated as
  PVE::API2::Backup does).
* QEMU disk resize: ``PUT /nodes/{node}/qemu/{vmid}/resize`` answers with a UPID (PVE 8+); the
  checks run inside the task, so a shrink ends with ``TASK ERROR: shrinking disks is not supported``.
  (LXC resize is fakepve's own and already stateful.)
* Fidelity fixes: GET qemu config merges pending changes unless ``current=1`` and honours
  ``snapshot``; values come back typed (integers, booleans as 0/1, memory as a string);
  ``cipassword`` is masked; a net device set without a MAC gets a new one; a cloud-init
  drive is named ``vm-<id>-cloudinit`` and is re-created for the clone; a clone to another
  node from local storage is refused with PVE's message.
* Task durations (``task_secs``, PVE seconds, scaled by ``time_scale``) so that waiting on a
  UPID is exercised, and hung tasks for fault tests.
* A test-control API under ``/_lab/`` (not PVE's): reset, faults, guests, state.
  Besides fakepve's faults it has those of something between the client and PVE, or of a gateway
  that gives up after PVE acted: ``redirect`` (a 3xx with a Location, before PVE sees the request,
  for every client) and ``fail_after`` (PVE does the request, then the client gets an error status
  or a dropped connection instead of PVE's answer).
"""

import asyncio
import hmac
import json
import logging
import re
import secrets
import time
import uuid

from aiohttp import web
from fakepve import FakeCt, FakePve, FakeVm, PveError, TaskError
from fakepve import schema as pve_schema
from fakepve.lxc import SIZE_UNITS, format_size, random_mac
from fakepve.qemu import is_cdrom, join_drive, split_drive, volume_ref, with_mac
from fakepve.routing import die, param_error, split_list
from fakepve.server import error as pve_error
from fakepve.server import params as read_params
from fakepve.storage import _is_file

LOG = logging.getLogger('labpve')
GIB = 1024 ** 3
MIB = 1024 ** 2
CLOUDINIT_SIZE = 4 * MIB

# PVE seconds each task type takes before it does its work (scaled by time_scale).
DEFAULT_TASK_SECS = {
    'qmclone': 6, 'vzclone': 6, 'qmcreate': 3, 'vzcreate': 4, 'qmdestroy': 2, 'vzdestroy': 2,
    'qmstart': 2, 'vzstart': 2, 'qmstop': 1, 'vzstop': 1, 'qmshutdown': 2, 'vzshutdown': 2,
    'qmreboot': 2, 'vzreboot': 2, 'qmtemplate': 2, 'vztemplate': 2, 'qmsnapshot': 2, 'vzsnapshot': 2,
    'qmdelsnapshot': 1, 'vzdelsnapshot': 1, 'qmrollback': 2, 'vzrollback': 2, 'resize': 2, 'qmconfig': 1,
    'cephcreatepool': 3, 'cephsetpool': 1, 'cephdestroypool': 2, 'imgdel': 1,
}
# Real seconds a hung task waits at most (then it goes on); `clear` and `reset` release it earlier.
HANG_LIMIT = 3600

CEPH_SETTINGS = ('size', 'min_size', 'pg_num', 'pg_num_min', 'pg_autoscale_mode', 'crush_rule', 'application',
                 'target_size', 'target_size_ratio')
CEPH_DOWN = 'rados_connect failed - Connection timed out'
CALENDAR_WORD = re.compile(r'^(minutely|hourly|daily|weekly|monthly|yearly|annually|quarterly|semiannually)$')
CALENDAR_DAYS = r'(?:mon|tue|wed|thu|fri|sat|sun)(?:\.\.(?:mon|tue|wed|thu|fri|sat|sun))?'
CALENDAR_EVENT = re.compile(
    r'^(?:' + CALENDAR_DAYS + r'(?:,' + CALENDAR_DAYS + r')*\s*)?'
    r'(?:\d{4}-\d{2}-\d{2}\s*|[\d*,./~]+-[\d*,./~]+\s+)?'
    r'(?:[\d*,./]+(?::[\d*,./]+){1,2})?$', re.IGNORECASE)
# Job options that PVE::VZDump::option_exists knows, plus those update may delete.
VZDUMP_DELETABLE = ('comment', 'repeat-missed')
ROOT_ONLY_JOB_KEYS = ('tmpdir', 'dumpdir', 'script', 'job-id')
PROPERTY_STRING_KEYS = ('prune-backups', 'fleecing', 'performance')

PVE_VM_ADMIN = ('VM.Allocate', 'VM.Audit', 'VM.Backup', 'VM.Clone', 'VM.Config.CDROM', 'VM.Config.CPU',
                'VM.Config.Cloudinit', 'VM.Config.Disk', 'VM.Config.HWType', 'VM.Config.Memory',
                'VM.Config.Network', 'VM.Config.Options', 'VM.Console', 'VM.Migrate', 'VM.PowerMgmt',
                'VM.Snapshot', 'VM.Snapshot.Rollback', 'VM.GuestAgent.Audit', 'VM.GuestAgent.FileRead',
                'VM.GuestAgent.FileWrite', 'VM.GuestAgent.FileSystemMgmt', 'VM.GuestAgent.Unrestricted')
PVE_AUDITOR = ('Datastore.Audit', 'Mapping.Audit', 'Pool.Audit', 'SDN.Audit', 'Sys.Audit', 'VM.Audit',
               'VM.GuestAgent.Audit')
PVE_DATASTORE_USER = ('Datastore.AllocateSpace', 'Datastore.Audit')
PVE_SDN_USER = ('SDN.Audit', 'SDN.Use')

# Attributes a reset keeps: the server, the credentials and counters that must stay monotonic.
KEEP_ON_RESET = ('host', 'port', 'runner', 'client_max_size', 'body_timeout', '_random', '_pids', '_ct_pids',
                 'tickets', 'creds', 'control_token', 'initial_time_scale', 'max_requests', '_hangs',
                 '_upid_cell')


def parse_size(text):
    """Bytes of '8G', '512M', '1048576' (bytes), or None."""
    found = re.fullmatch(r'(\d+(?:\.\d+)?)([KMGT])?', str(text).strip())
    if not found:
        return None
    return int(float(found.group(1)) * SIZE_UNITS.get(found.group(2) or '', 1))


def mac():
    return random_mac()


def says(fn):
    """Mark a task body that takes one argument: a function adding a line to the task log."""
    fn.lab_says = True
    return fn


class LabPve(FakePve):
    """FakePve plus Ceph pools, backup jobs, qemu resize, fidelity fixes and the /_lab control API."""

    def __init__(self, user='root@pam', password='secret', host=None, port=8006, creds=None,
                 control_token=None, time_scale=0.0):
        super().__init__(user=user, password=password, host=host, port=port)
        self.creds = creds or make_creds(password)
        self.control_token = control_token or secrets.token_hex(24)
        self.time_scale = time_scale
        self.initial_time_scale = time_scale
        self.task_secs = dict(DEFAULT_TASK_SECS)
        # Task types that hang (until released): type -> True.
        self.hung_types = {}
        self._hangs = []
        self._upid_cell = None
        self._lab_clone = None
        # name -> pool record; crush rules: name -> id.
        self.ceph_pools = {}
        self.ceph_rules = {'replicated_rule': 0, 'replicated_ssd': 1}   # a second rule to move pools to
        self._ceph_next_id = 1
        # Backup jobs (jobs.cfg, type vzdump): id -> options, in creation order.
        self.backup_jobs = {}
        # The lab's own faults (redirect, fail_after): dicts with kind, method, path and what to answer.
        self.lab_rules = []

    # ================================================================ seeding

    def seed(self):
        """The lab's initial state: nodes, storages, templates, pool, users, tokens and grants."""
        creds = self.creds
        self.user = 'root@pam'
        self.password = creds['password']
        self.cluster_name = 'lab'
        self.nodes = {}
        for node in ('pve1', 'pve2', 'pve3'):
            self.add_node(node)
        self.storages = {
            'local': {'type': 'dir', 'path': '/var/lib/vz', 'content': 'iso,vztmpl,backup,snippets',
                      'active': 1, 'files': set(), 'volumes': {}, 'avail': 200 * GIB},
            'local-lvm': {'type': 'lvmthin', 'vgname': 'pve', 'thinpool': 'data', 'content': 'images,rootdir',
                          'active': 1, 'files': set(), 'volumes': {}},
            'ceph-rbd': {'type': 'rbd', 'pool': 'rbd', 'content': 'images', 'krbd': 0, 'shared': 1,
                         'active': 1, 'files': set(), 'volumes': {}},
            'pbs-store': {'type': 'pbs', 'server': '127.0.0.4', 'datastore': 'lab', 'port': 8007,
                          'username': 'root@pam!lab', 'content': 'backup', 'active': 1, 'files': set(),
                          'volumes': {}},
        }
        if creds.get('pbs_fingerprint'):
            self.storages['pbs-store']['fingerprint'] = creds['pbs_fingerprint']
        self.store_file('local', 'debian-12.11.0-amd64-netinst.iso', 650 * MIB)
        self.store_file('local', 'debian-12-standard_12.7-1_amd64.tar.zst', 120 * MIB, content='vztmpl')
        self.store_file('local', 'ubuntu-24.04-standard_24.04-2_amd64.tar.zst', 140 * MIB, content='vztmpl')
        self.store_file('local', 'lab-user-data.yaml', 1024, content='snippets')
        # Ceph: the manager's pool and the RBD pool behind ceph-rbd.
        self.ceph_pools = {}
        self._ceph_next_id = 1
        self._ceph_add('.mgr', size=3, min_size=2, pg_num=1, pg_autoscale_mode='on', applications=['mgr'])
        self._ceph_add('rbd', size=3, min_size=2, pg_num=32, pg_autoscale_mode='on', applications=['rbd'])
        # Templates.
        self._seed_template(9000, 'debian12-cloudinit', 'local-lvm', 8 * GIB, ciuser='debian',
                            description='Debian 12 cloud-init template (lab)')
        self._seed_template(9001, 'ubuntu2404-cloudinit', 'ceph-rbd', 10 * GIB, ciuser='ubuntu',
                            description='Ubuntu 24.04 cloud-init template on shared storage (lab)')
        self.add_ct(9100, 'debian12-lxc', node='pve1', template=True, config={
            'hostname': 'debian12-lxc', 'ostype': 'debian', 'arch': 'amd64', 'cores': 1, 'memory': 512, 'swap': 512,
            'rootfs': 'local-lvm:base-9100-disk-0,size=4G', 'unprivileged': 1, 'features': 'nesting=1',
            'net0': f'name=eth0,bridge=vmbr0,hwaddr={mac()},ip=dhcp,type=veth',
            'description': 'Debian 12 container template (lab)'})
        self._volume('local-lvm', 'base-9100-disk-0', 9100, 4 * GIB, content='rootdir')
        # The pool: the templates are in it, so the limited user may clone them.
        self.pools = {'lab': {9000, 9001, 9100}}
        self.pool_info = {'lab': {'comment': 'nbsync lab', 'storage': set()}}
        self._sync_pools()
        # Users, tokens, grants. root@pam tokens are root (privsep=0).
        self.users = {'ansible@pve': creds['limited_password']}
        self.apitokens = {
            'root@pam!lab': creds['token_secret'],
            'ansible@pve!limited': creds['limited_secret'],
        }
        self.acl = None
        # The limited token has privsep=0: it holds what ansible@pve holds.
        self.grant('ansible@pve', '/', *PVE_AUDITOR)
        self.grant('ansible@pve', '/pool/lab', *PVE_VM_ADMIN)
        self.grant('ansible@pve', '/storage', *PVE_DATASTORE_USER)
        self.grant('ansible@pve', '/sdn/zones/localnetwork', *PVE_SDN_USER)
        self.backup_jobs = {}
        return self

    def _volume(self, sid, volname, vmid, size, content='images', fmt='raw'):
        self.storages[sid].setdefault('volumes', {})[volname] = {
            'content': content, 'format': fmt, 'size': size, 'vmid': vmid, 'ctime': int(time.time())}

    def _seed_template(self, vmid, name, sid, size, ciuser, description):
        disk = f'base-{vmid}-disk-0'
        ci = f'vm-{vmid}-cloudinit'
        self._volume(sid, disk, vmid, size)
        self._volume(sid, ci, vmid, CLOUDINIT_SIZE)
        config = {
            'name': name, 'template': 1, 'description': description, 'ostype': 'l26', 'machine': 'q35',
            'bios': 'seabios', 'cpu': 'x86-64-v2-AES', 'cores': 2, 'sockets': 1, 'memory': '2048',
            'scsihw': 'virtio-scsi-single', 'boot': 'order=scsi0', 'agent': 'enabled=1',
            'scsi0': f'{sid}:{disk},discard=on,iothread=1,size={format_size(size)}',
            'ide2': f'{sid}:{ci},media=cdrom',
            'net0': f'virtio={mac()},bridge=vmbr0',
            'serial0': 'socket', 'vga': 'serial0', 'ciuser': ciuser, 'ipconfig0': 'ip=dhcp',
            'smbios1': f'uuid={uuid.uuid4()}', 'vmgenid': str(uuid.uuid4()),
            'meta': f'creation-qemu=10.0.2,ctime={int(time.time())}',
        }
        return self.add_vm(vmid, name, node='pve1', config=config, template=True)

    # ================================================================= reset

    def reset(self):
        """Back to the seeded state, quickly: a fresh instance is seeded and its state taken over."""
        for event in self._hangs:
            event.set()
        fresh = type(self)(user=self.user, password=self.creds['password'], host=self.host, port=self.port,
                           creds=self.creds, control_token=self.control_token, time_scale=self.initial_time_scale)
        fresh.seed()
        for key, value in fresh.__dict__.items():
            if key not in KEEP_ON_RESET:
                setattr(self, key, value)
        self._hangs = []

    # ================================================================= tasks

    def _upid(self, node, ttype, tid, user):
        upid, pid, start = super()._upid(node, ttype, tid, user)
        if self._upid_cell is not None:
            self._upid_cell['upid'] = upid
            self._upid_cell = None
        return upid, pid, start

    async def task(self, node, ttype, tid, user, body, vm=None, lock=True, log=()):
        """fakepve's task, with the lab's durations and hangs, and bodies that write log lines."""
        cell = {}
        clone = getattr(self, '_lab_clone', None) if ttype == 'qmclone' else None
        purge = getattr(self, '_lab_purge', None) if ttype in ('qmdestroy', 'vzdestroy') else None

        async def wrapped():
            record = self.tasks.get(cell.get('upid'))
            if self.hung_types.get(ttype):
                event = asyncio.Event()
                self._hangs.append(event)
                if record is not None:
                    record['log'].append('(lab) task held by a task_hang fault')
                try:
                    await asyncio.wait_for(event.wait(), HANG_LIMIT)
                except TimeoutError:
                    pass
            await self.pause(self.task_secs.get(ttype, 0))
            if getattr(body, 'lab_says', False):
                lines = record['log'] if record is not None else []
                return await body(lines.append)
            note = await body()
            if purge is not None:
                self._purge_from_backup_jobs(purge)
            if clone is not None and vm is not None and vm in self.vms:
                try:
                    self._clone_cloudinit(vm, clone.get('storage'))
                except PveError as e:
                    raise TaskError(f'clone failed: {e.message}') from e
            return note
        self._upid_cell = cell
        try:
            return await super().task(node, ttype, tid, user, wrapped, vm=vm, lock=lock, log=log)
        finally:
            self._upid_cell = None

    # ======================================================= fidelity fixes

    @staticmethod
    def _typed(cfg, props):
        """Config values typed as PVE's JSON answer has them (check_type in parse_vm_config)."""
        out = {}
        for key, value in cfg.items():
            sch = pve_schema._prop(props, key) or {}
            kind = sch.get('type')
            try:
                if kind == 'integer' and isinstance(value, str) and re.fullmatch(r'[+-]?\d+', value):
                    value = int(value)
                elif kind == 'number' and isinstance(value, str):
                    number = float(value)
                    value = int(number) if number == int(number) else number
                elif kind == 'boolean' and not isinstance(value, int):
                    value = 1 if str(value).lower() in pve_schema.TRUE else 0
                elif kind == 'boolean' and isinstance(value, bool):
                    value = int(value)
                elif kind == 'string' and isinstance(value, (int, float)) and not isinstance(value, bool):
                    value = str(value)
            except ValueError:
                pass
            out[key] = value
        return out

    @staticmethod
    def _qemu_config_props():
        return pve_schema.load().paths['/nodes/{node}/qemu/{vmid}/config']['GET']['returns']['properties']

    async def _config_get(self, request):
        """GET qemu config: pending values merged unless current=1, or a snapshot's config (Qemu.pm vm_config)."""
        vm = self._vm(request, 'VM.Audit')
        p = self._verify(request, await read_params(request))
        if p.get('snapshot') and p.get('current'):
            text = "cannot use 'snapshot' parameter with 'current'"
            raise PveError(400, 'Parameter verification failed.', {'snapshot': text, 'current': text})
        if p.get('snapshot'):
            snap = vm.snapshots.get(p['snapshot'])
            if snap is None:
                raise die("snapshot '{}' does not exist".format(p['snapshot']))
            cfg = dict(snap)
        else:
            cfg = dict(vm.config)
            if not p.get('current'):
                for key, value in vm.pending.items():
                    if value is None:
                        cfg.pop(key, None)
                    else:
                        cfg[key] = value
        cfg = self._typed(cfg, self._qemu_config_props())
        if cfg.get('cipassword'):
            cfg['cipassword'] = '**********'
        cfg['digest'] = vm.digest()
        return web.json_response({'data': cfg})

    async def _pending(self, request):
        vm = self._vm(request, 'VM.Audit')
        props = self._qemu_config_props()
        config = self._typed(vm.config, props)
        pending = self._typed({k: v for k, v in vm.pending.items() if v is not None}, props)
        if 'cipassword' in config:
            config['cipassword'] = '**********'
        if 'cipassword' in pending:
            pending['cipassword'] = '********** '  # sic: PVE adds the space
        data = []
        for key in sorted(set(vm.config) | set(vm.pending)):
            item = {'key': key}
            if key in config:
                item['value'] = config[key]
            if key in vm.pending:
                if vm.pending[key] is None:
                    item['delete'] = 1
                else:
                    item['pending'] = pending[key]
            data.append(item)
        return web.json_response({'data': data})

    async def _apply_config(self, vm, user, p):
        # parse_net gives a device without a MAC a new random one (update_vm_api).
        p = dict(p)
        for key, value in list(p.items()):
            if re.fullmatch(r'net\d+', key) and value is not None:
                p[key] = with_mac(value)
            # PVE allocates a new volume for 'storage:N' (N GiB) or 'storage:cloudinit' on a config update too
            # (fakepve does it on create only and stores the spec literally).
            elif (re.fullmatch(r'(ide[0-3]|sata[0-5]|scsi\d+|virtio\d+|efidisk0|tpmstate0)', key) and value
                  and re.match(r'[^:,/]+:(\d+(\.\d+)?|cloudinit)(,|$)', str(value))):
                p[key] = self._qm_new_drive(vm.vmid, key, str(value), None)[0]
        return await super()._apply_config(vm, user, p)

    def _cloudinit_alloc(self, sid, vmid, fmt=None):
        """A cloud-init volume as PVE names it: vm-<vmid>-cloudinit (qcow2 under <vmid>/ on file storages)."""
        store = self._store(sid)
        if not store.get('active', 1):
            raise die(f"storage '{sid}' is not online")
        if _is_file(store):
            fmt = fmt or 'qcow2'
            volname = f'{vmid}/vm-{vmid}-cloudinit.{fmt}'
        else:
            fmt = 'raw'
            volname = f'vm-{vmid}-cloudinit'
        if volname in store.setdefault('volumes', {}):
            raise die(f"volume '{sid}:{volname}' already exists")
        self._volume(sid, volname, vmid, CLOUDINIT_SIZE, fmt=fmt)
        return f'{sid}:{volname}'

    def _qm_new_drive(self, vmid, key, value, default):
        volume, props = split_drive(value)
        if volume.endswith(':cloudinit') or volume == 'cloudinit':
            sid = volume_ref(volume)[0] if ':' in volume else None
            sid = sid or default
            if not sid:
                raise die('no storage ID specified (and no default storage)')
            volid = self._cloudinit_alloc(sid, vmid, props.pop('format', None))
            props = dict(props, media='cdrom')
            props.pop('size', None)
            return join_drive(volid, props), [volid]
        return super()._qm_new_drive(vmid, key, value, default)

    @staticmethod
    def _is_cloudinit(volume):
        return bool(re.search(r'(?:^|[:/])vm-\d+-cloudinit(?:\.\w+)?$', volume))

    def _vm_shared(self, config):
        """$check_storage_access_clone's $sharedvm: every volume (CD-ROMs too) is on shared storage."""
        for key, value in config.items():
            if not re.fullmatch(r'(ide[0-3]|sata[0-5]|scsi\d+|virtio\d+|efidisk0|tpmstate0)', key):
                continue
            volume, _props = split_drive(value)
            if not volume or volume in ('none', 'cdrom'):
                continue
            sid = volume_ref(volume)[0]
            if sid is None:
                continue
            if not self.storages.get(sid, {}).get('shared'):
                return False
        return True

    async def _qm_clone(self, v, user):
        node, target = v['node'], v.get('target')
        if target in (node, 'localhost'):
            target = None
        src = self.vm(int(v['vmid']))
        if target and target in self.nodes and src is not None and src.node == node:
            old = src.snapshots.get(v.get('snapname')) if v.get('snapname') else src.config
            if old is not None and not self._vm_shared(old):
                raise die(f"can't clone VM to node '{target}' (VM uses local storage)")
        self._lab_clone = {'newid': int(v['newid']), 'storage': v.get('storage'),
                           'full': v.get('full'), 'format': v.get('format')}
        thief = getattr(self, '_steal_next_clone', None)
        if thief:
            # Another actor (a person, another tool) takes the vmid an instant before this clone: PVE then
            # refuses the clone because the vmid exists. A race the tests cannot time from outside.
            self._steal_next_clone = None
            self.add_vm(int(v['newid']), thief, node=node)
        try:
            return await super()._qm_clone(v, user)
        finally:
            self._lab_clone = None

    def _clone_cloudinit(self, new, storage):
        """clone_disk for a cloud-init drive: a new vm-<newid>-cloudinit, not the source's volume."""
        for key in sorted(new.config):
            if not re.fullmatch(r'(ide[0-3]|sata[0-5]|scsi\d+|virtio\d+)', key):
                continue
            volume, props = split_drive(new.config[key])
            if not self._is_cloudinit(volume):
                continue
            sid = storage or volume_ref(volume)[0]
            volid = self._cloudinit_alloc(sid, new.vmid)
            new.config[key] = join_drive(volid, props)

    # ============================================================ qemu resize

    def _routes_labresize(self):
        return [('PUT', '/nodes/{node}/qemu/{vmid}/resize', self._qm_resize)]

    async def _qm_resize(self, v, user):
        """Qemu.pm resize_vm: a 'resize' worker; every check but skiplock runs inside it."""
        vm = self.find(v['node'], v['vmid'])
        disk, sizestr = v['disk'], str(v['size'])
        skiplock = v.get('skiplock')
        if skiplock and user != 'root@pam':
            raise param_error(skiplock='Only root may use this option.')

        @says
        async def body(say):
            self.need_quorum_task()
            if v.get('digest') and v['digest'] != vm.digest():
                raise TaskError('checksum mismatch (file change by other user?)')
            if vm.lock and not skiplock:
                raise TaskError(f'VM is locked ({vm.lock})')
            value = vm.config.get(disk)
            if not value:
                raise TaskError(f"disk '{disk}' does not exist")
            volume, props = split_drive(value)
            if not volume:
                raise TaskError(f"disk '{disk}' has no associated volume")
            if is_cdrom(volume, props) or self._is_cloudinit(volume):
                raise TaskError("you can't resize a cdrom")
            sid, name = volume_ref(volume)
            if sid is None or sid not in self.storages:
                raise TaskError(f"storage '{sid}' does not exist")
            if not self.allowed(user, '/storage/' + sid, 'Datastore.AllocateSpace'):
                raise TaskError(f'Permission check failed (/storage/{sid}, Datastore.AllocateSpace)')
            vol = self._volumes(sid).get(name) or {}
            size = int(vol.get('size') or parse_size(props.get('size', '')) or 0)
            if not size:
                raise TaskError(f"Could not determine current size of volume '{volume}'")
            found = re.fullmatch(r'(\+)?(\d+(?:\.\d+)?)([KMGT])?', sizestr)
            if not found:
                raise TaskError('internal error')
            newsize = float(found.group(2)) * SIZE_UNITS.get(found.group(3) or '', 1)
            if found.group(1):
                newsize += size
            newsize = int(newsize)
            if newsize < size:
                raise TaskError('shrinking disks is not supported')
            if newsize == size:
                return
            await self.ceph_io(vm, [disk])
            store = self.storages[sid]
            if 'avail' in store:
                if newsize - size > store['avail']:
                    raise TaskError(f"unable to write to storage '{sid}': No space left on device")
                store['avail'] -= newsize - size
            stored = store.setdefault('volumes', {}).get(name)
            if stored is not None:
                stored['size'] = newsize
            else:
                self._volume(sid, name, vm.vmid, newsize)
            props = dict(props, size=format_size(newsize))
            vm.config[disk] = join_drive(volume, props)
            say(f'resized {disk} ({volume}) to {format_size(newsize)}')
            return
        return await self.task(vm.node, 'resize', vm.vmid, user, body, vm=vm)

    def need_quorum_task(self):
        if not self.quorate:
            raise TaskError('cluster not ready - no quorum?')

    # ============================================================= Ceph pools

    def _routes_labceph(self):
        base = '/nodes/{node}/ceph/pool'
        one = base + '/{name}'
        return [('GET', base, self._ceph_list), ('POST', base, self._ceph_create),
                ('GET', one, self._ceph_index), ('PUT', one, self._ceph_update),
                ('DELETE', one, self._ceph_delete), ('GET', one + '/status', self._ceph_status_get),
                ('GET', '/nodes/{node}/ceph/rules', self._ceph_rules_list)]

    async def _ceph_rules_list(self, v, user):
        """PVE::API2::Ceph rules: [{name}], Sys.Audit on /."""
        self.require(user, '/', 'Sys.Audit')
        self._rados()
        return [{'name': name} for name in sorted(self.ceph_rules, key=self.ceph_rules.get)]

    def _ceph_add(self, name, size=3, min_size=2, pg_num=128, pg_autoscale_mode='warn', applications=('rbd',),
                  crush_rule=0):
        pool_id = self._ceph_next_id
        self._ceph_next_id += 1
        self.ceph_pools[name] = {
            'id': pool_id, 'size': size, 'min_size': min_size, 'pg_num': pg_num, 'pgp_num': pg_num,
            'pg_num_min': None, 'pg_autoscale_mode': pg_autoscale_mode, 'crush_rule': crush_rule,
            'applications': list(applications), 'target_size_bytes': None, 'target_size_ratio': None,
            'bytes_used': 0}
        return self.ceph_pools[name]

    def _rados(self):
        """PVE::RADOS->new(): fails when Ceph is down."""
        if self.ceph['down']:
            raise die(CEPH_DOWN)

    def _rule_name(self, rule_id):
        return next((name for name, rid in self.ceph_rules.items() if rid == rule_id), None)

    def _used_bytes(self, name):
        """What the RBD storages on the pool hold."""
        total = 0
        for sid, store in self.storages.items():
            if store.get('type') == 'rbd' and (store.get('pool') or 'rbd') == name:
                total += sum(int(vol.get('size') or 0) for vol in self._volumes(sid).values())
        return total

    def _autoscale(self, name, pool):
        return {'pool_name': name, 'pool_id': pool['id'], 'pg_autoscale_mode': pool['pg_autoscale_mode'],
                'pg_num_target': pool['pg_num'], 'pg_num_final': pool['pg_num'], 'would_adjust': False,
                'target_bytes': pool['target_size_bytes'] or 0, 'target_ratio': pool['target_size_ratio'] or 0.0,
                'raw_used_rate': float(pool['size']), 'logical_used': self._used_bytes(name), 'bias': 1.0,
                'bulk': False, 'crush_root_id': -1}

    async def _ceph_list(self, v, user):
        self._rados()
        out = []
        for name, pool in sorted(self.ceph_pools.items(), key=lambda item: item[1]['id']):
            used = self._used_bytes(name)
            out.append({
                'pool': pool['id'], 'pool_name': name, 'size': pool['size'], 'min_size': pool['min_size'],
                'pg_num': pool['pg_num'], 'crush_rule': pool['crush_rule'],
                'crush_rule_name': self._rule_name(pool['crush_rule']),
                'pg_autoscale_mode': pool['pg_autoscale_mode'],
                'application_metadata': {app: {} for app in pool['applications']},
                'autoscale_status': self._autoscale(name, pool), 'pg_num_final': pool['pg_num'],
                'pg_num_min': pool['pg_num_min'], 'target_size': pool['target_size_bytes'],
                'target_size_ratio': pool['target_size_ratio'], 'bytes_used': used,
                'percent_used': used / float(3 * 1024 * GIB), 'type': 'replicated'})
        return out

    async def _ceph_index(self, v, user):
        # PVE's poolindex checks nothing: any name has a 'status' child.
        return [{'name': 'status'}]

    def _ceph_get(self, name):
        pool = self.ceph_pools.get(name)
        if pool is None:
            raise die(f"error with 'osd pool get': mon_cmd failed - unrecognized pool '{name}'")
        return pool

    async def _ceph_status_get(self, v, user):
        self._rados()
        name = v['name']
        pool = self._ceph_get(name)
        data = {
            'id': pool['id'], 'name': name, 'size': pool['size'], 'min_size': pool['min_size'],
            'pg_num': pool['pg_num'], 'pg_num_min': pool['pg_num_min'], 'pgp_num': pool['pgp_num'],
            'crush_rule': self._rule_name(pool['crush_rule']), 'pg_autoscale_mode': pool['pg_autoscale_mode'],
            'noscrub': False, 'nodeep-scrub': False, 'nodelete': False, 'nopgchange': False,
            'nosizechange': False, 'write_fadvise_dontneed': False, 'hashpspool': True, 'use_gmt_hitset': True,
            'fast_read': False, 'target_size': pool['target_size_bytes'],
            'target_size_ratio': pool['target_size_ratio']}
        if v.get('verbose'):
            used = self._used_bytes(name)
            data['autoscale_status'] = self._autoscale(name, pool)
            data['statistics'] = {'stored': used, 'objects': used // (4 * MIB), 'kb_used': used * 3 // 1024,
                                  'bytes_used': used * 3, 'percent_used': used / float(3 * 1024 * GIB),
                                  'max_avail': 1024 * GIB}
            data['application_list'] = list(pool['applications'])
        return data

    def _ceph_properties(self, pool):
        """`osd pool get all` as set_pool compares it."""
        props = {'size': pool['size'], 'min_size': pool['min_size'], 'pg_num': pool['pg_num'],
                 'pgp_num': pool['pgp_num'], 'crush_rule': self._rule_name(pool['crush_rule']),
                 'pg_autoscale_mode': pool['pg_autoscale_mode']}
        for key in ('pg_num_min', 'target_size_bytes', 'target_size_ratio'):
            if pool[key] is not None:
                props[key] = pool[key]
        return props

    def _ceph_apply(self, name, pool, key, value):
        """One `osd pool set` (or application enable); returns Ceph's error text or None."""
        def err(prefix, text):
            return f"error with '{prefix}': mon_cmd failed - {text}"
        if key == 'application':
            if pool['applications'] and value not in pool['applications']:
                return err('osd pool application enable', f"Are you SURE? Pool '{name}' already has an enabled "
                           "application; pass --yes-i-really-mean-it to proceed anyway")
            if value not in pool['applications']:
                pool['applications'].append(value)
            return None
        if key == 'size':
            pool['size'] = int(value)
            pool['min_size'] = pool['size'] - pool['size'] // 2
        elif key == 'min_size':
            if not 1 <= int(value) <= pool['size']:
                return err('osd pool set', 'pool min_size must be between 1 and size, which is set to {}'.format(
                    pool['size']))
            pool['min_size'] = int(value)
        elif key == 'pg_num':
            if pool['pg_num_min'] and int(value) < pool['pg_num_min']:
                return err('osd pool set', 'specified pg_num {} < pg_num_min {}'.format(value, pool['pg_num_min']))
            pool['pg_num'] = pool['pgp_num'] = int(value)
        elif key == 'pg_num_min':
            if int(value) > pool['pg_num']:
                return err('osd pool set', 'specified pg_num_min {} > pg_num {}'.format(value, pool['pg_num']))
            pool['pg_num_min'] = int(value) or None
        elif key == 'pg_autoscale_mode':
            pool['pg_autoscale_mode'] = value
        elif key == 'crush_rule':
            if value not in self.ceph_rules:
                return err('osd pool set', f'crush rule {value} does not exist')
            pool['crush_rule'] = self.ceph_rules[value]
        elif key == 'target_size_bytes':
            pool['target_size_bytes'] = int(value) or None
        elif key == 'target_size_ratio':
            pool['target_size_ratio'] = float(value) or None
        return None

    def _ceph_set(self, name, params, say):
        """PVE::Ceph::Tools::set_pool: size first, unchanged settings skipped, failures listed at the end."""
        pool = self.ceph_pools.get(name)
        if pool is None:
            raise TaskError(f"error with 'osd pool get': mon_cmd failed - unrecognized pool '{name}'")
        keys = sorted(k for k in params if k != 'size')
        if 'size' in params:
            keys.insert(0, 'size')
        current = self._ceph_properties(pool)
        failed = []
        for key in keys:
            value = params[key]
            if key in current and str(value) == str(current[key]):
                say(f"skipping '{key}', did not change")
                continue
            say(f'pool {name}: applying {key} = {value}')
            problem = self._ceph_apply(name, pool, key, value)
            if problem:
                say(problem)
                failed.append(key)
        if failed:
            raise TaskError('Could not set: {}'.format(', '.join(sorted(failed))))

    @staticmethod
    def _ceph_params(v):
        params = {k: v[k] for k in CEPH_SETTINGS if v.get(k) is not None}
        if 'target_size' in params:
            params['target_size_bytes'] = parse_size(params.pop('target_size'))
        return params

    async def _ceph_create(self, v, user):
        self.need_quorum()
        self._rados()
        name = v['name']
        if v.get('erasure-coding'):
            raise die('labpve: erasure coded pools are not modelled')
        add_storages = v.get('add_storages')
        params = self._ceph_params(v)
        if add_storages:
            self.require(user, '/storage', 'Datastore.Allocate')
            if not re.fullmatch(r'[a-z][a-z0-9\-_.]*[a-z0-9]', name, re.IGNORECASE):
                raise die('pool name contains characters which are illegal for storage naming')
        params.setdefault('pg_num', 128)
        params.setdefault('size', 3)
        params.setdefault('min_size', 2)
        params.setdefault('application', 'rbd')
        params.setdefault('pg_autoscale_mode', 'warn')

        @says
        async def body(say):
            if self.ceph['down']:
                raise TaskError(CEPH_DOWN)
            if name in self.ceph_pools:
                say(f"pool '{name}' already exists")  # `osd pool create` succeeds all the same
            else:
                pool = self._ceph_add(name, pg_num=int(params['pg_num']), applications=())
                pool['pg_autoscale_mode'] = 'on'  # Ceph's default until set_pool applies ours
            self._ceph_set(name, dict(params), say)
            if add_storages:
                try:
                    await self._sc_create({'type': 'rbd', 'storage': name, 'pool': name, 'krbd': 0,
                                           'content': 'rootdir,images'}, user)
                except PveError as e:
                    raise TaskError(f"adding PVE storage for ceph pool '{name}' failed: {e.message}")
        return await self.task(v['node'], 'cephcreatepool', name, user, body)

    async def _ceph_update(self, v, user):
        self._rados()
        name = v['name']
        params = self._ceph_params(v)

        @says
        async def body(say):
            if self.ceph['down']:
                raise TaskError(CEPH_DOWN)
            self._ceph_set(name, params, say)
        return await self.task(v['node'], 'cephsetpool', name, user, body)

    async def _ceph_delete(self, v, user):
        self._rados()
        name = v['name']
        if v.get('remove_storages'):
            self.require(user, '/storage', 'Datastore.Allocate')

        @says
        async def body(say):
            storages = sorted(sid for sid, store in self.storages.items() if store.get('type') == 'rbd' and (
                (store.get('pool') or 'rbd') == name or store.get('data-pool') == name))
            if not v.get('force'):
                for sid in storages:
                    say(f"checking storage '{sid}' for RBD images..")
                    if any(vol.get('content') in ('images', 'rootdir') for vol in self._volumes(sid).values()):
                        raise TaskError(f"ceph pool '{name}' still in use by storage '{sid}'")
            if self.ceph['down']:
                raise TaskError(CEPH_DOWN)
            if name not in self.ceph_pools:
                raise TaskError(f"error with 'osd pool get': mon_cmd failed - unrecognized pool '{name}'")
            del self.ceph_pools[name]
            if v.get('remove_storages'):
                failed = False
                for sid in storages:
                    if self.storages[sid].get('monhost'):
                        continue
                    try:
                        await self._sc_delete({'storage': sid}, user)
                    except PveError as e:
                        say(f"failed to remove storage '{sid}': {e.message}")
                        failed = True
                if failed:
                    raise TaskError('failed to remove (some) storages - check log and remove manually!')
        return await self.task(v['node'], 'cephdestroypool', name, user, body)

    # ============================================================ backup jobs

    def _routes_labbackup(self):
        return [('GET', '/cluster/backup', self._job_list), ('POST', '/cluster/backup', self._job_create),
                ('GET', '/cluster/backup/{id}', self._job_read), ('PUT', '/cluster/backup/{id}', self._job_update),
                ('DELETE', '/cluster/backup/{id}', self._job_delete)]

    @staticmethod
    def _job_return_props():
        return pve_schema.load().paths['/cluster/backup/{id}']['GET']['returns']['properties']

    async def _qm_destroy(self, v, user):
        """fakepve's destroy; with purge=1 the worker also takes the vmid out of backup jobs, as PVE does."""
        self._lab_purge = int(v['vmid']) if v.get('purge') else None
        try:
            return await super()._qm_destroy(v, user)
        finally:
            self._lab_purge = None

    def _purge_from_backup_jobs(self, vmid):
        """PVE::VZDump::Plugin::remove_vmid_from_backup_jobs: the vmid leaves every job's list; a job left
        with no vmid is removed."""
        for job_id, job in list(self.backup_jobs.items()):
            if not job.get('vmid'):
                continue
            left = [x for x in str(job['vmid']).split(',') if x.strip() and int(x) != vmid]
            if len(left) == len(str(job['vmid']).split(',')):
                continue
            if left:
                job['vmid'] = ','.join(left)
            else:
                del self.backup_jobs[job_id]

    def _job_view(self, job_id, job):
        out = dict(job)
        props = self._job_return_props()
        for key in PROPERTY_STRING_KEYS:
            if isinstance(out.get(key), str):
                out[key] = self._parse_property_string(props[key].get('properties') or {}, out[key])
        out = self._typed(out, props)
        if out.get('schedule'):
            out['next-run'] = (int(time.time()) // 3600 + 1) * 3600
        out['id'] = job_id
        return out

    @staticmethod
    def _parse_property_string(sub, text):
        """A validated property string as the object PVE returns (values as strings, as PVE's)."""
        res = {}
        default = next((k for k, x in sub.items() if x.get('default_key')), None)
        for part in str(text).split(','):
            if not part.strip():
                continue
            key, eq, val = part.partition('=')
            if not eq:
                key, val = default, part
            if sub.get(key, {}).get('type') == 'boolean':
                val = pve_schema.parse_boolean(val) or val
            res[key] = val
        return res

    def _check_job_values(self, values):
        """Formats fakepve does not know: the calendar event and the property strings."""
        schedule = values.get('schedule')
        if schedule is not None and not (CALENDAR_WORD.match(schedule) or (
                schedule.strip() and CALENDAR_EVENT.match(schedule.strip()))):
            raise param_error(schedule=f"invalid format - invalid calendar event '{schedule}' - unable to parse calendar "
                                       "event\n")
        props = self._job_return_props()
        for key in PROPERTY_STRING_KEYS:
            if values.get(key) is None:
                continue
            why = pve_schema._check_format(props[key].get('properties') or {}, str(values[key]), key)
            if why:
                raise param_error(**{key: 'invalid format - ' + why})

    def _job_perms_common(self, user, values, is_delete=False):
        if user == 'root@pam':
            return
        for key in ROOT_ONLY_JOB_KEYS:
            if key in values:
                raise param_error(**{key: 'Only root may set this option.'})
        if any(values.get(k) is not None for k in ('bwlimit', 'ionice', 'performance')):
            self.require(user, '/', 'Sys.Modify')
        if values.get('fleecing') and not is_delete:
            fleecing = self._parse_property_string({'enabled': {'type': 'boolean', 'default_key': 1},
                                                    'storage': {}}, values['fleecing'])
            if fleecing.get('storage'):
                self.require(user, '/storage/' + fleecing['storage'], 'Datastore.AllocateSpace')

    @staticmethod
    def _storage_param(values):
        if values.get('dumpdir'):
            return None
        return values.get('storage') or 'local'

    def _job_pool_check(self, user, values):
        pool = values.get('pool')
        if pool:
            if pool not in self.pools:
                raise PveError(403, f"Permission check failed (pool '{pool}' does not exist)")
            self.require(user, '/pool/' + pool, 'VM.Backup')

    @staticmethod
    def _schedule_check(values, required):
        if values.get('schedule') is not None:
            if values.get('starttime') is not None:
                raise param_error(starttime="'starttime' and 'schedule' cannot both be set")
        elif values.get('starttime') is None:
            if required:
                raise param_error(schedule="neither 'starttime' nor 'schedule' were set")
        else:
            dow = ','.join(split_list(values.get('dow') or ''))
            starttime = values['starttime']
            values['schedule'] = starttime if not dow or dow == 'mon,tue,wed,thu,fri,sat,sun' else \
                f'{dow} {starttime}'
        values.pop('starttime', None)
        values.pop('dow', None)

    @staticmethod
    def _verify_vzdump(values, check_missing=False):
        """PVE::VZDump::verify_vzdump_parameters."""
        if values.get('all') and values.get('vmid'):
            raise param_error(all="option conflicts with option 'vmid'")
        if values.get('exclude') and values.get('vmid'):
            raise param_error(exclude="option conflicts with option 'vmid'")
        if values.get('pool') and values.get('vmid'):
            raise param_error(pool="option conflicts with option 'vmid'")
        if values.get('exclude') is not None and not values.get('pool'):
            values['all'] = 1
        if not check_missing:
            return
        if not (values.get('all') or values.get('stop') or values.get('pool')) and not values.get('vmid'):
            raise param_error(vmid='property is missing')

    async def _job_list(self, v, user):
        return [self._job_view(job_id, job) for job_id, job in self.backup_jobs.items()]

    async def _job_read(self, v, user):
        job = self.backup_jobs.get(v['id'])
        if job is None:
            raise param_error(id="No such job '{}'".format(v['id']))
        return self._job_view(v['id'], job)

    async def _job_create(self, v, user):
        values = {k: x for k, x in v.items() if x is not None}
        self._check_job_values(values)
        if user != 'root@pam':
            self._job_perms_common(user, values)
            storeid = self._storage_param(values)
            if storeid:
                self.require(user, '/storage/' + storeid, 'Datastore.Allocate')
        self._job_pool_check(user, values)
        self._schedule_check(values, True)
        values.setdefault('enabled', 1)
        job_id = values.pop('id', None) or str(uuid.uuid4())
        self.need_quorum()
        if job_id in self.backup_jobs:
            raise die(f"error with cfs lock 'jobs.cfg': Job '{job_id}' already exists")
        self._verify_vzdump(values, True)
        self.backup_jobs[job_id] = dict(values, type='vzdump')

    async def _job_update(self, v, user):
        values = {k: x for k, x in v.items() if x is not None}
        job_id = values.pop('id')
        deletes = split_list(values.pop('delete', ''))
        self._check_job_values(values)
        if user != 'root@pam':
            self._job_perms_common(user, values)
            self._job_perms_common(user, dict.fromkeys(deletes, 1), True)
            if values.get('storage'):
                self.require(user, '/storage/' + values['storage'], 'Datastore.Allocate')
            elif 'storage' in deletes:
                self.require(user, '/storage/local', 'Datastore.Allocate')
        self._job_pool_check(user, values)
        self._schedule_check(values, False)
        self.need_quorum()
        prefix = "error with cfs lock 'vzdump.cron': error with cfs lock 'jobs.cfg': "
        if not values and not deletes:
            raise die(prefix + 'no options specified')
        self._verify_vzdump(values)
        current = self.backup_jobs.get(job_id)
        if current is None:
            raise die(prefix + 'no such vzdump job')
        if user != 'root@pam':
            if current.get('dumpdir'):
                raise die(prefix + "only root@pam may edit jobs with a 'dumpdir' option.")
            storeid = self._storage_param(current)
            if storeid:
                self.require(user, '/storage/' + storeid, 'Datastore.Allocate')
        job = dict(current)
        known = set(pve_schema.load().paths['/cluster/backup/{id}']['PUT']['parameters']['properties'])
        for key in deletes:
            vzdump_option = key in known and key not in ('id', 'delete', 'starttime', 'dow', 'schedule', 'enabled',
                                                         'comment', 'repeat-missed')
            if not vzdump_option and key not in VZDUMP_DELETABLE:
                raise param_error(delete=f"unknown option '{key}'")
            job.pop(key, None)
        job.update(values)
        if job.get('exclude') is not None and job.get('pool') is None:
            job['all'] = 1
        if values.get('vmid') is not None:
            for key in ('all', 'exclude', 'pool'):
                job.pop(key, None)
        elif values.get('all'):
            job.pop('vmid', None)
            job.pop('pool', None)
        elif job.get('pool'):
            for key in ('vmid', 'all', 'exclude'):
                job.pop(key, None)
        self._verify_vzdump(job, True)
        self.backup_jobs[job_id] = job

    async def _job_delete(self, v, user):
        job_id = v['id']
        self.need_quorum()
        if job_id not in self.backup_jobs:
            raise param_error(id=f"No such job '{job_id}'")
        del self.backup_jobs[job_id]

    # ======================================================== control (/_lab)

    def _build_app(self):
        app = super()._build_app()
        r = app.router
        r.add_post('/_lab/reset', self._lab_reset)
        r.add_post('/_lab/fault', self._lab_fault)
        r.add_post('/_lab/guests', self._lab_guests)
        r.add_get('/_lab/state', self._lab_state)
        r.add_get('/_lab/requests', self._lab_requests)
        return app

    @web.middleware
    async def _middleware(self, request, handler):
        # The control API is not PVE's: no PVE auth, no network faults, not recorded.
        if request.path == '/_lab' or request.path.startswith('/_lab/'):
            given = request.headers.get('X-Lab-Control', '')
            if not hmac.compare_digest(given.encode(), self.control_token.encode()):
                return web.json_response({'error': 'X-Lab-Control header missing or wrong'}, status=403)
            try:
                return await handler(request)
            except LabError as e:
                return web.json_response({'error': str(e)}, status=e.status)
            except (KeyError, TypeError, ValueError) as e:
                return web.json_response({'error': f'{type(e).__name__}: {e}'}, status=400)
        rule = self._take_rule('redirect', request)
        if rule is not None:   # something in front of PVE answers: PVE never sees the request
            return web.Response(status=rule['status'], headers={'Location': rule['location']},
                                text='Moved', content_type='text/plain')
        response = await super()._middleware(request, handler)
        if 200 <= response.status < 300:
            rule = self._take_rule('fail_after', request)
            if rule is not None:   # PVE acted; the gateway lost the answer
                if rule['drop']:
                    request.transport.close()
                    raise ConnectionResetError('labpve: connection dropped after the request was done')
                return pve_error(rule['status'], rule['message'])
        return response

    def _take_rule(self, kind, request):
        """The first lab rule of this kind matching the request (a path suffix or a schema template), counted."""
        for rule in self.lab_rules:
            if rule['kind'] != kind or rule['method'] != request.method:
                continue
            if not self._failure_matches(request, None, rule['path']):
                continue
            if rule['times'] is not None:
                rule['times'] -= 1
                if rule['times'] <= 0:
                    self.lab_rules.remove(rule)
            return rule
        return None

    def add_rule(self, kind, method, path, status=None, message=None, location=None, drop=False, times=None):
        """redirect: answer ``status`` (default 307) with ``Location: location`` before PVE sees the request.
        fail_after: let PVE do the request, then answer ``status``/``message`` (default 503) or, with ``drop``,
        close the connection without an answer. ``times``: that many requests, then the rule is gone."""
        if kind == 'redirect' and not location:
            raise LabError(400, 'a redirect needs a location')
        default_status = 307 if kind == 'redirect' else 503
        self.lab_rules.append({'kind': kind, 'method': method.upper(), 'path': path,
                               'status': int(status or default_status), 'message': message or 'Service Unavailable',
                               'location': location, 'drop': bool(drop), 'times': times})

    @staticmethod
    async def _body(request):
        raw = await request.read()
        if not raw:
            return {}
        try:
            data = json.loads(raw)
        except ValueError:
            raise LabError(400, 'body is not JSON') from None
        if not isinstance(data, dict):
            raise LabError(400, 'body must be a JSON object')
        return data

    async def _lab_reset(self, request):
        started = time.monotonic()
        self.reset()
        return web.json_response({'ok': True, 'seconds': round(time.monotonic() - started, 4)})

    def _need_guest(self, vmid):
        guest = self.guest(int(vmid))
        if guest is None:
            raise LabError(404, f'no guest {vmid}')
        return guest

    def _clear_faults(self):
        self._steal_next_clone = None
        self.failures = {}
        self.lab_rules = []
        self.network = {'latency': 0.0, 'jitter': 0.0, 'node_latency': {}, 'drop_rate': 0.0,
                        'hang_rate': 0.0, 'hang_secs': 120, 'seed': None}
        self.regain_quorum()
        for node in self.nodes:
            self.set_node_offline(node, False)
        self.ceph_recover()
        self.ticket_ttl = 7200
        self.task_secs = dict(DEFAULT_TASK_SECS)
        self.hung_types = {}
        for event in self._hangs:
            event.set()
        self._hangs = []
        self.time_scale = self.initial_time_scale
        for guest in list(self.vms) + list(self.cts):
            guest.shutdown_secs = guest.start_secs = guest.stop_secs = 0
            guest.start_error = None
            if isinstance(guest, FakeVm):
                guest.acpi = True
                guest.agent_hangs = False
            if guest.lock_holder == 'scenario':
                self.release(guest, 'scenario')

    async def _lab_fault(self, request):
        f = await self._body(request)
        kind = f.get('kind')
        out = {'ok': True, 'kind': kind}
        if kind == 'clear':
            self._clear_faults()
        elif kind == 'node_offline':
            if f['node'] not in self.nodes:
                raise LabError(404, 'no node {}'.format(f['node']))
            self.set_node_offline(f['node'], f.get('offline', True))
        elif kind == 'node_online':
            self.set_node_offline(f['node'], False)
        elif kind == 'lose_quorum':
            self.lose_quorum()
        elif kind == 'regain_quorum':
            self.regain_quorum()
        elif kind == 'lock':
            self._need_guest(f['vmid'])
            self.snapshot_lock(int(f['vmid']), f.get('lock', 'snapshot'))
        elif kind == 'unlock':
            self._need_guest(f['vmid'])
            self.unlock(int(f['vmid']))
        elif kind == 'hold_config_lock':
            self._need_guest(f['vmid'])
            await self.hold_config_lock(int(f['vmid']), f.get('seconds'))
        elif kind == 'steal_clone_vmid':
            self._steal_next_clone = f['name']
        elif kind == 'release_config_lock':
            self.release_config_lock(int(f['vmid']))
        elif kind == 'fail':
            self.fail(f.get('method', 'GET').upper(), f['path'], status=f.get('status'), message=f.get('message'),
                      html=f.get('html', False), error=f.get('error'), times=f.get('times'))
        elif kind == 'errors_for':
            out['errors'] = self.errors_for(f.get('method', 'GET').upper(), f['path'], f.get('params'))
        elif kind in ('redirect', 'fail_after'):
            self.add_rule(kind, f.get('method', 'GET'), f['path'], status=f.get('status'), message=f.get('message'),
                          location=f.get('location'), drop=f.get('drop', False), times=f.get('times'))
        elif kind == 'unfail':
            self.failures.pop((f.get('method', 'GET').upper(), f['path']), None)
        elif kind == 'task_hang':
            if not self.time_scale:
                raise LabError(409, 'task_hang needs time_scale > 0 (at 0 tasks run inside the request)')
            self.hung_types[f['type']] = True
        elif kind == 'task_release':
            self.hung_types.pop(f.get('type'), None) if f.get('type') else self.hung_types.clear()
            for event in self._hangs:
                event.set()
            self._hangs = []
        elif kind == 'task_secs':
            self.task_secs[f['type']] = float(f['seconds'])
        elif kind == 'time_scale':
            self.time_scale = float(f['value'])
        elif kind in ('shutdown_secs', 'start_secs', 'stop_secs'):
            setattr(self._need_guest(f['vmid']), kind, float(f['seconds']))
        elif kind == 'start_error':
            self._need_guest(f['vmid']).start_error = f.get('message') or None
        elif kind == 'acpi':
            self._need_guest(f['vmid']).acpi = bool(f.get('enabled', True))
        elif kind == 'agent':
            guest = self._need_guest(f['vmid'])
            guest.agent = f.get('data')
            guest.agent_hangs = bool(f.get('hangs', False))
        elif kind == 'ticket_ttl':
            self.ticket_ttl = float(f['seconds'])
        elif kind == 'revoke_tickets':
            self.revoke_tickets()
        elif kind == 'flaky_network':
            self.flaky_network(drop_rate=f.get('drop_rate', 0.0), hang_rate=f.get('hang_rate', 0.0),
                               hang_secs=f.get('hang_secs', 120), seed=f.get('seed'))
        elif kind == 'slow_network':
            self.slow_network(float(f['latency']), jitter=float(f.get('jitter', 0.0)), node=f.get('node'))
        elif kind == 'ceph_down':
            self.ceph_down()
        elif kind == 'ceph_slow':
            self.ceph_slow(float(f['seconds']), health=f.get('health', 'HEALTH_WARN'))
        elif kind == 'ceph_recover':
            self.ceph_recover()
        elif kind == 'storage_avail':
            self._store_or_404(f['storage'])['avail'] = int(f['bytes'])
        elif kind == 'storage_offline':
            self._store_or_404(f['storage'])['active'] = 0 if f.get('offline', True) else 1
        elif kind == 'backup':
            self._need_guest(f['vmid'])
            out['upid'] = await self.backup(int(f['vmid']), secs=float(f.get('seconds', 30)))
        elif kind == 'migrate':
            self._need_guest(f['vmid'])
            out['upid'] = await self.migrate(int(f['vmid']), f['target'], secs=float(f.get('seconds', 20)))
        elif kind == 'tfa':
            self.tfa = bool(f.get('enabled', True))
        else:
            raise LabError(400, f'unknown fault kind {kind!r}')
        return web.json_response(out)

    def _store_or_404(self, sid):
        if sid not in self.storages:
            raise LabError(404, f'no storage {sid}')
        return self.storages[sid]

    def add_guest(self, spec):
        """Add a guest from a fakepve guests-file entry; a qemu guest without config gets a small default one."""
        vmid = int(spec['vmid'])
        if self.guest(vmid) is not None:
            raise LabError(409, f'guest {vmid} already exists')
        node = spec.get('node', 'pve1')
        if node not in self.nodes:
            raise LabError(404, f'no node {node}')
        if spec.get('type', 'qemu') == 'lxc':
            config = spec.get('config')
            if config is None:
                config = {'rootfs': f'local-lvm:vm-{vmid}-disk-0,size=8G',
                          'net0': f'name=eth0,bridge=vmbr0,hwaddr={mac()},ip=dhcp,type=veth'}
            guest = self.add_ct(vmid, spec.get('name'), node=node, status=spec.get('status', 'stopped'),
                                config=config, template=spec.get('template', False), lock=spec.get('lock'),
                                ostemplate=spec.get('ostemplate'))
        else:
            name = spec.get('name') or f'vm{vmid}'
            config = spec.get('config')
            if config is None:
                sid = spec.get('storage', 'local-lvm')
                disk = f'vm-{vmid}-disk-0'
                size = parse_size(spec.get('disk_size', '8G')) or 8 * GIB
                self._volume(sid, disk, vmid, size)
                config = {'memory': '2048', 'cores': 2, 'sockets': 1, 'ostype': 'l26',
                          'scsihw': 'virtio-scsi-single', 'boot': 'order=scsi0', 'agent': 'enabled=1',
                          'scsi0': f'{sid}:{disk},iothread=1,size={format_size(size)}',
                          'net0': f'virtio={mac()},bridge=vmbr0',
                          'smbios1': f'uuid={uuid.uuid4()}', 'vmgenid': str(uuid.uuid4())}
            guest = self.add_vm(vmid, name, node=node, status=spec.get('status', 'stopped'),
                                qmpstatus=spec.get('qmpstatus'), config=config,
                                template=spec.get('template', False), lock=spec.get('lock'))
            guest.acpi = spec.get('acpi', True)
            if 'agent' in spec:
                guest.agent = spec['agent']
        for key in ('shutdown_secs', 'start_secs', 'stop_secs', 'start_error', 'ha_state'):
            if key in spec:
                setattr(guest, key, spec[key])
        if spec.get('pool'):
            if spec['pool'] not in self.pools:
                raise LabError(404, 'no pool {}'.format(spec['pool']))
            self._pool_join(spec['pool'], vmid)
        return guest

    async def _lab_guests(self, request):
        body = await self._body(request)
        specs = body.get('guests') if 'guests' in body else [body]
        added = [self.add_guest(spec).vmid for spec in specs]
        return web.json_response({'ok': True, 'added': added})

    def state(self):
        """The lab's state as JSON-able data, for debugging."""
        def guest(g):
            kind = 'lxc' if isinstance(g, FakeCt) else 'qemu'
            return {'vmid': g.vmid, 'type': kind, 'name': g.name, 'node': g.node, 'status': g.status,
                    'lock': g.lock, 'template': bool(g.template), 'pool': g.pool, 'config': g.config,
                    'pending': g.pending, 'snapshots': sorted(g.snapshots)}

        def store(s):
            out = {k: x for k, x in s.items() if k not in ('files', 'volumes')}
            out['volumes'] = sorted(s.get('volumes', {}))
            return out
        return {
            'nodes': self.nodes, 'quorate': self.quorate, 'time_scale': self.time_scale,
            'task_secs': self.task_secs, 'hung_types': sorted(self.hung_types),
            'guests': [guest(g) for g in sorted(list(self.vms) + list(self.cts), key=lambda g: g.vmid)],
            'storages': {sid: store(s) for sid, s in sorted(self.storages.items())},
            'pools': {name: {'members': sorted(ids), 'comment': self.pool_info.get(name, {}).get('comment'),
                             'storage': sorted(self.pool_info.get(name, {}).get('storage', ()))}
                      for name, ids in sorted(self.pools.items())},
            'ceph': self.ceph, 'ceph_pools': self.ceph_pools, 'backup_jobs': self.backup_jobs,
            'failures': [f'{m} {p}' for m, p in self.failures], 'network': self.network,
            'ticket_ttl': self.ticket_ttl, 'users': sorted(self.users), 'tokens': sorted(self.apitokens),
            'acl': {u: [[p, sorted(privs)] for p, privs in entries] for u, entries in (self.acl or {}).items()},
            'tasks': [{k: x for k, x in t.items() if k != 'log'} for t in self.tasklog[-50:]],
        }

    async def _lab_state(self, request):
        return web.json_response(self.state(), dumps=lambda data: json.dumps(data, default=_json_default))

    async def _lab_requests(self, request):
        count = int(request.query.get('last', 100))
        rows = [{'method': m, 'path': p, 'body': b.decode('utf-8', 'replace')} for m, p, b in self.requests[-count:]]
        return web.json_response(rows)


class LabError(Exception):
    def __init__(self, status, message):
        super().__init__(message)
        self.status = status


def _json_default(value):
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    return str(value)


def make_creds(password=None):
    """Fresh secrets for one lab: root password, the two tokens, the limited user's password."""
    return {'password': password or secrets.token_urlsafe(18), 'token_secret': str(uuid.uuid4()),
            'limited_secret': str(uuid.uuid4()), 'limited_password': secrets.token_urlsafe(18)}


__all__ = ['DEFAULT_TASK_SECS', 'LabError', 'LabPve', 'make_creds']

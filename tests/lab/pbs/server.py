"""A small stateful fake of the Proxmox Backup Server REST API (test-only).

Written from the PBS API viewer / schema (field names, patterns, limits) and from how
PBS answers (status codes, error texts); see README.md beside this file for sources
and gaps. Both output formats exist: ``/api2/json`` (errors are a plain-text body, as
PBS does) and ``/api2/extjs`` (HTTP 200 with ``success``/``status``/``message`` and a
per-field ``errors`` map).
"""

import asyncio
import hashlib
import hmac
import json
import os
import re
import secrets
import ssl
import sys
import threading
import time
import urllib.parse
import uuid

from aiohttp import web

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pbs_schema import (  # noqa: E402
    BOOL, DIGEST, JOBTYPE, KEY, PRIVS, REQUIRED, ROLES, SCHEMAS, TASK_LIST, TASK_LOG, UPID, USERID_RE, F, ApiError,
    next_event, param_error, parse_calendar_event, parse_params, sid, update_schema)

JSON_CT = 'application/json;charset=UTF-8'
TIB, GIB = 1 << 40, 1 << 30


class LabAnswer(Exception):
    """A lab http fault answers instead of PBS: an HTML page, a redirect or a dropped connection."""

    def __init__(self, fault):
        super().__init__(fault['kind'])
        self.fault = fault


class FakePbs:
    """Stateful fake PBS. ``await start()`` / ``await stop()``, or ``start_in_thread()`` / ``stop_in_thread()``."""

    def __init__(self, host='127.0.0.1', port=0, certfile=None, keyfile=None, time_scale=1.0, nodename='pbs',
                 control_token=None, secrets_=None):
        self.host, self.port, self.certfile, self.keyfile = host, port, certfile, keyfile
        self.time_scale, self.nodename = time_scale, nodename
        self.control_token = control_token or secrets.token_hex(16)
        given = secrets_ or {}
        self.secrets = {k: given.get(k) or str(uuid.uuid4()) for k in ('root@pam!lab', 'audit@pbs!ro')}
        self.passwords = {k: given.get(k) or secrets.token_hex(12) for k in ('root@pam', 'audit@pbs')}
        self._key = secrets.token_bytes(32)
        self._runner = self._loop = self._thread = None
        self._task_counter = 0
        self._routes = self.build_routes()
        self.reset()

    # --- state
    def reset(self):
        """Restore the seeded state (keeps credentials; ends running tasks)."""
        for task in getattr(self, 'tasks', {}).values():
            task['abort'].set()
        now = int(time.time())
        self.cfg = {
            'datastore': {'store1': {'name': 'store1', 'path': '/backup/store1', 'comment': 'lab datastore 1',
                                     'gc-schedule': 'daily'},
                          'store2': {'name': 'store2', 'path': '/backup/store2'}},
            'remote': {'pbs-remote': {'name': 'pbs-remote', 'host': '127.0.0.9', 'auth-id': 'sync@pbs',
                                      'password': 'remote-secret', 'comment': 'lab remote'}},
            'sync': {}, 'prune': {},
            'verification': {'verify-store1': {'id': 'verify-store1', 'store': 'store1', 'schedule': 'daily',
                                               'ignore-verified': True, 'outdated-after': 30}},
        }
        self.usage = {'store1': 100 * GIB, 'store2': 10 * GIB}
        self.jobstate = {('verificationjob', 'verify-store1'): {'state': 'created', 'time': now}}
        self.tokens = {k: {'secret': v} for k, v in self.secrets.items()}
        self.acl = [('/', 'root@pam!lab', 'Admin'), ('/datastore', 'audit@pbs!ro', 'DatastoreAudit'),
                    ('/datastore', 'audit@pbs', 'DatastoreAudit')]
        self.tasks, self.faults = {}, []

    def digest(self, section):
        return hashlib.sha256(json.dumps(self.cfg[section], sort_keys=True).encode()).hexdigest()

    def add_token(self, auth_id, secret=None, acl=()):
        """Add (or replace) an API token with ACL entries [(path, role)]; returns the secret."""
        secret = secret or str(uuid.uuid4())
        self.tokens[auth_id] = {'secret': secret}
        self.acl = [e for e in self.acl if e[1] != auth_id] + [(path, auth_id, role) for path, role in acl]
        return secret

    def set_fault(self, kind, message=None, worker_type=None, method=None, path=None, status=None, times=None,
                  html=False, location=None, after=False, drop=False):
        """Fault for the next task (of worker_type, if given): task_fail, task_hang; an HTTP fault on
        method+path (``http``, the next ``times`` requests or all); or clear.

        An http fault refuses the request before it acts with ``status`` and ``message`` (PBS's plain-text
        error), or, like something between the client and PBS: ``html`` sends the message as an HTML page
        (any status, 200 included: a proxy's login page), ``location`` redirects there. ``after``: PBS does
        the request, then the client gets the status (or with ``drop`` a closed connection) instead."""
        if kind == 'clear':
            self.faults = []
        elif kind == 'http':
            if not method or not path:
                raise ApiError(400, 'an http fault needs method and path')
            default = 307 if location else 503 if after else 400
            self.faults.append({'kind': 'http', 'method': method.upper(), 'path': path.rstrip('/'),
                                'status': int(status or default), 'message': message or 'fault injected by lab',
                                'times': times, 'worker_type': '(http)', 'html': bool(html), 'location': location,
                                'after': bool(after), 'drop': bool(drop)})
        elif kind in ('task_fail', 'task_hang'):
            self.faults.append({'kind': kind, 'message': message or 'fault injected by lab',
                                'worker_type': worker_type})
        else:
            raise ApiError(400, f"unknown fault kind '{kind}'")

    def _http_fault(self, method, path, after=False):
        """Answer as a lab http fault says: before the request acts (nothing done) or, ``after``, once it has."""
        fault = next((f for f in self.faults if f['kind'] == 'http' and f['method'] == method
                      and f['path'] == path and f['after'] == after), None)
        if fault is None:
            return
        if fault['times'] is not None:
            fault['times'] -= 1
            if fault['times'] <= 0:
                self.faults.remove(fault)
        if fault['html'] or fault['location'] or fault['drop']:
            raise LabAnswer(fault)
        raise ApiError(fault['status'], fault['message'])

    def state(self):
        return {'config': self.cfg, 'usage': self.usage, 'faults': self.faults,
                'jobstate': {f'{t}:{i}': s for (t, i), s in self.jobstate.items()},
                'tasks': [{k: v for k, v in t.items() if k not in ('abort', 'log')} for t in self.tasks.values()]}

    # --- privileges
    def privs(self, auth_id, path):
        if auth_id == 'root@pam':
            return set(PRIVS)
        got, target = set(), '/' + '/'.join(path)
        for acl_path, who, role in self.acl:
            if who == auth_id and (acl_path == '/' or target == acl_path or target.startswith(acl_path + '/')):
                got |= ROLES[role]
        return got

    def check_privs(self, auth_id, path, required, partial=False):
        have = self.privs(auth_id, path)
        if (have & set(required)) if partial else set(required) <= have:
            return
        names = [p for p in PRIVS if p in required]
        raise ApiError(400, "missing permissions '%s' on '/%s'" % (('|' if partial else '&').join(names),
                                                                   '/'.join(path)))

    @staticmethod
    def acl_path(job):
        return ['datastore', job['store']] + (job['ns'].split('/') if job.get('ns') else [])

    # --- tasks
    def make_upid(self, wtype, wid, auth_id, start):
        self._task_counter += 1
        esc = ''.join(c if re.match(r'[A-Za-z0-9_.]', c) and not (i == 0 and c == '.') else
                      ('-' if c == '/' else '\\x%02x' % ord(c)) for i, c in enumerate(wid or ''))
        return 'UPID:%s:%08X:%08X:%08X:%08X:%s:%s:%s:' % (self.nodename, os.getpid(), 0x1000,
                                                          self._task_counter, start, wtype, esc, auth_id)

    def start_task(self, wtype, wid, auth_id, lines, on_ok=None, error=None, job=None, duration=1.0):
        start = int(time.time())
        upid = self.make_upid(wtype, wid, auth_id, start)
        fault = next((f for f in self.faults if f['worker_type'] in (None, wtype)), None)
        if fault:
            self.faults.remove(fault)
        task = {'upid': upid, 'worker_type': wtype, 'worker_id': wid, 'user': auth_id, 'starttime': start,
                'endtime': None, 'status': None, 'job': job, 'abort': asyncio.Event(),
                'log': [time.strftime('%Y-%m-%dT%H:%M:%S%z ') + line for line in lines]}
        self.tasks[upid] = task
        if job:
            self.jobstate[job] = {'state': 'started', 'upid': upid, 'time': start}
        asyncio.get_running_loop().create_task(self._run_task(task, fault, on_ok, error, duration))
        return upid

    async def _run_task(self, task, fault, on_ok, error, duration):
        hang = fault and fault['kind'] == 'task_hang'
        try:
            await asyncio.wait_for(task['abort'].wait(), None if hang else duration * self.time_scale)
            error = 'task aborted'
        except asyncio.TimeoutError:
            if fault and fault['kind'] == 'task_fail':
                error = fault['message']
        if not error and on_ok:
            try:
                on_ok()
            except ApiError as err:
                error = err.message
        task['status'], task['endtime'] = error or 'OK', int(time.time())
        task['log'].append(f'TASK ERROR: {error}' if error else 'TASK OK')
        if task['job'] and self.jobstate.get(task['job'], {}).get('upid') == task['upid']:
            self.jobstate[task['job']] = {'state': 'finished', 'upid': task['upid'], 'status': task['status'],
                                          'endtime': task['endtime'], 'time': task['endtime']}

    def task_access(self, auth, task):
        owner = task['user']
        if owner == auth or owner.split('!')[0] == auth or 'Sys.Audit' in self.privs(auth, ['system', 'tasks']):
            return True
        store = (task['worker_id'] or '').split(':')[2 if task['worker_type'] == 'syncjob' else 0]
        return task['job'] is not None and 'Datastore.Audit' in self.privs(auth, ['datastore', store])

    def job_lock(self, jobtype, jid):
        if self.jobstate.get((jobtype, jid), {}).get('state') == 'started':
            raise ApiError(400, f'Unable to acquire lock "/var/lib/proxmox-backup/jobstates/{jobtype}-{jid}.lck"'
                                ' - EINTR: Interrupted system call')

    def schedule_status(self, jobtype, job):
        st = self.jobstate.get((jobtype, job['id']), {'state': 'created', 'time': int(time.time())})
        out = {k: v for k, v in (('last-run-upid', st.get('upid')), ('last-run-endtime', st.get('endtime')),
                                 ('last-run-state', st.get('status'))) if v is not None}
        if job.get('schedule'):
            try:
                nxt = next_event(parse_calendar_event(job['schedule']), st['time'])
                if nxt is not None:
                    out['next-run'] = nxt
            except ValueError:
                pass
        return out

    # --- auth
    def _sign(self, text):
        return hmac.new(self._key, text.encode(), hashlib.sha256).hexdigest()

    def authenticate(self, request):
        """Return the auth id, or raise ApiError 401 (after PBS's delay, scaled)."""
        cookie = request.cookies.get('__Host-PBSAuthCookie') or request.cookies.get('PBSAuthCookie')
        if cookie:
            cookie = urllib.parse.unquote(cookie)
            parts = cookie.split(':')
            if (len(parts) == 5 and parts[0] == 'PBS'
                    and hmac.compare_digest(self._sign(':'.join(parts[:4])), parts[4])
                    and time.time() - int(parts[2], 16) < 7200):
                if request.method == 'GET':
                    return parts[1]
                csrf = request.headers.get('CSRFPreventionToken', '')
                stamp, _sep, sig = csrf.partition(':')
                if sig and hmac.compare_digest(self._sign(f'{stamp}:{parts[1]}'), sig):
                    return parts[1]
            return None
        value = request.headers.get('Authorization', '')
        if value.startswith('PBSAPIToken') and value[11:12] in (' ', '='):
            token_id, _sep, secret = value[12:].partition(':')
            known = self.tokens.get(token_id)
            if known and secret and hmac.compare_digest(known['secret'], secret):
                return token_id
        return None

    # --- HTTP plumbing
    def app(self):
        app = web.Application()
        app.router.add_route('*', '/_lab/{what}', self.h_lab)
        app.router.add_route('*', '/api2/{fmt}/{path:.*}', self.h_api)
        return app

    async def h_lab(self, request):
        if not hmac.compare_digest(request.headers.get('X-Lab-Control', ''), self.control_token):
            return web.json_response({'error': 'bad or missing X-Lab-Control'}, status=403)
        what = request.match_info['what']
        body = await request.json() if request.can_read_body else {}
        try:
            if what == 'reset' and request.method == 'POST':
                self.reset()
            elif what == 'fault' and request.method == 'POST':
                self.set_fault(body.get('kind'), body.get('message'), body.get('worker_type'), body.get('method'),
                               body.get('path'), body.get('status'), body.get('times'), html=body.get('html', False),
                               location=body.get('location'), after=body.get('after', False),
                               drop=body.get('drop', False))
            elif what == 'token' and request.method == 'POST':
                return web.json_response({'secret': self.add_token(body['auth_id'], body.get('secret'),
                                                                   body.get('acl', []))})
            elif what != 'state' or request.method != 'GET':
                return web.json_response({'error': 'unknown control call'}, status=404)
        except ApiError as err:
            return web.json_response({'error': err.message}, status=err.status)
        return web.json_response(self.state())

    async def h_api(self, request):
        fmt, path = request.match_info['fmt'], '/' + request.match_info['path'].rstrip('/')
        if fmt not in ('json', 'extjs'):
            return web.Response(status=400, text=f"Unsupported output format '{fmt}'.", content_type='text/plain')
        try:
            data, attrs = await self.dispatch(request, path)
        except LabAnswer as answer:
            fault = answer.fault
            if fault['drop']:
                request.transport.close()
                raise ConnectionResetError('fake PBS: connection dropped (lab fault)')
            if fault['location']:
                return web.Response(status=fault['status'], headers={'Location': fault['location']}, text='Moved',
                                    content_type='text/plain')
            return web.Response(status=fault['status'], text=fault['message'], content_type='text/html')
        except ApiError as err:
            if fmt == 'extjs':
                return web.json_response({'message': err.message, 'errors': err.errors, 'success': False,
                                          'status': err.status}, content_type='application/json')
            return web.Response(status=err.status, text=err.message, headers={'Content-Type': JSON_CT})
        body = {'data': data, **attrs}
        if fmt == 'extjs':
            body.update(success=True, status=200)
        return web.Response(text=json.dumps(body), headers={'Content-Type': JSON_CT})

    async def dispatch(self, request, path):
        route = None
        for method, pattern, handler, schema, required, perm in self._routes:
            m = re.fullmatch(pattern, path)
            if m and method == request.method:
                route = (handler, schema, required, perm, m.groupdict())
                break
        if path == '/access/ticket' and request.method == 'POST':
            auth = None
        else:
            auth = self.authenticate(request)
            if auth is None:
                await asyncio.sleep(min(3.0, 3.0 * self.time_scale))
                raise ApiError(401, 'authentication failed')
        self._http_fault(request.method, path)
        if route is None:
            raise ApiError(404, f"Path '{request.path}' not found.")
        handler, schema, required, perm, uri = route
        if perm:
            ppath, priv = perm
            parts = [uri[c[1:-1]] if c.startswith('{') else c for c in ppath.split('/')[1:]]
            if priv not in self.privs(auth, parts):
                await asyncio.sleep(min(0.5, 0.5 * self.time_scale))
                raise ApiError(403, 'permission check failed')
        triples = [(k, v, False) for k, v in request.query.items() if k != '_dc']
        if request.method != 'GET' and request.can_read_body:
            raw = await request.read()
            if request.content_type == 'application/json':
                try:
                    body = json.loads(raw or b'{}')
                except ValueError as err:
                    raise ApiError(400, f'unable to parse json body - {err}')
                if not isinstance(body, dict):
                    raise ApiError(400, 'Expected object - got scalar value.')
                triples += [(k, v, True) for k, v in body.items()]
            else:
                triples += [(k, v, False) for k, v in (await request.post()).items()]
        triples += [(k, v, False) for k, v in uri.items()]
        result = handler(auth, parse_params(schema, triples, required))
        self._http_fault(request.method, path, after=True)
        return result if isinstance(result, tuple) else (result, {})

    def build_routes(self):
        seg = r'(?P<%s>[^/]+)'
        r = []

        def add(method, path, handler, schema=None, required=(), perm=None):
            pattern = re.sub(r'\{(\w+)\}', lambda m: seg % m[1], path)
            r.append((method, pattern, handler, dict(schema or {}),
                      set(required) | set(re.findall(r'\{(\w+)\}', path)), perm))

        node = {'node': F(enum=('localhost', self.nodename))}
        store = {'store': sid()}
        add('GET', '/version', lambda a, p: {'version': '4.0', 'release': '14', 'repoid': 'fakepbs'})
        add('POST', '/access/ticket', self.h_ticket, {'username': F(pat=USERID_RE), 'password': F(), 'path': F(),
            'privs': F(), 'port': F('int'), 'tfa-challenge': F(), 'http-only': BOOL}, ['username'])
        for section, base in (('datastore', '/config/datastore'), ('remote', '/config/remote'),
                              ('sync', '/config/sync'), ('verification', '/config/verify'),
                              ('prune', '/config/prune')):
            key = KEY[section]
            item = f'{base}/{{{key}}}'
            up = dict(update_schema(section), **{key: SCHEMAS[section][key]})
            delete = {key: SCHEMAS[section][key], 'digest': DIGEST}
            if section == 'datastore':
                delete.update({'keep-job-configs': BOOL, 'destroy-data': BOOL})
            privs = {'datastore': ('Allocate', 'Audit', 'Modify', 'Allocate'),
                     'remote': ('Modify', 'Audit', 'Modify', 'Modify')}.get(section)  # router-level: 403
            perms = [(f'/{section}' + ('/{name}' if i else ''), f'{section.title()}.{x}')
                     for i, x in enumerate(privs)] if privs else [None] * 4
            add('GET', base, self.mk(self.list_cfg, section), {'sync-direction': F()} if section == 'sync' else {})
            add('POST', base, self.mk(self.create_cfg, section), SCHEMAS[section], REQUIRED[section], perms[0])
            add('GET', item, self.mk(self.read_cfg, section), {key: SCHEMAS[section][key]}, perm=perms[1])
            add('PUT', item, self.mk(self.update_cfg, section), up, perm=perms[2])
            add('DELETE', item, self.mk(self.delete_cfg, section), delete, perm=perms[3])
        for section, name in (('sync', 'sync'), ('verification', 'verify'), ('prune', 'prune')):
            add('GET', f'/admin/{name}', self.mk(self.list_jobs, section),
                dict(store, **({'sync-direction': F()} if section == 'sync' else {})))
            add('POST', f'/admin/{name}/{{id}}/run', self.mk(self.run_job, section), {'id': sid()})
        add('GET', '/admin/datastore', self.admin_datastores)
        add('GET', '/admin/datastore/{store}/status', self.ds_status, dict(store, verbose=BOOL))
        add('POST', '/admin/datastore/{store}/gc', self.start_gc, store,
            perm=('/datastore/{store}', 'Datastore.Modify'))
        add('GET', '/admin/datastore/{store}/gc', self.gc_status, store,
            perm=('/datastore/{store}', 'Datastore.Audit'))
        add('GET', '/status/datastore-usage', self.ds_usage)
        add('GET', '/nodes/{node}/tasks', self.list_tasks, dict(node, **TASK_LIST))
        upid = dict(node, upid=UPID)
        add('GET', '/nodes/{node}/tasks/{upid}/status', self.task_status, upid)
        add('GET', '/nodes/{node}/tasks/{upid}/log', self.task_log, dict(upid, **TASK_LOG))
        add('DELETE', '/nodes/{node}/tasks/{upid}', self.task_stop, upid)
        return r

    @staticmethod
    def mk(fn, section):
        return lambda auth, params: fn(section, auth, params)

    # --- handlers: access
    def h_ticket(self, _auth, p):
        user, password = p['username'], p.get('password', '')
        if user not in self.passwords or not hmac.compare_digest(self.passwords[user], password):
            raise ApiError(401, 'permission check failed.')
        head = 'PBS:%s:%08X:' % (user, int(time.time()))
        stamp = '%08X' % int(time.time())
        return {'username': user, 'ticket': f'{head}:{self._sign(head)}',
                'CSRFPreventionToken': f'{stamp}:{self._sign(f"{stamp}:{user}")}'}

    # --- handlers: section configs
    def lookup(self, section, key):
        if key not in self.cfg[section]:
            raise ApiError(400, f"no such {section} '{key}'")
        return self.cfg[section][key]

    def can_read(self, section, auth, obj):
        if section == 'datastore':
            return 'Datastore.Audit' in self.privs(auth, ['datastore', obj['name']])
        if section == 'remote':
            return 'Remote.Audit' in self.privs(auth, ['remote', obj['name']])
        have = self.privs(auth, self.acl_path(obj))
        if section == 'verification':
            return bool(have & {'Datastore.Audit', 'Datastore.Verify'})
        if section == 'prune':
            return bool(have & {'Datastore.Audit', 'Datastore.Modify'})
        if 'Datastore.Audit' not in have:
            return False
        if obj.get('remote'):
            return 'Remote.Audit' in self.privs(auth, ['remote', obj['remote']])
        return 'Datastore.Audit' in self.privs(auth, ['datastore', obj['remote-store']])

    def check_job(self, section, auth, job, read=False):
        """PBS's in-handler job checks: a 400, not a 403."""
        if section == 'verification':
            return self.check_privs(auth, self.acl_path(job), {'Datastore.Audit', 'Datastore.Verify'} if read
                                    else {'Datastore.Verify'}, partial=True)
        if section == 'prune':
            return self.check_privs(auth, self.acl_path(job), {'Datastore.Audit' if read else 'Datastore.Modify'},
                                    partial=True)
        ok = self.can_read(section, auth, job) if read else self.sync_modify_ok(auth, job)
        if not ok:
            raise ApiError(400, 'permission check failed')

    def sync_modify_ok(self, auth, job):
        have = self.privs(auth, self.acl_path(job))
        if 'Datastore.Backup' not in have or (job.get('remove-vanished') and 'Datastore.Prune' not in have):
            return False
        owner = job.get('owner')
        correct = (owner == auth or ('!' in owner and '!' not in auth and owner.split('!')[0] == auth)) if owner \
            else auth == 'root@pam'
        if not correct and 'Datastore.Modify' not in have:
            return False
        return not job.get('remote') or 'Remote.Read' in self.privs(auth, ['remote', job['remote'],
                                                                           job['remote-store']])

    @staticmethod
    def check_depth(job):
        depth = job.get('max-depth')
        for ns in (job.get('ns'), job.get('remote-ns')):
            if depth is not None and ns and len(ns.split('/')) + depth > 7:
                raise ApiError(400, f"namespace '{ns}'s depth and recursion depth exceed limit: "
                                    f"{len(ns.split('/'))} + {depth} > 7")

    def list_cfg(self, section, auth, p):
        items = [dict((k, v) for k, v in o.items() if k != 'password') for o in self.cfg[section].values()
                 if self.can_read(section, auth, o)]
        if p.get('sync-direction') in ('pull', 'push'):
            items = [o for o in items if o.get('sync-direction', 'pull') == p['sync-direction']]
        return items, {'digest': self.digest(section)}

    def read_cfg(self, section, auth, p):
        obj = self.lookup(section, p[KEY[section]])
        if section in JOBTYPE:
            self.check_job(section, auth, obj, read=True)
        return {k: v for k, v in obj.items() if k != 'password'}, {'digest': self.digest(section)}

    def create_cfg(self, section, auth, p):
        key = p[KEY[section]]
        if section in JOBTYPE:
            self.check_job(section, auth, p)
        if section == 'sync':
            if not p.get('remote') and p['store'] == p['remote-store']:
                raise ApiError(400, "source and target datastore can't be the same")
            self.check_depth(p)
        if key in self.cfg[section]:
            what = f"job '{key}'" if section in JOBTYPE else f"{section} '{key}'"
            raise param_error({KEY[section]: f'{what} already exists.'})
        if section != 'datastore':
            self.cfg[section][key] = p
            if section in JOBTYPE:
                self.jobstate[(JOBTYPE[section], key)] = {'state': 'created', 'time': int(time.time())}
            return None
        if p['path'].rstrip('/') == '':
            raise ApiError(400, 'cannot create datastore in root path')
        prune = {k: p.pop(k) for k in list(p) if k.startswith('keep-') or k == 'prune-schedule'}

        def created():
            self.cfg['datastore'][key] = p
            self.usage.setdefault(key, 0)
            if prune.get('prune-schedule'):
                pid = f'default-{key}-{uuid.uuid4()}'[:32]
                self.cfg['prune'][pid] = dict({k: v for k, v in prune.items() if k.startswith('keep-')},
                                              id=pid, store=key, schedule=prune['prune-schedule'])
                self.jobstate[('prunejob', pid)] = {'state': 'created', 'time': int(time.time())}
        return self.start_task('create-datastore', key, auth, [f"creating datastore '{key}' on '{p['path']}'"],
                               on_ok=created)

    def update_cfg(self, section, auth, p):
        key = p.pop(KEY[section])
        if 'digest' in p and p.pop('digest') != self.digest(section):
            raise ApiError(400, 'detected modified configuration - file changed by other user? Try again.')
        old = self.lookup(section, key)
        if section in JOBTYPE and section != 'sync':
            self.check_job(section, auth, old)
        drop = p.pop('delete', [])
        new = {k: v for k, v in old.items() if k not in drop}
        new.update(p)
        if section == 'sync':
            self.check_depth(new)
            self.check_job(section, auth, new)
        self.cfg[section][key] = new
        if section in JOBTYPE and old.get('schedule') != new.get('schedule'):
            self.jobstate.setdefault((JOBTYPE[section], key), {'state': 'created'})['time'] = int(time.time())

    def delete_cfg(self, section, auth, p):
        key = p[KEY[section]]
        if section in ('verification', 'prune'):
            self.check_job(section, auth, self.lookup(section, key))
        if 'digest' in p and p['digest'] != self.digest(section):
            raise ApiError(400, 'detected modified configuration - file changed by other user? Try again.')
        if key not in self.cfg[section]:
            raise ApiError(404, f"job '{key}' does not exist." if section in JOBTYPE else
                           f"{section} '{key}' does not exist.")
        if section == 'sync':
            self.check_job(section, auth, self.cfg[section][key])
        if section == 'remote':
            for job in self.cfg['sync'].values():
                if job.get('remote') == key:
                    raise param_error({'name': f"remote '{key}' is used by sync job '{job['id']}' "
                                               f"(datastore '{job['store']}')"})
        if section != 'datastore':
            del self.cfg[section][key]
            self.jobstate.pop((JOBTYPE.get(section), key), None)
            return None
        if not p.get('keep-job-configs'):
            for sec in JOBTYPE:
                for jid in [j for j, job in self.cfg[sec].items() if job['store'] == key]:
                    del self.cfg[sec][jid]
            self.acl = [e for e in self.acl if not (e[0] + '/').startswith(f'/datastore/{key}/')]

        def removed():
            self.cfg['datastore'].pop(key, None)
            self.usage.pop(key, None)
        return self.start_task('delete-datastore', key, auth, [f"removing datastore '{key}'"], on_ok=removed)

    # --- handlers: jobs
    def list_jobs(self, section, auth, p):
        jobs = [j for j in self.cfg[section].values() if self.can_read(section, auth, j)
                and (not p.get('store') or j['store'] == p['store'])]
        if p.get('sync-direction') in ('pull', 'push'):
            jobs = [j for j in jobs if j.get('sync-direction', 'pull') == p['sync-direction']]
        return [dict(j, **self.schedule_status(JOBTYPE[section], j)) for j in jobs], \
            {'digest': self.digest(section)}

    def run_job(self, section, auth, p):
        jid, jobtype = p['id'], JOBTYPE[section]
        job = self.lookup(section, jid)
        self.check_job(section, auth, job)
        self.job_lock(jobtype, jid)
        error = None
        if section == 'sync':
            if not job.get('remote') and job['store'] == job['remote-store']:
                raise ApiError(400, "can't sync to same datastore")
            wid = f"{job.get('remote', '-')}:{job['remote-store']}:{job['store']}:{job.get('ns', '')}:{jid}"
            source = f"{job['remote']}/{job['remote-store']}" if job.get('remote') else job['remote-store']
            lines = [f"Starting datastore sync job '{wid}'", f"sync datastore '{job['store']}' from '{source}'",
                     'Summary: sync job found no new data to pull', f"sync job '{wid}' end"]
            if job['store'] not in self.cfg['datastore']:
                error = f"no such datastore '{job['store']}'"
            elif job.get('remote') and job['remote'] not in self.cfg['remote']:
                error = f"no such remote '{job['remote']}'"
        else:
            self.lookup('datastore', job['store'])
            if section == 'verification':
                wid = f"{job['store']}:{jid}"
                lines = [f"Starting datastore verify job '{wid}'", f"verify datastore {job['store']}",
                         'verified 0/0 snapshots']
            else:
                wid = f"{job['store']}:{job['ns']}" if job.get('ns') else job['store']
                lines = [f"prune job '{jid}'", f"Starting prune on datastore '{job['store']}'"]
        return self.start_task(jobtype, wid, auth, lines, error=error, job=(jobtype, jid))

    # --- handlers: datastore admin
    def admin_datastores(self, auth, _p):
        return [dict({'store': n, 'mount-status': 'nonremovable', 'backend-type': 'filesystem'},
                     **{k: v for k, v in d.items() if k == 'comment'},
                     **({'maintenance': d['maintenance-mode']} if 'maintenance-mode' in d else {}))
                for n, d in self.cfg['datastore'].items()
                if self.privs(auth, ['datastore', n]) & {'Datastore.Audit', 'Datastore.Backup'}]

    def ds_status(self, auth, p):
        have = self.privs(auth, ['datastore', p['store']])
        if not have & {'Datastore.Audit', 'Datastore.Backup', 'Datastore.Read'}:
            raise ApiError(403, 'permission check failed')
        self.lookup('datastore', p['store'])
        out = {'backend-type': 'filesystem'}
        if have & {'Datastore.Audit', 'Datastore.Backup'}:
            used = self.usage.get(p['store'], 0)
            out.update(total=TIB, used=used, avail=TIB - used)
        if p.get('verbose'):
            out['counts'] = {}
            if 'total' in out:
                out['gc-status'] = self.gc_status(auth, p)
        return out

    def ds_usage(self, auth, _p):
        return [{'store': n, 'total': TIB, 'used': self.usage.get(n, 0), 'avail': TIB - self.usage.get(n, 0),
                 'mount-status': 'nonremovable', 'backend-type': 'filesystem'}
                for n in self.cfg['datastore']
                if self.privs(auth, ['datastore', n]) & {'Datastore.Audit', 'Datastore.Backup'}]

    def start_gc(self, auth, p):
        self.lookup('datastore', p['store'])
        if self.jobstate.get(('garbage_collection', p['store']), {}).get('state') == 'started':
            raise ApiError(400, 'garbage collection already running')
        return self.start_task('garbage_collection', p['store'], auth,
                               [f"starting garbage collection on store {p['store']}",
                                'Start GC phase1 (mark used chunks)', 'Start GC phase2 (sweep unused chunks)'],
                               job=('garbage_collection', p['store']))

    def gc_status(self, _auth, p):
        self.lookup('datastore', p['store'])
        st = self.jobstate.get(('garbage_collection', p['store']), {})
        out = {k: 0 for k in ('index-file-count', 'index-data-bytes', 'disk-bytes', 'disk-chunks',
                              'removed-bytes', 'removed-chunks', 'pending-bytes', 'pending-chunks',
                              'removed-bad', 'still-bad')}
        return dict(out, **({'upid': st['upid']} if st.get('upid') else {}))

    # --- handlers: tasks
    def get_task(self, auth, p):
        task = self.tasks.get(p['upid'])
        if task is None:
            raise ApiError(400, f"unable to open task log \"{p['upid']}\" - No such file or directory (os error 2)")
        if not self.task_access(auth, task):
            raise ApiError(400, 'task access not allowed')
        return task

    def list_tasks(self, auth, p):
        items = sorted(self.tasks.values(), key=lambda t: (t['status'] is not None, -t['starttime']))
        out = []
        for t in items:
            status = t['status']
            kind = None if status is None else 'ok' if status == 'OK' else 'error'
            if ((p.get('running') and status is not None) or (p.get('errors') and status == 'OK')
                    or ('statusfilter' in p and kind not in p['statusfilter'])
                    or (p.get('since') and t['starttime'] < p['since'])
                    or (p.get('until') and t['starttime'] > p['until'])
                    or (p.get('userfilter') and p['userfilter'] not in t['user'])
                    or (p.get('typefilter') and p['typefilter'] not in t['worker_type'])
                    or (p.get('store') and p['store'] not in (t['worker_id'] or '').split(':'))
                    or not self.task_access(auth, t)):
                continue
            out.append({k: v for k, v in (('upid', t['upid']), ('node', 'localhost'), ('pid', os.getpid()),
                                          ('pstart', 0x1000), ('starttime', t['starttime']),
                                          ('worker_type', t['worker_type']), ('worker_id', t['worker_id']),
                                          ('user', t['user']), ('endtime', t['endtime']), ('status', status))
                        if v is not None})
        start, limit = p.get('start', 0), p.get('limit', 50) or len(out)
        page = out[start:start + limit]
        return page, {'total': start + len(page) + (1 if page and len(page) >= limit else 0)}

    def task_status(self, auth, p):
        t = self.get_task(auth, p)
        user, _sep, token = t['user'].partition('!')
        out = {'upid': t['upid'], 'node': self.nodename, 'pid': os.getpid(), 'pstart': 0x1000,
               'starttime': t['starttime'], 'type': t['worker_type'], 'id': t['worker_id'], 'user': user,
               'status': 'running' if t['status'] is None else 'stopped'}
        if token:
            out['tokenid'] = token
        if t['status'] is not None:
            out['exitstatus'] = t['status']
        return out

    def task_log(self, auth, p):
        t = self.get_task(auth, p)
        start, limit = p.get('start', 0), p.get('limit', 50) or len(t['log'])
        lines = [{'n': i + 1, 't': line} for i, line in enumerate(t['log'])][start:start + limit]
        attrs = {'total': len(t['log']), 'success': 1}
        if p.get('test-status'):
            attrs['active'] = t['status'] is None
        return lines, attrs

    def task_stop(self, auth, p):
        t = self.get_task(auth, p)
        t['abort'].set()

    # --- lifecycle
    def ssl_context(self):
        if not self.certfile:
            return None
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(self.certfile, self.keyfile)
        return ctx

    async def start(self):
        self._runner = web.AppRunner(self.app(), access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port, ssl_context=self.ssl_context())
        await site.start()
        self.port = self._runner.addresses[0][1]
        return self

    async def stop(self):
        for task in self.tasks.values():
            task['abort'].set()
        if self._runner:
            await self._runner.cleanup()

    @property
    def url(self):
        return f"{'https' if self.certfile else 'http'}://{self.host}:{self.port}"

    def start_in_thread(self):
        """Run in a daemon thread with its own event loop; returns once listening."""
        ready, errors = threading.Event(), []

        def main():
            self._loop = asyncio.new_event_loop()
            try:
                self._loop.run_until_complete(self.start())
            except Exception as err:  # pragma: no cover - reported to the caller
                errors.append(err)
            ready.set()
            if not errors:
                self._loop.run_forever()
        self._thread = threading.Thread(target=main, name='fakepbs', daemon=True)
        self._thread.start()
        ready.wait(30)
        if errors:
            raise errors[0]
        return self

    def stop_in_thread(self):
        asyncio.run_coroutine_threadsafe(self.stop(), self._loop).result(30)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(30)

"""Parameter validation for the fake PBS: PBS's patterns, limits, calendar events, error texts.

Field names, patterns and limits follow the PBS API schema (api viewer / pbs-api-types);
error texts follow proxmox-schema and proxmox-time. See README.md for sources.
"""

import datetime
import ipaddress
import re

SAFE = r'[A-Za-z0-9_][A-Za-z0-9._\-]*'
SAFE_RE = rf'^(?:{SAFE})$'
NS_RE = rf'^(?:(?:(?:{SAFE})/){{0,7}}(?:{SAFE}))?$'
_USER = r'(?:[^\s:/\x00-\x1f\x7f]+)@(?:' + SAFE + ')'
AUTHID_RE = rf'^(?:{_USER}|{_USER}!(?:{SAFE}))$'
USERID_RE = rf'^{_USER}$'
UPID_RE = (r'^UPID:[a-zA-Z0-9]([a-zA-Z0-9\-]*[a-zA-Z0-9])?:[0-9A-Fa-f]{8}:[0-9A-Fa-f]{8,9}:'
           r'[0-9A-Fa-f]{8,16}:[0-9A-Fa-f]{8}:[^:\s]+:[^:\s]*:[^:\s]+:$')
DNS_RE = r'^(?:(?:[a-zA-Z0-9](?:[a-zA-Z0-9\-]*[a-zA-Z0-9])?)\.)*(?:[a-zA-Z0-9](?:[a-zA-Z0-9\-]*[a-zA-Z0-9])?)$'

# privileges and roles, as in pbs-api-types acl.rs
PRIVS = ['Sys.Audit', 'Sys.Modify', 'Sys.PowerManagement', 'Datastore.Audit', 'Datastore.Allocate',
         'Datastore.Modify', 'Datastore.Read', 'Datastore.Verify', 'Datastore.Backup', 'Datastore.Prune',
         'Permissions.Modify', 'Remote.Audit', 'Remote.Modify', 'Remote.Read', 'Sys.Console']
_DS_ALL = {'Datastore.Audit', 'Datastore.Modify', 'Datastore.Read', 'Datastore.Verify', 'Datastore.Backup',
           'Datastore.Prune'}
ROLES = {'Admin': set(PRIVS), 'NoAccess': set(), 'Audit': {'Sys.Audit', 'Datastore.Audit'},
         'DatastoreAdmin': _DS_ALL, 'DatastoreAudit': {'Datastore.Audit'},
         'DatastoreReader': {'Datastore.Audit', 'Datastore.Verify', 'Datastore.Read'},
         'DatastoreBackup': {'Datastore.Backup'}, 'DatastorePowerUser': {'Datastore.Backup', 'Datastore.Prune'},
         'RemoteAudit': {'Remote.Audit'}, 'RemoteAdmin': {'Remote.Audit', 'Remote.Modify', 'Remote.Read'},
         'RemoteSyncOperator': {'Remote.Audit', 'Remote.Read'}}


class ApiError(Exception):
    """An error answer: status, message, and (parameter errors) a field -> text map."""

    def __init__(self, status, message, errors=None):
        super().__init__(message)
        self.status, self.message, self.errors = status, message, errors or {}


def param_error(errors):
    """PBS ParameterError: HTTP 400, 'parameter verification failed - 'x': ...'."""
    items = list(errors.items())
    if len(items) == 1:
        msg = "parameter verification failed - '%s': %s" % items[0]
    else:
        msg = 'parameter verification failed:\n' + '\n'.join("- '%s': %s" % kv for kv in items)
    return ApiError(400, msg, dict(errors))


# ---------------------------------------------------------------- calendar events (systemd.time subset)

_WEEKDAYS = {n: i for i, names in enumerate([('mon', 'monday'), ('tue', 'tuesday'), ('wed', 'wednesday'),
                                             ('thu', 'thursday'), ('fri', 'friday'), ('sat', 'saturday'),
                                             ('sun', 'sunday')]) for n in names}
_KEYWORDS = {'minutely': '*-*-* *:*:00', 'hourly': '*-*-* *:00:00', 'daily': '*-*-* 00:00:00',
             'weekly': 'mon *-*-* 00:00:00', 'monthly': '*-*-01 00:00:00', 'yearly': '*-01-01 00:00:00',
             'annually': '*-01-01 00:00:00', 'quarterly': '*-01,04,07,10-01 00:00:00',
             'semiannually': '*-01,07-01 00:00:00', 'semi-annually': '*-01,07-01 00:00:00'}
_COMP = r'\d+(?:\.\.\d+)?(?:/\d+)?'
_LIST = rf'(?:\*(?:/\d+)?|{_COMP}(?:,{_COMP})*)'


def _comp_list(text, start, limit, where):
    """'*', '*/N', or 'a', 'a..b', 'a/n', 'a..b/n' comma lists -> [(lo, hi, step)] ([] = any)."""
    if text.startswith('*'):
        step = int(text[2:]) if text.startswith('*/') else 0
        return [(start, None, step)] if step > 0 else []
    out = []
    for item in text.split(','):
        m = re.fullmatch(r'(\d+)(?:\.\.(\d+))?(?:/(\d+))?', item)
        lo, hi, step = int(m[1]), m[2] and int(m[2]), m[3] and int(m[3])
        for v in (lo, hi, step):
            if v is not None and v >= limit:
                raise ValueError(f"unable to parse calendar event at '{where}' - time value too large")
        if hi is not None and lo > hi:
            raise ValueError(f"unable to parse calendar event at '{where}' - range start is bigger than end")
        out.append((lo, hi if hi is not None else (None if step else lo), step or 0))
    return out


def parse_calendar_event(text):
    """Parse a PBS calendar event; raise ValueError with a PBS-like message when invalid."""
    s, utc = text, False
    if s.endswith('UTC'):
        s, utc = s[:-3].rstrip(' '), True
    s = _KEYWORDS.get(s, s)
    ev = {'utc': utc, 'days': set(), 'year': [], 'month': [], 'day': [],
          'hour': [(0, 0, 0)], 'minute': [(0, 0, 0)], 'second': [(0, 0, 0)]}
    found, rest = False, s

    def fail(where, what):
        raise ValueError(f"unable to parse calendar event at '{where}' - {what}")
    if rest[:1].isalpha():
        m = re.match(r'[A-Za-z]+(?:\.\.[A-Za-z]+)?(?:,[A-Za-z]+(?:\.\.[A-Za-z]+)?)*', rest)
        for part in m[0].split(','):
            names = part.split('..')
            if any(n.lower() not in _WEEKDAYS for n in names):
                fail(rest, 'Context("weekday range list")')
            lo, hi = _WEEKDAYS[names[0].lower()], _WEEKDAYS[names[-1].lower()]
            ev['days'].update(range(lo, hi + 1) if lo <= hi else list(range(lo, 7)) + list(range(0, hi + 1)))
        rest, found = rest[m.end():].lstrip(' '), True
    m = re.match(rf'(?:({_LIST})-)?({_LIST})-({_LIST})(?![\d,.:])', rest)
    if m:
        ev['year'] = _comp_list(m[1], 0, 2200, rest) if m[1] else []
        ev['month'], ev['day'] = _comp_list(m[2], 1, 13, rest), _comp_list(m[3], 1, 32, rest)
        rest, found = rest[m.end():].lstrip(' '), True
    m = re.match(rf'(?:({_LIST}):)?({_LIST})(?::({_LIST}))?', rest) if rest else None
    if m:
        ev['hour'] = _comp_list(m[1], 0, 24, rest) if m[1] else []
        ev['minute'] = _comp_list(m[2], 0, 60, rest)
        ev['second'] = _comp_list(m[3], 0, 60, rest) if m[3] else [(0, 0, 0)]
        rest, found = rest[m.end():], True
    if not found:
        fail(rest, 'Context("date or time specification")')
    if rest:
        fail(rest, 'Nom(Eof)')
    return ev


def _match(comps, v):
    return not comps or any(v == lo if hi == lo and not st else
                            (v >= lo and (hi is None or v <= hi) and (not st or (v - lo) % st == 0))
                            for lo, hi, st in comps)


def next_event(ev, last):
    """First epoch second strictly after ``last`` matching the event (None within 8 years)."""
    tz = datetime.timezone.utc if ev['utc'] else None
    t = datetime.datetime.fromtimestamp(int(last) + 1, tz)
    day = t.date()
    for _day_offset in range(366 * 8):
        if ((not ev['days'] or day.weekday() in ev['days']) and _match(ev['year'], day.year)
                and _match(ev['month'], day.month) and _match(ev['day'], day.day)):
            first = day == t.date()
            for h in range(t.hour if first else 0, 24):
                if not _match(ev['hour'], h):
                    continue
                for mi in range(t.minute if first and h == t.hour else 0, 60):
                    if not _match(ev['minute'], mi):
                        continue
                    for sec in range(t.second if first and h == t.hour and mi == t.minute else 0, 60):
                        if _match(ev['second'], sec):
                            return int(datetime.datetime(day.year, day.month, day.day, h, mi, sec,
                                                         tzinfo=tz).timestamp())
        day += datetime.timedelta(days=1)
    return None


# ---------------------------------------------------------------- parameter schema

def _check_host(v):
    try:
        ipaddress.ip_address(v.strip('[]'))
    except ValueError:
        if not re.match(DNS_RE, v):
            raise ValueError('value does not match the regex pattern')


def _check_bytes(v):
    if not re.fullmatch(r'\s*\d+(?:\.\d+)?\s*(?:[KMGTPE]i?B?|B)?\s*', v):
        raise ValueError(f"unable to parse size '{v}'")


def _check_group_filter(v):
    kind, sep, value = v.partition(':')
    if kind in ('include', 'exclude'):
        kind, sep, value = value.partition(':')
    if not sep and kind == v:
        raise ValueError("input doesn't match expected format '<group:GROUP||type:<vm|ct|host>|regex:REGEX>'")
    if kind == 'type' and value not in ('vm', 'ct', 'host'):
        raise ValueError(f"value '{value}' is not defined in the enumeration.")
    if kind == 'group' and not re.fullmatch(rf'(?:host|vm|ct)/{SAFE}', value):
        raise ValueError('value does not match the regex pattern')
    if kind == 'regex':
        try:
            re.compile(value)
        except re.error as err:
            raise ValueError(f'regex parse error: {err}')
    if kind not in ('type', 'group', 'regex'):
        raise ValueError(f"expected 'group', 'type' or 'regex' prefix, got '{kind}'")


def _check_cal(v):
    parse_calendar_event(v)


class F:
    """One parameter: kind str|int|bool|list, with PBS-style constraints."""

    def __init__(self, kind='str', pat=None, minlen=None, maxlen=None, lo=None, hi=None, enum=None, fn=None,
                 items=None):
        self.kind, self.pat, self.minlen, self.maxlen = kind, pat, minlen, maxlen
        self.lo, self.hi, self.enum, self.fn, self.items = lo, hi, enum, fn, items

    def parse(self, v, typed):
        if self.kind == 'bool':
            if typed:
                if not isinstance(v, bool):
                    raise ValueError('Expected boolean value.')
                return v
            low = str(v).lower()
            if low in ('1', 'on', 'yes', 'true'):
                return True
            if low in ('0', 'off', 'no', 'false'):
                return False
            raise ValueError('Unable to parse boolean option.')
        if self.kind == 'int':
            if typed and (not isinstance(v, int) or isinstance(v, bool)):
                raise ValueError('Expected integer value.')
            if not typed and not re.fullmatch(r'[+-]?\d+', v):
                raise ValueError('invalid digit found in string')
            v = int(v)
            if self.lo is not None and v < self.lo:
                raise ValueError(f'value must have a minimum value of {self.lo} (got {v})')
            if self.hi is not None and v > self.hi:
                raise ValueError(f'value must have a maximum value of {self.hi} (got {v})')
            return v
        if typed and not isinstance(v, str):
            raise ValueError('Expected string value.')
        if self.minlen is not None and len(v) < self.minlen:
            raise ValueError(f'value must be at least {self.minlen} characters long')
        if self.maxlen is not None and len(v) > self.maxlen:
            raise ValueError(f'value may only be {self.maxlen} characters long')
        if self.pat and not re.match(self.pat, v):
            raise ValueError('value does not match the regex pattern')
        if self.enum and v not in self.enum:
            raise ValueError(f"value '{v}' is not defined in the enumeration.")
        if self.fn:
            self.fn(v)
        return v


def sid():
    return F(pat=SAFE_RE, minlen=3, maxlen=32)


def lst(item):
    return F('list', items=item)


COMMENT = F(pat=r'^[^\x00-\x1f\x7f]*$', maxlen=128)
BOOL, CAL, NS = F('bool'), F(fn=_check_cal), F(pat=NS_RE, maxlen=256)
AUTHID, BYTES, KEEP = F(pat=AUTHID_RE, minlen=3, maxlen=64), F(minlen=1, maxlen=64, fn=_check_bytes), F('int', lo=1)
DIGEST = F(pat=r'^[a-f0-9]{64}$')
KEEPS = {k: KEEP for k in ('keep-last', 'keep-hourly', 'keep-daily', 'keep-weekly', 'keep-monthly', 'keep-yearly')}
SCHEMAS = {
    'datastore': dict(name=sid(), path=F(minlen=1, maxlen=4096), comment=COMMENT, **{
        'gc-schedule': CAL, 'prune-schedule': CAL, 'verify-new': BOOL, 'notify-user': F(pat=USERID_RE),
        'notify': F(), 'notification-mode': F(enum=('legacy-sendmail', 'notification-system')),
        'tuning': F(), 'maintenance-mode': F(), 'backing-device': F(), 'gc-on-unmount': BOOL,
        'counter-reset-schedule': CAL, 'notification-thresholds': F(), 'backend': F(),
        'reuse-datastore': BOOL, 'overwrite-in-use': BOOL}, **KEEPS),
    'remote': dict(name=sid(), host=F(fn=_check_host), port=F('int', lo=0, hi=65535), password=F(minlen=1,
                   maxlen=1024), comment=COMMENT, fingerprint=F(pat=r'^[0-9a-fA-F]{2}(?::[0-9a-fA-F]{2}){31}$'),
                   **{'auth-id': AUTHID, 'use-node-proxy': BOOL}),
    'sync': dict(id=sid(), store=sid(), ns=NS, remote=sid(), schedule=CAL, owner=AUTHID, comment=COMMENT, **{
        'remote-store': sid(), 'remote-ns': NS, 'max-depth': F('int', lo=0, hi=7), 'remove-vanished': BOOL,
        'group-filter': lst(F(fn=_check_group_filter)), 'rate-in': BYTES, 'burst-in': BYTES, 'rate-out': BYTES,
        'burst-out': BYTES, 'transfer-last': F('int', lo=1), 'sync-direction': F(enum=('pull', 'push')),
        'encrypted-only': BOOL, 'verified-only': BOOL, 'resync-corrupt': BOOL, 'run-on-mount': BOOL,
        'unmount-on-done': BOOL, 'worker-threads': F('int', lo=1, hi=32), 'active-encryption-key': sid(),
        'associated-key': lst(sid())}),
    'verification': dict(id=sid(), store=sid(), ns=NS, schedule=CAL, comment=COMMENT, **{
        'ignore-verified': BOOL, 'outdated-after': F('int', lo=0), 'max-depth': F('int', lo=0, hi=7),
        'read-threads': F('int', lo=1, hi=32), 'verify-threads': F('int', lo=1, hi=32)}),
    'prune': dict(id=sid(), store=sid(), ns=NS, schedule=CAL, comment=COMMENT, disable=BOOL,
                  **{'max-depth': F('int', lo=0, hi=7)}, **KEEPS),
}
KEY = {'datastore': 'name', 'remote': 'name', 'sync': 'id', 'verification': 'id', 'prune': 'id'}
REQUIRED = {'datastore': {'name', 'path'}, 'remote': {'name', 'host', 'auth-id', 'password'},
            'sync': {'id', 'store', 'remote-store'}, 'verification': {'id', 'store'},
            'prune': {'id', 'store', 'schedule'}}
DELETABLE = {
    'datastore': ['comment', 'gc-schedule', 'gc-on-unmount', 'prune-schedule', *KEEPS, 'verify-new',
                  'notify-user', 'notify', 'notification-mode', 'tuning', 'maintenance-mode',
                  'notification-thresholds', 'counter-reset-schedule'],
    'remote': ['comment', 'fingerprint', 'port', 'use-node-proxy'],
    'sync': ['remote', 'owner', 'comment', 'schedule', 'remove-vanished', 'group-filter', 'rate-in', 'burst-in',
             'rate-out', 'burst-out', 'ns', 'remote-ns', 'max-depth', 'transfer-last', 'encrypted-only',
             'verified-only', 'run-on-mount', 'unmount-on-done', 'sync-direction', 'worker-threads',
             'active-encryption-key', 'associated-key'],
    'verification': ['ignore-verified', 'comment', 'schedule', 'outdated-after', 'ns', 'max-depth',
                     'read-threads', 'verify-threads'],
    'prune': ['comment', 'disable', 'ns', 'max-depth', *KEEPS],
}
NOT_UPDATABLE = {'datastore': {'path', 'backing-device', 'reuse-datastore', 'overwrite-in-use', 'backend'},
                 'remote': set(), 'sync': set(), 'verification': set(), 'prune': set()}
JOBTYPE = {'sync': 'syncjob', 'verification': 'verificationjob', 'prune': 'prunejob'}


TASK_LIST = {'start': F('int', lo=0), 'limit': F('int', lo=0), 'errors': BOOL, 'running': BOOL, 'userfilter': F(),
             'since': F('int'), 'until': F('int'), 'typefilter': F(), 'store': sid(),
             'statusfilter': lst(F(enum=('ok', 'warning', 'error', 'unknown')))}
TASK_LOG = {'start': F('int', lo=0), 'limit': F('int', lo=0), 'test-status': BOOL, 'download': BOOL}
UPID = F(pat=UPID_RE, minlen=36)


def update_schema(section):
    fields = {k: f for k, f in SCHEMAS[section].items() if k not in NOT_UPDATABLE[section]}
    return dict(fields, delete=lst(F(enum=DELETABLE[section])), digest=DIGEST)


def parse_params(schema, triples, required=()):
    """Validate (name, value, typed) triples against schema -> dict; raise a PBS ParameterError.

    typed: the value came from a JSON body (must have the JSON type), else it is text (form/query/path)."""
    out, errors = {}, {}
    for key, value, typed in triples:
        f = schema.get(key)
        if f is None:
            errors[key] = 'schema does not allow additional properties.'
            continue
        try:
            if f.kind == 'list':
                if typed:
                    if not isinstance(value, list):
                        raise ValueError('Expected array - got scalar value.')
                    out[key] = []
                    for i, item in enumerate(value):
                        try:
                            out[key].append(f.items.parse(item, True))
                        except ValueError as err:
                            errors[f'{key}/[{i}]'] = str(err)
                else:
                    out.setdefault(key, []).append(f.items.parse(value, False))
            elif key in out:
                errors[key] = 'duplicate parameter.'
            else:
                out[key] = f.parse(value, typed)
        except ValueError as err:
            errors[key] = str(err)
    if not errors:
        for key in sorted(required):
            if key not in out:
                errors[key] = 'parameter is missing and it is not optional.'
    if errors:
        raise param_error(errors)
    return out

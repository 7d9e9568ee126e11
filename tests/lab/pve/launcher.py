"""Serve the lab's fake Proxmox VE (LabPve) over TLS with the lab CA, and describe it in .lab/pve.json.

    python tests/lab/pve/launcher.py --host 127.0.0.2 --port 8006 --state-file .lab/pve.json [--time-scale 0.05]

Secrets (root password, token secrets, control token) are kept from an existing state file so a
restart does not change them; --fresh-secrets makes new ones. The state file is written (mode 600)
once the server listens, with the pid of this process, and the process serves until killed.
"""

import argparse
import asyncio
import json
import logging
import os
import secrets
import signal
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
LAB = os.path.dirname(HERE)
ROOT = os.path.dirname(os.path.dirname(LAB))
for path in (HERE, LAB):
    if path not in sys.path:
        sys.path.insert(0, path)

import pki  # noqa: E402 (after the sys.path set-up above)
from labpve import LabPve, make_creds  # noqa: E402

LOG = logging.getLogger('labpve.launcher')
NODES = ['pve1', 'pve2', 'pve3']


def load_previous(path):
    """The secrets of the state file a previous run wrote, or None."""
    try:
        with open(path, encoding='utf-8') as handle:
            old = json.load(handle)
        return {'password': old['password'], 'token_secret': old['token']['secret'],
                'limited_secret': old['limited_token']['secret'],
                'limited_password': old['limited_user']['password'],
                'control_token': old['control_token']}
    except (OSError, ValueError, KeyError, TypeError):
        return None


def write_private(path, data):
    """Write JSON atomically, readable by the owner only."""
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix='.pve-', suffix='.json', dir=directory)
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, 'w', encoding='utf-8') as handle:
            json.dump(data, handle, indent=2, sort_keys=True)
            handle.write('\n')
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def describe(args, creds, control_token, ca_file, fingerprint, pid):
    url = f'https://{args.host}:{args.port}'
    return {
        'host': args.host, 'port': args.port, 'url': url, 'ca_file': os.path.abspath(ca_file),
        'fingerprint': fingerprint, 'user': 'root@pam', 'password': creds['password'],
        'token': {'user': 'root@pam', 'token_id': 'lab', 'secret': creds['token_secret']},
        'limited_token': {'user': 'ansible@pve', 'token_id': 'limited', 'secret': creds['limited_secret']},
        'limited_user': {'user': 'ansible@pve', 'password': creds['limited_password']},
        'control_url': url + '/_lab', 'control_token': control_token,
        'nodes': list(NODES), 'time_scale': args.time_scale, 'pid': pid,
        'templates': {'qemu': {'9000': 'debian12-cloudinit', '9001': 'ubuntu2404-cloudinit'},
                      'lxc': {'9100': 'debian12-lxc'}},
        'pool': 'lab',
        'storages': {'local': 'dir', 'local-lvm': 'lvmthin', 'ceph-rbd': 'rbd', 'pbs-store': 'pbs'},
    }


async def serve(args):
    previous = None if args.fresh_secrets else load_previous(args.state_file)
    if previous:
        control_token = previous.pop('control_token')
        creds = previous
    else:
        creds, control_token = make_creds(), secrets.token_hex(24)
    # The PBS storage entry carries the PBS certificate's fingerprint. Make (or reuse) that
    # certificate here rather than read whatever exists: the lab starts PVE and PBS in parallel.
    pbs_cert, _key, _ca = pki.ensure_server_cert('pbs', [os.environ.get('PBS_HOST', '127.0.0.4')])
    creds['pbs_fingerprint'] = pki.fingerprint(pbs_cert)
    certfile, keyfile, ca_file = pki.ensure_server_cert('pve', [args.host])
    pve = LabPve(user='root@pam', password=creds['password'], host=args.host, port=args.port, creds=creds,
                 control_token=control_token, time_scale=args.time_scale)
    pve.seed()
    await pve.start(certfile, keyfile)
    write_private(args.state_file, describe(args, creds, control_token, ca_file, pki.fingerprint(certfile),
                                            os.getpid()))
    LOG.info('labpve listening on %s (time_scale %s), state in %s', pve.url, args.time_scale, args.state_file)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    LOG.info('labpve stopping')
    await pve.stop()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--host', default='127.0.0.2')
    parser.add_argument('--port', type=int, default=8006)
    default_state = os.path.join(os.environ.get('NBSYNC_LAB_DIR', os.path.join(ROOT, '.lab')), 'pve.json')
    parser.add_argument('--state-file', default=default_state)
    parser.add_argument('--time-scale', type=float, default=0.05,
                        help='real seconds per PVE second for task durations (0: tasks finish inside the request; '
                             'default 0.05: a clone takes about 0.3 s)')
    parser.add_argument('--fresh-secrets', action='store_true', help='new secrets even if the state file has some')
    parser.add_argument('--access-log', action='store_true', help='log every request')
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format='%(asctime)s %(name)s %(levelname)s %(message)s')
    if not args.access_log:
        logging.getLogger('aiohttp.access').setLevel(logging.WARNING)
    asyncio.run(serve(args))


if __name__ == '__main__':
    main()

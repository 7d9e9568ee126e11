"""Start the fake PBS for the lab: TLS from tests/lab/pki.py, state file .lab/pbs.json.

    python tests/lab/pbs/launcher.py --host 127.0.0.4 --port 8007 --state-file .lab/pbs.json [--time-scale 1]

Runs in the foreground until SIGTERM/SIGINT (up.sh detaches it). Credentials are kept in
the state file and reused on restart, so a restart does not invalidate what tests hold.
"""

import argparse
import asyncio
import json
import os
import signal
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))  # tests/lab: pki
sys.path.insert(0, HERE)

import pki  # noqa: E402
from server import FakePbs  # noqa: E402


def _previous(path):
    try:
        with open(path) as handle:
            return json.load(handle)
    except (OSError, ValueError):
        return {}


def _write_private(path, data):
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    tmp = path + '.tmp'
    with os.fdopen(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), 'w') as out:
        json.dump(data, out, indent=2)
        out.write('\n')
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


def describe(server, ca_file, certfile):
    url = f'https://{server.host}:{server.port}'
    return {
        'host': server.host, 'port': server.port, 'url': url, 'ca_file': os.path.abspath(ca_file),
        'fingerprint': pki.fingerprint(certfile),
        'token': {'user': 'root@pam', 'token_id': 'lab', 'secret': server.secrets['root@pam!lab']},
        'readonly_token': {'user': 'audit@pbs', 'token_id': 'ro', 'secret': server.secrets['audit@pbs!ro']},
        'user': 'root@pam', 'password': server.passwords['root@pam'],
        'readonly_user': 'audit@pbs', 'readonly_password': server.passwords['audit@pbs'],
        'control_url': f'{url}/_lab', 'control_token': server.control_token,
        'datastores': ['store1', 'store2'], 'remote': 'pbs-remote', 'nodename': server.nodename,
    }


async def main(args):
    certfile, keyfile, ca_file = pki.ensure_server_cert('pbs', [args.host])
    old = _previous(args.state_file)
    keep = {}
    if old.get('token'):
        keep['root@pam!lab'] = old['token']['secret']
    if old.get('readonly_token'):
        keep['audit@pbs!ro'] = old['readonly_token']['secret']
    keep.update({k: old[f] for k, f in (('root@pam', 'password'), ('audit@pbs', 'readonly_password'))
                 if old.get(f)})
    server = FakePbs(args.host, args.port, certfile, keyfile, time_scale=args.time_scale,
                     control_token=old.get('control_token'), secrets_=keep)
    await server.start()
    _write_private(args.state_file, describe(server, ca_file, certfile))
    print(f'fake PBS listening on {server.url} (time scale {args.time_scale})', flush=True)
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set)
    await stop.wait()
    await server.stop()


if __name__ == '__main__':
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--host', default='127.0.0.4')
    parser.add_argument('--port', type=int, default=8007)
    parser.add_argument('--state-file', default=os.path.join(pki.LAB_DIR, 'pbs.json'))
    parser.add_argument('--time-scale', type=float, default=1.0,
                        help='multiplies task durations (1 s base) and auth-failure delays (3 s / 0.5 s)')
    asyncio.run(main(parser.parse_args()))

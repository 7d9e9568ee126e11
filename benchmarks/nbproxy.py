"""A reverse proxy in front of NetBox that adds a fixed latency to every request and counts them.

    .venv/bin/python benchmarks/nbproxy.py --upstream http://127.0.0.1:8000 --port 18000 --latency 0.020

Every request waits ``latency`` seconds (asyncio, so concurrent requests wait side by side, as on a
network with that round-trip time), then goes to NetBox over a keep-alive pool. The Host header is passed
on, so NetBox's ``next`` links point back at the proxy. Control (not forwarded, not counted):

* ``GET /_bench/stats``  -> {"count": n, "by_path": {"/api/...": [n, seconds NetBox took]}, "latency": s}
* ``POST /_bench/reset`` -> zero the counters
"""

import argparse
import asyncio
import time

from aiohttp import ClientSession, ClientTimeout, TCPConnector, web

HOP = frozenset(('connection', 'keep-alive', 'proxy-authenticate', 'proxy-authorization', 'te', 'trailers',
                 'transfer-encoding', 'upgrade', 'content-length'))


async def stats(request):
    app = request.app
    return web.json_response({'count': app['count'], 'by_path': app['by_path'], 'latency': app['latency']})


async def reset(request):
    request.app['count'] = 0
    request.app['by_path'] = {}
    return web.json_response({'ok': True})


async def forward(request):
    app = request.app
    app['count'] += 1
    if app['latency']:
        await asyncio.sleep(app['latency'])
    headers = dict((k, v) for k, v in request.headers.items() if k.lower() not in HOP)
    body = await request.read()
    started = time.monotonic()
    async with app['session'].request(request.method, app['upstream'] + request.path_qs, headers=headers,
                                      data=body or None, allow_redirects=False, auto_decompress=False) as resp:
        data = await resp.read()
        out = dict((k, v) for k, v in resp.headers.items() if k.lower() not in HOP)
    entry = app['by_path'].setdefault(request.path, [0, 0.0])
    entry[0] += 1
    entry[1] = round(entry[1] + time.monotonic() - started, 3)
    return web.Response(status=resp.status, body=data, headers=out)


async def on_startup(app):
    app['session'] = ClientSession(connector=TCPConnector(limit=64), timeout=ClientTimeout(total=600),
                                   auto_decompress=False)


async def on_cleanup(app):
    await app['session'].close()


def make_app(upstream, latency):
    app = web.Application(client_max_size=64 * 1024 * 1024)
    app['upstream'] = upstream.rstrip('/')
    app['latency'] = latency
    app['count'] = 0
    app['by_path'] = {}
    app.router.add_get('/_bench/stats', stats)
    app.router.add_post('/_bench/reset', reset)
    app.router.add_route('*', '/{tail:.*}', forward)
    app.on_startup.append(on_startup)
    app.on_cleanup.append(on_cleanup)
    return app


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--upstream', required=True)
    parser.add_argument('--host', default='127.0.0.1')
    parser.add_argument('--port', type=int, default=18000)
    parser.add_argument('--latency', type=float, default=0.020, help='seconds added to every request')
    args = parser.parse_args()
    web.run_app(make_app(args.upstream, args.latency), host=args.host, port=args.port, access_log=None,
                print=None)


if __name__ == '__main__':
    main()

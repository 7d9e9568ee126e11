"""The NetBox client against the lab's real NetBox (both token versions, bulk calls, typed errors)."""

import uuid

import pytest

from ansible_collections.nbsync.proxmox.plugins.module_utils import _errors as E
from ansible_collections.nbsync.proxmox.plugins.module_utils._netbox_client import NetBoxClient


@pytest.fixture(scope='module')
def nb(lab):
    return NetBoxClient(lab['netbox']['url'], lab['netbox']['token'])


@pytest.fixture(scope='module')
def cluster(nb):
    """A throwaway cluster (with its type) for this module's VMs; removed afterwards."""
    tag = uuid.uuid4().hex[:8]
    ctype = nb.create('virtualization.cluster_types', [{'name': 'it-' + tag, 'slug': 'it-' + tag}])[0]
    cl = nb.create('virtualization.clusters', [{'name': 'it-cluster-' + tag, 'type': ctype['id']}])[0]
    yield cl
    vms = nb.list('virtualization.virtual_machines', cluster_id=cl['id'])
    nb.delete('virtualization.virtual_machines', [v['id'] for v in vms])
    nb.delete('virtualization.clusters', [cl['id']])
    nb.delete('virtualization.cluster_types', [ctype['id']])


@pytest.mark.parametrize('which', ['token', 'token_v2'])
def test_both_token_versions_work(lab, which):
    token = lab['netbox'][which]
    assert token.startswith('nbt_') == (which == 'token_v2')
    status = NetBoxClient(lab['netbox']['url'], token).status()
    assert status['netbox-version'].startswith('4.')
    assert 'netbox_dns' in status['plugins']


def test_wrong_token_is_a_clear_error_without_the_secret(lab):
    bad = 'nbt_aaaaaaaaaaaa.' + 'f' * 40
    client = NetBoxClient(lab['netbox']['url'], bad)
    with pytest.raises(E.AuthenticationFailed) as info:
        client.list('virtualization.virtual_machines')
    assert 'netbox_token' in str(info.value)
    assert bad not in str(info.value) and 'f' * 40 not in repr(info.value.to_dict())
    assert bad not in repr(client)


def test_unreachable_netbox_is_unavailable():
    client = NetBoxClient('http://127.0.0.1:9', '0123456789abcdef0123456789abcdef01234567')
    with pytest.raises(E.Unavailable) as info:
        client.status()
    assert '127.0.0.1:9' in str(info.value)


def test_bulk_create_list_update_delete_in_one_call_each(nb, cluster):
    names = sorted('it-vm-{0:02d}'.format(i) for i in range(25))
    before = nb.request_count
    created = nb.create('virtualization.virtual_machines',
                        [{'name': n, 'cluster': cluster['id'], 'status': 'planned', 'memory': 1024} for n in names])
    assert nb.request_count - before == 1
    assert sorted(v['name'] for v in created) == names

    listed = nb.list('virtualization.virtual_machines', cluster_id=cluster['id'])
    assert sorted(v['name'] for v in listed) == names
    before = nb.request_count
    paged = nb.list('virtualization.virtual_machines', cluster_id=cluster['id'], limit=10)   # pages of 10
    assert sorted(v['name'] for v in paged) == names                   # every page, nothing twice
    assert nb.request_count - before == 3

    before = nb.request_count
    nb.update('virtualization.virtual_machines', [{'id': v['id'], 'memory': 2048} for v in created])
    assert nb.request_count - before == 1
    by_ids = nb.list('virtualization.virtual_machines', id=[v['id'] for v in created[:5]])
    assert [v['memory'] for v in by_ids] == [2048] * 5

    before = nb.request_count
    nb.delete('virtualization.virtual_machines', [v['id'] for v in created])
    assert nb.request_count - before == 1
    assert nb.list('virtualization.virtual_machines', cluster_id=cluster['id']) == []


def test_field_errors_are_carried(nb, cluster):
    with pytest.raises(E.InvalidRequest) as info:
        nb.create('virtualization.virtual_machines', [{'name': 'it-bad', 'cluster': cluster['id'], 'status': 'bogus'}])
    fields = dict((k.split('.')[-1], v) for k, v in info.value.field_errors.items())
    assert 'bogus' in fields['status']
    assert 'status' in str(info.value)


def test_get_absent_is_none_not_an_error(nb):
    assert nb.get('virtualization.virtual_machines', name='no-such-vm-' + uuid.uuid4().hex) is None


def test_plugin_endpoint(nb):
    zones = nb.list('plugins.netbox_dns.zones')
    assert isinstance(zones, list)


@pytest.fixture(scope='module')
def readonly_nb(lab, nb):
    """A NetBox user who may only view VMs, with its own v2 token: made through the API, removed after."""
    tag = uuid.uuid4().hex[:6]
    user = nb.create('users.users', [{'username': 'it-ro-' + tag, 'password': 'It-' + uuid.uuid4().hex}])[0]
    perm = nb.create('users.permissions', [{'name': 'it-ro-' + tag, 'actions': ['view'], 'users': [user['id']],
                                            'object_types': ['virtualization.virtualmachine']}])[0]
    token = nb.create('users.tokens', [{'user': user['id'], 'description': 'integration: view only'}])[0]
    yield NetBoxClient(lab['netbox']['url'], 'nbt_{0}.{1}'.format(token['key'], token['token']))
    nb.delete('users.tokens', [token['id']])
    nb.delete('users.permissions', [perm['id']])
    nb.delete('users.users', [user['id']])


def test_a_token_without_the_permission_is_refused_clearly(readonly_nb, cluster):
    assert isinstance(readonly_nb.list('virtualization.virtual_machines', cluster_id=cluster['id']), list)
    with pytest.raises(E.PermissionDenied) as info:
        readonly_nb.create('virtualization.virtual_machines', [{'name': 'it-denied', 'cluster': cluster['id']}])
    message = str(info.value)
    assert 'virtualization.virtual_machines' in message and 'permission' in message.lower()
    assert readonly_nb.list('virtualization.virtual_machines', cluster_id=cluster['id'], name='it-denied') == []


def test_tls_is_verified_by_default_and_ca_path_is_honoured(lab):
    """The lab NetBox speaks plain HTTP, so the lab's PVE (HTTPS, lab CA) stands in as a TLS server."""
    url = 'https://{0}:{1}'.format(lab['pve']['host'], lab['pve']['port'])
    with pytest.raises(E.TLSError) as info:
        NetBoxClient(url, lab['netbox']['token']).status()
    assert 'netbox_ca_path' in str(info.value) or 'netbox_ca_path' in (info.value.hint or '')
    with pytest.raises(E.NbsyncError) as info:                     # past TLS: PVE is no NetBox
        NetBoxClient(url, lab['netbox']['token'], ca_path=lab['pve']['ca_file']).status()
    assert not isinstance(info.value, E.TLSError)
    with pytest.raises(E.NbsyncError) as info:
        NetBoxClient(url, lab['netbox']['token'], validate_certs=False).status()
    assert not isinstance(info.value, E.TLSError)


# ----------------------------------------------------------------- what stands between (proxies, portals)

PORTAL = '<html><head><title>Guest Wi-Fi login</title></head><body>accept the terms</body></html>'


def test_a_portal_page_instead_of_json_is_a_clear_error(lab, canned_server):
    """A captive portal or a proxy's login page answers HTTP 200 with HTML: every kind of call says so, naming
    NetBox, the address, the request and netbox_url, instead of pynetbox's untyped ContentError (or an
    empty result)."""
    portal = canned_server(status=200, body=PORTAL)
    client = NetBoxClient(portal.url, lab['netbox']['token'])
    calls = [('GET /api/virtualization/virtual-machines/', lambda: client.list('virtualization.virtual_machines')),
             ('GET /api/status/', client.status),
             ('POST /api/virtualization/virtual-machines/',
              lambda: client.create('virtualization.virtual_machines', [{'name': 'x'}])),
             ('GET /api/ipam/prefixes/1/available-ips/', lambda: client.request('GET', 'ipam/prefixes/1/available-ips'))]
    for where, call in calls:
        with pytest.raises(E.UnexpectedResponse) as info:
            call()
        text = str(info.value)
        assert 'NetBox at 127.0.0.1:{0}'.format(portal.port) in text and where in text, text
        assert 'Guest Wi-Fi login' in text and 'netbox_url' in text and 'proxy' in text
        assert lab['netbox']['token'] not in text


@pytest.mark.parametrize('target', ['recorder', 'netbox'])
def test_a_redirect_is_not_followed(lab, canned_server, target):
    """A redirect (here from a server standing in front of NetBox) is reported, never followed: requests
    would send a POST's body elsewhere, or turn it into a GET on 301/302."""
    elsewhere = canned_server(status=200, body='{"count": 0, "next": null, "previous": null, "results": []}',
                              content_type='application/json')
    where = elsewhere.url if target == 'recorder' else lab['netbox']['url'].rstrip('/')
    redirector = canned_server(status=307, body='', content_type='text/plain',
                               headers={'Location': where + '/api/virtualization/virtual-machines/'})
    client = NetBoxClient(redirector.url, lab['netbox']['token'])
    with pytest.raises(E.UnexpectedResponse) as info:
        client.list('virtualization.virtual_machines')
    text = str(info.value)
    assert 'HTTP 307' in text and where in text and 'not followed' in text and 'netbox_url' in text
    assert info.value.location == where + '/api/virtualization/virtual-machines/'
    with pytest.raises(E.UnexpectedResponse):
        client.create('virtualization.virtual_machines', [{'name': 'it-redirected'}])
    assert elsewhere.hits == []
    assert len(redirector.hits) == 2


def test_a_read_answered_503_once_is_repeated(lab, flaky_netbox, cluster):
    proxy = flaky_netbox('GET', '503')
    client = NetBoxClient(proxy.url, lab['netbox']['token'])
    assert [c['name'] for c in client.list('virtualization.clusters', id=cluster['id'])] == [cluster['name']]
    assert proxy.seen == ['GET', 'GET']


def test_a_write_of_values_whose_connection_broke_is_repeated(lab, nb, flaky_netbox, cluster):
    """A PATCH sets values: sent again after the connection broke (a kept-alive connection closed at the
    instant it was reused), it leaves what one would have left."""
    vm = nb.create('virtualization.virtual_machines', [{'name': 'it-patch-' + uuid.uuid4().hex[:6],
                                                        'cluster': cluster['id'], 'memory': 512}])[0]
    proxy = flaky_netbox('PATCH', 'drop')
    client = NetBoxClient(proxy.url, lab['netbox']['token'])
    client.update('virtualization.virtual_machines', [{'id': vm['id'], 'memory': 1024}])
    assert proxy.seen == ['PATCH', 'PATCH']
    assert nb.get('virtualization.virtual_machines', id=vm['id'])['memory'] == 1024
    nb.delete('virtualization.virtual_machines', [vm['id']])


def test_a_create_whose_connection_broke_is_not_repeated(lab, nb, flaky_netbox, cluster):
    """A POST that may have reached NetBox is never sent again: it could create twice."""
    name = 'it-post-' + uuid.uuid4().hex[:6]
    proxy = flaky_netbox('POST', 'drop')
    client = NetBoxClient(proxy.url, lab['netbox']['token'])
    with pytest.raises(E.Unavailable):
        client.create('virtualization.virtual_machines', [{'name': name, 'cluster': cluster['id']}])
    assert proxy.seen == ['POST']
    assert nb.get('virtualization.virtual_machines', name=name) is None

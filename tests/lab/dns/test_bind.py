"""Checks of the lab's bind9 (tests/lab/dns/up.sh) with dnspython.

They talk to the RUNNING lab server described by ``.lab/dns.json``; start it
with ``python tests/lab/lab.py up dns`` (or ``tests/lab/dns/up.sh``).
Every name they create carries a random label and is deleted afterwards.
"""

import json
import os
import uuid

import pytest

dns = pytest.importorskip('dns')
import dns.exception  # noqa: E402
import dns.message  # noqa: E402
import dns.query  # noqa: E402
import dns.rcode  # noqa: E402
import dns.rdatatype  # noqa: E402
import dns.resolver  # noqa: E402
import dns.reversename  # noqa: E402
import dns.tsig  # noqa: E402
import dns.tsigkeyring  # noqa: E402
import dns.update  # noqa: E402
import dns.xfr  # noqa: E402
import dns.zone  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))
LAB_DIR = os.environ.get('NBSYNC_LAB_DIR', os.path.join(ROOT, '.lab'))
DNS_JSON = os.path.join(LAB_DIR, 'dns.json')
TIMEOUT = 5


@pytest.fixture(scope='module')
def lab():
    if not os.path.exists(DNS_JSON):
        pytest.skip('%s is absent: the lab DNS is not set up '
                    '(run: python tests/lab/lab.py up dns)' % DNS_JSON)
    with open(DNS_JSON) as handle:
        conf = json.load(handle)
    conf['keyring'] = dns.tsigkeyring.from_text({conf['tsig_name']: conf['tsig_secret']})
    conf['algorithm'] = dns.name.from_text(conf['tsig_algorithm'])
    return conf


def _update(lab, zone, signed=True, keyring=None, keyname=None):
    if not signed:
        return dns.update.UpdateMessage(zone)
    return dns.update.UpdateMessage(zone, keyring=keyring or lab['keyring'],
                                    keyname=keyname or lab['tsig_name'],
                                    keyalgorithm=lab['algorithm'])


def _send(lab, message, tcp=False):
    send = dns.query.tcp if tcp else dns.query.udp
    return send(message, lab['server'], port=lab['port'], timeout=TIMEOUT)


def _lookup(lab, name, rdtype):
    """Answer of the authoritative server for name/rdtype (a list of text rdata)."""
    response = _send(lab, dns.message.make_query(name, rdtype))
    assert response.rcode() in (dns.rcode.NOERROR, dns.rcode.NXDOMAIN)
    found = response.get_rrset(response.answer, dns.name.from_text(name),
                               dns.rdataclass.IN, dns.rdatatype.from_text(rdtype))
    return sorted(rdata.to_text() for rdata in found) if found else []


@pytest.fixture
def host(lab):
    """A fresh name in the forward zone; whatever the test adds there is removed."""
    label = 'pytest-%s' % uuid.uuid4().hex[:12]
    yield label, '%s.%s' % (label, lab['zone'])
    cleanup = _update(lab, lab['zone'])
    cleanup.delete(label)
    _send(lab, cleanup)


def test_server_answers_soa(lab):
    assert len(_lookup(lab, lab['zone'], 'SOA')) == 1
    assert _lookup(lab, 'gw.' + lab['zone'], 'A') == ['10.0.0.1']


def test_signed_add_then_query(lab, host):
    label, fqdn = host
    update = _update(lab, lab['zone'])
    update.add(label, 300, 'A', '10.1.2.3')
    response = _send(lab, update)
    assert response.rcode() == dns.rcode.NOERROR
    assert response.had_tsig  # the server signed its answer with our key
    assert _lookup(lab, fqdn, 'A') == ['10.1.2.3']


def test_signed_add_over_tcp(lab, host):
    label, fqdn = host
    update = _update(lab, lab['zone'])
    update.add(label, 300, 'TXT', '"over tcp"')
    assert _send(lab, update, tcp=True).rcode() == dns.rcode.NOERROR
    assert _lookup(lab, fqdn, 'TXT') == ['"over tcp"']


def test_ptr_in_reverse_zone(lab):
    address = '10.%d.%d.%d' % tuple(uuid.uuid4().bytes[:3])
    ptr_name = dns.reversename.from_address(address).to_text()
    assert ptr_name.endswith('.' + lab['reverse_zone'])
    target = 'ptr-test.%s' % lab['zone']
    update = _update(lab, lab['reverse_zone'])
    update.replace(ptr_name, 300, 'PTR', target)
    try:
        assert _send(lab, update).rcode() == dns.rcode.NOERROR
        assert _lookup(lab, ptr_name, 'PTR') == [target]
    finally:
        cleanup = _update(lab, lab['reverse_zone'])
        cleanup.delete(ptr_name)
        _send(lab, cleanup)
    assert _lookup(lab, ptr_name, 'PTR') == []


def test_unsigned_update_is_refused(lab, host):
    label, fqdn = host
    update = _update(lab, lab['zone'], signed=False)
    update.add(label, 300, 'A', '10.9.9.9')
    assert _send(lab, update).rcode() == dns.rcode.REFUSED
    assert _lookup(lab, fqdn, 'A') == []


def test_update_with_wrong_secret_fails(lab, host):
    label, fqdn = host
    wrong = dns.tsigkeyring.from_text({lab['tsig_name']: 'd3JvbmcgbGFiIHNlY3JldCwgMzIgYnl0ZXMgbG9uZyEh'})
    update = _update(lab, lab['zone'], keyring=wrong)
    update.add(label, 300, 'A', '10.9.9.8')
    # bind answers NOTAUTH with TSIG error BADSIG, unsigned: dnspython raises.
    with pytest.raises(dns.tsig.PeerBadSignature):
        _send(lab, update)
    assert _lookup(lab, fqdn, 'A') == []


def test_update_with_unknown_key_name_fails(lab, host):
    label, fqdn = host
    other = dns.tsigkeyring.from_text({'other-key.': lab['tsig_secret']})
    update = _update(lab, lab['zone'], keyring=other, keyname='other-key.')
    update.add(label, 300, 'A', '10.9.9.7')
    with pytest.raises(dns.tsig.PeerBadKey):
        _send(lab, update)
    assert _lookup(lab, fqdn, 'A') == []


def test_delete(lab, host):
    label, fqdn = host
    add = _update(lab, lab['zone'])
    add.add(label, 300, 'A', '10.4.4.4')
    add.add(label, 300, 'A', '10.4.4.5')
    assert _send(lab, add).rcode() == dns.rcode.NOERROR
    assert _lookup(lab, fqdn, 'A') == ['10.4.4.4', '10.4.4.5']

    one = _update(lab, lab['zone'])
    one.delete(label, 'A', '10.4.4.4')
    assert _send(lab, one).rcode() == dns.rcode.NOERROR
    assert _lookup(lab, fqdn, 'A') == ['10.4.4.5']

    everything = _update(lab, lab['zone'])
    everything.delete(label)
    assert _send(lab, everything).rcode() == dns.rcode.NOERROR
    assert _lookup(lab, fqdn, 'A') == []


def test_axfr_needs_the_key(lab, host):
    label, _ = host
    add = _update(lab, lab['zone'])
    add.add(label, 300, 'A', '10.5.5.5')
    assert _send(lab, add).rcode() == dns.rcode.NOERROR

    zone = dns.zone.from_xfr(dns.query.xfr(
        lab['server'], lab['zone'], port=lab['port'], timeout=TIMEOUT, lifetime=TIMEOUT,
        keyring=lab['keyring'], keyname=lab['tsig_name'], keyalgorithm=lab['algorithm']))
    assert zone.get_rdataset(label, 'A').to_text().endswith('10.5.5.5')
    assert zone.get_rdataset('gw', 'A') is not None

    with pytest.raises(dns.xfr.TransferError, match='REFUSED'):
        dns.zone.from_xfr(dns.query.xfr(lab['server'], lab['zone'], port=lab['port'],
                                        timeout=TIMEOUT, lifetime=TIMEOUT))

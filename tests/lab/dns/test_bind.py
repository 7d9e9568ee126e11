"""Checks of the lab's bind9 (tests/lab/dns/up.sh) with dnspython.

They talk to the RUNNING lab server described by ``.lab/dns.json``; start it
with ``python tests/lab/lab.py up dns`` (or ``tests/lab/dns/up.sh``).
Every name they create carries a random label and is deleted afterwards.
"""

import json
import os
import uuid

import dns.message
import dns.name
import dns.query
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.reversename
import dns.tsig
import dns.tsigkeyring
import dns.update
import dns.xfr
import dns.zone
import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))
LAB_DIR = os.environ.get('NBSYNC_LAB_DIR', os.path.join(ROOT, '.lab'))
DNS_JSON = os.path.join(LAB_DIR, 'dns.json')
TIMEOUT = 5


@pytest.fixture(scope='module')
def dns_lab():
    if not os.path.exists(DNS_JSON):
        pytest.skip('%s is absent: the lab DNS is not set up '
                    '(run: python tests/lab/lab.py up dns)' % DNS_JSON)
    with open(DNS_JSON) as handle:
        conf = json.load(handle)
    conf['keyring'] = dns.tsigkeyring.from_text({conf['tsig_name']: conf['tsig_secret']})
    conf['algorithm'] = dns.name.from_text(conf['tsig_algorithm'])
    return conf


def _update(dns_lab, zone, signed=True, keyring=None, keyname=None):
    if not signed:
        return dns.update.UpdateMessage(zone)
    return dns.update.UpdateMessage(zone, keyring=keyring or dns_lab['keyring'],
                                    keyname=keyname or dns_lab['tsig_name'],
                                    keyalgorithm=dns_lab['algorithm'])


def _send(dns_lab, message, tcp=False):
    send = dns.query.tcp if tcp else dns.query.udp
    return send(message, dns_lab['server'], port=dns_lab['port'], timeout=TIMEOUT)


def _lookup(dns_lab, name, rdtype):
    """Answer of the authoritative server for name/rdtype (a list of text rdata)."""
    response = _send(dns_lab, dns.message.make_query(name, rdtype))
    assert response.rcode() in (dns.rcode.NOERROR, dns.rcode.NXDOMAIN)
    found = response.get_rrset(response.answer, dns.name.from_text(name),
                               dns.rdataclass.IN, dns.rdatatype.from_text(rdtype))
    return sorted(rdata.to_text() for rdata in found) if found else []


@pytest.fixture
def host(dns_lab):
    """A fresh name in the forward zone; whatever the test adds there is removed."""
    label = 'pytest-%s' % uuid.uuid4().hex[:12]
    yield label, '%s.%s' % (label, dns_lab['zone'])
    cleanup = _update(dns_lab, dns_lab['zone'])
    cleanup.delete(label)
    _send(dns_lab, cleanup)


def test_server_answers_soa(dns_lab):
    assert len(_lookup(dns_lab, dns_lab['zone'], 'SOA')) == 1
    assert _lookup(dns_lab, 'gw.' + dns_lab['zone'], 'A') == ['10.0.0.1']


def test_signed_add_then_query(dns_lab, host):
    label, fqdn = host
    update = _update(dns_lab, dns_lab['zone'])
    update.add(label, 300, 'A', '10.1.2.3')
    response = _send(dns_lab, update)
    assert response.rcode() == dns.rcode.NOERROR
    assert response.had_tsig  # the server signed its answer with our key
    assert _lookup(dns_lab, fqdn, 'A') == ['10.1.2.3']


def test_signed_add_over_tcp(dns_lab, host):
    label, fqdn = host
    update = _update(dns_lab, dns_lab['zone'])
    update.add(label, 300, 'TXT', '"over tcp"')
    assert _send(dns_lab, update, tcp=True).rcode() == dns.rcode.NOERROR
    assert _lookup(dns_lab, fqdn, 'TXT') == ['"over tcp"']


def test_ptr_in_reverse_zone(dns_lab):
    address = '10.%d.%d.%d' % tuple(uuid.uuid4().bytes[:3])
    ptr_name = dns.reversename.from_address(address).to_text()
    assert ptr_name.endswith('.' + dns_lab['reverse_zone'])
    target = 'ptr-test.%s' % dns_lab['zone']
    update = _update(dns_lab, dns_lab['reverse_zone'])
    update.replace(ptr_name, 300, 'PTR', target)
    try:
        assert _send(dns_lab, update).rcode() == dns.rcode.NOERROR
        assert _lookup(dns_lab, ptr_name, 'PTR') == [target]
    finally:
        cleanup = _update(dns_lab, dns_lab['reverse_zone'])
        cleanup.delete(ptr_name)
        _send(dns_lab, cleanup)
    assert _lookup(dns_lab, ptr_name, 'PTR') == []


def test_unsigned_update_is_refused(dns_lab, host):
    label, fqdn = host
    update = _update(dns_lab, dns_lab['zone'], signed=False)
    update.add(label, 300, 'A', '10.9.9.9')
    assert _send(dns_lab, update).rcode() == dns.rcode.REFUSED
    assert _lookup(dns_lab, fqdn, 'A') == []


def test_update_with_wrong_secret_fails(dns_lab, host):
    label, fqdn = host
    wrong = dns.tsigkeyring.from_text({dns_lab['tsig_name']: 'd3JvbmcgbGFiIHNlY3JldCwgMzIgYnl0ZXMgbG9uZyEh'})
    update = _update(dns_lab, dns_lab['zone'], keyring=wrong)
    update.add(label, 300, 'A', '10.9.9.8')
    # bind answers NOTAUTH with TSIG error BADSIG, unsigned: dnspython raises.
    with pytest.raises(dns.tsig.PeerBadSignature):
        _send(dns_lab, update)
    assert _lookup(dns_lab, fqdn, 'A') == []


def test_update_with_unknown_key_name_fails(dns_lab, host):
    label, fqdn = host
    other = dns.tsigkeyring.from_text({'other-key.': dns_lab['tsig_secret']})
    update = _update(dns_lab, dns_lab['zone'], keyring=other, keyname='other-key.')
    update.add(label, 300, 'A', '10.9.9.7')
    with pytest.raises(dns.tsig.PeerBadKey):
        _send(dns_lab, update)
    assert _lookup(dns_lab, fqdn, 'A') == []


def test_delete(dns_lab, host):
    label, fqdn = host
    add = _update(dns_lab, dns_lab['zone'])
    add.add(label, 300, 'A', '10.4.4.4')
    add.add(label, 300, 'A', '10.4.4.5')
    assert _send(dns_lab, add).rcode() == dns.rcode.NOERROR
    assert _lookup(dns_lab, fqdn, 'A') == ['10.4.4.4', '10.4.4.5']

    one = _update(dns_lab, dns_lab['zone'])
    one.delete(label, 'A', '10.4.4.4')
    assert _send(dns_lab, one).rcode() == dns.rcode.NOERROR
    assert _lookup(dns_lab, fqdn, 'A') == ['10.4.4.5']

    everything = _update(dns_lab, dns_lab['zone'])
    everything.delete(label)
    assert _send(dns_lab, everything).rcode() == dns.rcode.NOERROR
    assert _lookup(dns_lab, fqdn, 'A') == []


def test_axfr_needs_the_key(dns_lab, host):
    label, _address = host
    add = _update(dns_lab, dns_lab['zone'])
    add.add(label, 300, 'A', '10.5.5.5')
    assert _send(dns_lab, add).rcode() == dns.rcode.NOERROR

    zone = dns.zone.from_xfr(dns.query.xfr(
        dns_lab['server'], dns_lab['zone'], port=dns_lab['port'], timeout=TIMEOUT, lifetime=TIMEOUT,
        keyring=dns_lab['keyring'], keyname=dns_lab['tsig_name'], keyalgorithm=dns_lab['algorithm']))
    assert zone.get_rdataset(label, 'A').to_text().endswith('10.5.5.5')
    assert zone.get_rdataset('gw', 'A') is not None

    with pytest.raises(dns.xfr.TransferError, match='REFUSED'):
        dns.zone.from_xfr(dns.query.xfr(dns_lab['server'], dns_lab['zone'], port=dns_lab['port'],
                                        timeout=TIMEOUT, lifetime=TIMEOUT))

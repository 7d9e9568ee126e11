"""The lab PKI stays consistent when several lab services create it at once (CI on a fresh machine)."""

import os
import subprocess
import sys

from cryptography import x509

HERE = os.path.dirname(os.path.abspath(__file__))

MAKE = """
import sys
sys.path.insert(0, %r)
import pki
pki.ensure_server_cert(sys.argv[1], ['127.0.0.9'])
""" % HERE


def _load(path):
    with open(path, 'rb') as handle:
        return x509.load_pem_x509_certificate(handle.read())


def test_parallel_first_start_signs_every_certificate_with_the_ca_on_disk(tmp_path):
    env = dict(os.environ, NBSYNC_LAB_DIR=str(tmp_path))
    names = ['pve', 'pbs', 'pve', 'pbs', 'other', 'other']
    procs = [subprocess.Popen([sys.executable, '-c', MAKE, name], env=env) for name in names]
    assert [proc.wait(timeout=60) for proc in procs] == [0] * len(names)
    ca = _load(tmp_path / 'pki' / 'ca.pem')
    for name in set(names):
        _load(tmp_path / 'pki' / (name + '.crt')).verify_directly_issued_by(ca)  # raises if not


def test_a_certificate_from_another_ca_or_for_other_hosts_is_replaced(tmp_path, monkeypatch):
    sys.path.insert(0, HERE)
    import pki
    monkeypatch.setattr(pki, 'PKI_DIR', str(tmp_path))
    certfile, _key, ca_pem = pki.ensure_server_cert('pbs', ['127.0.0.9'])
    first = pki.fingerprint(certfile)
    assert pki.ensure_server_cert('pbs', ['127.0.0.9'])[0] == certfile
    assert pki.fingerprint(certfile) == first  # kept: same CA, same hosts

    os.unlink(ca_pem)  # a new CA: the old certificate no longer verifies and is remade
    certfile, _key, ca_pem = pki.ensure_server_cert('pbs', ['127.0.0.9'])
    _load(certfile).verify_directly_issued_by(_load(ca_pem))

    certfile, _key, _ca = pki.ensure_server_cert('pbs', ['127.0.0.10'])  # another host: remade with it
    san = _load(certfile).extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert '127.0.0.10' in {str(ip) for ip in san.get_values_for_type(x509.IPAddress)}

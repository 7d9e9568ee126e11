"""The lab's private CA and server certificates (test-only).

One CA signs every lab server certificate, so a client verifies PVE and PBS
with one ``ca_file``. A second, unrelated CA (``wrong-ca.pem``) exists so tests
can show that verification against the wrong CA fails.
"""

import datetime
import hashlib
import ipaddress
import os

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
LAB_DIR = os.environ.get('NBSYNC_LAB_DIR', os.path.join(ROOT, '.lab'))
PKI_DIR = os.path.join(LAB_DIR, 'pki')


def _now():
    return datetime.datetime.now(datetime.timezone.utc)


def _write_key(path, key):
    with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), 'wb') as out:
        out.write(key.private_bytes(serialization.Encoding.PEM,
                                    serialization.PrivateFormat.TraditionalOpenSSL,
                                    serialization.NoEncryption()))


def _make_ca(name):
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    cert = (x509.CertificateBuilder()
            .subject_name(subject).issuer_name(subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(_now() - datetime.timedelta(days=1))
            .not_valid_after(_now() + datetime.timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                         crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(key, hashes.SHA256()))
    return cert, key


def ensure_ca():
    """Create the lab CA (and the unrelated 'wrong' CA) once; return the CA file path."""
    os.makedirs(PKI_DIR, exist_ok=True)
    ca_pem = os.path.join(PKI_DIR, 'ca.pem')
    if not os.path.exists(ca_pem):
        cert, key = _make_ca('nbsync lab CA')
        _write_key(os.path.join(PKI_DIR, 'ca.key'), key)
        with open(ca_pem, 'wb') as out:
            out.write(cert.public_bytes(serialization.Encoding.PEM))
    wrong = os.path.join(PKI_DIR, 'wrong-ca.pem')
    if not os.path.exists(wrong):
        cert, _key = _make_ca('some other CA')
        with open(wrong, 'wb') as out:
            out.write(cert.public_bytes(serialization.Encoding.PEM))
    return ca_pem


def ensure_server_cert(name, hosts):
    """Return (certfile, keyfile, ca_file) for a server named name, valid for hosts (IPs or DNS names)."""
    ca_pem = ensure_ca()
    certfile = os.path.join(PKI_DIR, name + '.crt')
    keyfile = os.path.join(PKI_DIR, name + '.key')
    if os.path.exists(certfile) and os.path.exists(keyfile):
        return certfile, keyfile, ca_pem
    with open(ca_pem, 'rb') as handle:
        ca_cert = x509.load_pem_x509_certificate(handle.read())
    with open(os.path.join(PKI_DIR, 'ca.key'), 'rb') as handle:
        ca_key = serialization.load_pem_private_key(handle.read(), password=None)
    key = ec.generate_private_key(ec.SECP256R1())
    names = []
    for host in ('localhost',) + tuple(hosts):
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
            .issuer_name(ca_cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(_now() - datetime.timedelta(days=1))
            .not_valid_after(_now() + datetime.timedelta(days=365))
            .add_extension(x509.SubjectAlternativeName(names), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    _write_key(keyfile, key)
    with open(certfile, 'wb') as out:
        out.write(cert.public_bytes(serialization.Encoding.PEM))
    return certfile, keyfile, ca_pem


def fingerprint(certfile):
    """SHA-256 fingerprint of a PEM certificate as PVE shows it: 'AA:BB:...'."""
    with open(certfile, 'rb') as handle:
        der = x509.load_pem_x509_certificate(handle.read()).public_bytes(serialization.Encoding.DER)
    digest = hashlib.sha256(der).hexdigest().upper()
    return ':'.join(digest[i:i + 2] for i in range(0, len(digest), 2))

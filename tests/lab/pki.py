"""The lab's private CA and server certificates (test-only).

One CA signs every lab server certificate, so a client verifies PVE and PBS
with one ``ca_file``. A second, unrelated CA (``wrong-ca.pem``) exists so tests
can show that verification against the wrong CA fails.
"""

import contextlib
import datetime
import fcntl
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


@contextlib.contextmanager
def _locked():
    """Serialise CA and certificate creation across processes.

    The lab starts PVE and PBS in parallel; on a fresh machine both found no CA,
    both made one, and the PBS certificate ended up signed by a CA that was then
    overwritten (CI failed: the PBS fake listened, but nothing could verify it).
    """
    os.makedirs(PKI_DIR, exist_ok=True)
    with open(os.path.join(PKI_DIR, '.lock'), 'w') as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _write_atomic(path, data, mode=0o644):
    tmp = '%s.%d.tmp' % (path, os.getpid())
    with os.fdopen(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode), 'wb') as out:
        out.write(data)
    os.replace(tmp, path)


def _write_key(path, key):
    _write_atomic(path, key.private_bytes(serialization.Encoding.PEM,
                                          serialization.PrivateFormat.TraditionalOpenSSL,
                                          serialization.NoEncryption()), 0o600)


def _signed_by(certfile, ca_pem):
    """True when certfile's signature verifies with the CA in ca_pem."""
    try:
        with open(certfile, 'rb') as handle:
            cert = x509.load_pem_x509_certificate(handle.read())
        with open(ca_pem, 'rb') as handle:
            ca_cert = x509.load_pem_x509_certificate(handle.read())
        cert.verify_directly_issued_by(ca_cert)
        return True
    except Exception:  # any failure means: make a new one
        return False


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
    with _locked():
        return _ensure_ca()


def _ensure_ca():
    ca_pem = os.path.join(PKI_DIR, 'ca.pem')
    ca_key = os.path.join(PKI_DIR, 'ca.key')
    if not (os.path.exists(ca_pem) and os.path.exists(ca_key)):
        cert, key = _make_ca('nbsync lab CA')
        _write_key(ca_key, key)  # key first: ca.pem existing means the pair is complete
        _write_atomic(ca_pem, cert.public_bytes(serialization.Encoding.PEM))
    wrong = os.path.join(PKI_DIR, 'wrong-ca.pem')
    if not os.path.exists(wrong):
        cert, _key = _make_ca('some other CA')
        _write_atomic(wrong, cert.public_bytes(serialization.Encoding.PEM))
    return ca_pem


def ensure_server_cert(name, hosts):
    """Return (certfile, keyfile, ca_file) for a server named name, valid for hosts (IPs or DNS names).

    An existing certificate is kept only if the current CA signed it and it names every host.
    """
    with _locked():
        return _ensure_server_cert(name, hosts)


def _names_hosts(certfile, hosts):
    with open(certfile, 'rb') as handle:
        cert = x509.load_pem_x509_certificate(handle.read())
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return False
    have = {str(ip) for ip in san.get_values_for_type(x509.IPAddress)} | set(san.get_values_for_type(x509.DNSName))
    return all(str(host) in have for host in hosts)


def _ensure_server_cert(name, hosts):
    ca_pem = _ensure_ca()
    certfile = os.path.join(PKI_DIR, name + '.crt')
    keyfile = os.path.join(PKI_DIR, name + '.key')
    if (os.path.exists(certfile) and os.path.exists(keyfile) and _signed_by(certfile, ca_pem)
            and _names_hosts(certfile, hosts)):
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
    _write_atomic(certfile, cert.public_bytes(serialization.Encoding.PEM))
    return certfile, keyfile, ca_pem


def fingerprint(certfile):
    """SHA-256 fingerprint of a PEM certificate as PVE shows it: 'AA:BB:...'."""
    with open(certfile, 'rb') as handle:
        der = x509.load_pem_x509_certificate(handle.read()).public_bytes(serialization.Encoding.DER)
    digest = hashlib.sha256(der).hexdigest().upper()
    return ':'.join(digest[i:i + 2] for i in range(0, len(digest), 2))

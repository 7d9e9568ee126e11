"""Stdlib-only DNS readiness probe: ask SERVER:PORT for the SOA of ZONE over UDP.

Exit 0 when the server answers NOERROR with at least one answer record and the
authoritative-answer flag, 1 otherwise.  Usage: probe.py SERVER PORT ZONE [TIMEOUT]
"""

import os
import socket
import struct
import sys


def soa_query(server, port, zone, timeout=1.0):
    """Return (ok, reason) for a UDP SOA query of ``zone``."""
    qid = int.from_bytes(os.urandom(2), 'big')
    header = struct.pack('!HHHHHH', qid, 0x0000, 1, 0, 0, 0)  # RD=0: we ask an authority
    qname = b''.join(bytes([len(label)]) + label.encode('ascii')
                     for label in zone.rstrip('.').split('.') if label) + b'\x00'
    packet = header + qname + struct.pack('!HH', 6, 1)  # QTYPE=SOA, QCLASS=IN
    family = socket.AF_INET6 if ':' in server else socket.AF_INET
    with socket.socket(family, socket.SOCK_DGRAM) as sock:
        sock.settimeout(timeout)
        try:
            sock.connect((server, int(port)))  # connected: ICMP "refused" ends the wait at once
            sock.send(packet)
            while True:
                data = sock.recv(4096)
                if len(data) >= 12 and struct.unpack('!H', data[:2])[0] == qid:
                    break
        except OSError as exc:  # timeout, connection refused (ICMP), ...
            return False, 'no answer (%s)' % (exc.__class__.__name__ if not str(exc) else exc)
    _id, flags, _qdcount, ancount, _nscount, _arcount = struct.unpack('!HHHHHH', data[:12])
    rcode = flags & 0x000F
    if rcode != 0:
        return False, 'rcode %d' % rcode
    if not ancount or not flags & 0x0400:
        return False, 'no authoritative SOA answer'
    return True, 'SOA ok'


def main(argv):
    if len(argv) not in (4, 5):
        sys.stderr.write(__doc__)
        return 2
    ok, reason = soa_query(argv[1], argv[2], argv[3], float(argv[4]) if len(argv) == 5 else 1.0)
    if not ok:
        sys.stderr.write('%s:%s %s: %s\n' % (argv[1], argv[2], argv[3], reason))
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main(sys.argv))

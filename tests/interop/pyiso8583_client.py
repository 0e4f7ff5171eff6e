#!/usr/bin/env python3
"""An independent mPOS client built on pyiso8583 (not on our codec): signs on,
pays, refunds and reverses against a running `mpos serve`, checking every
answer against shared/spec/host-interface.md, and signs on by the ticket
its first sign-on got. Exits non-zero on the first
disagreement, naming it. Over TLS (host-interface.md section 8) with
Python's own `ssl` module when given a CA to trust, and with a client
certificate for mutual TLS.

Usage: pyiso8583_client.py HOST:PORT [--ca CA.pem [--cert C.pem --key K.pem]]
"""

import socket
import ssl
import struct
import sys
from datetime import datetime, timezone

import iso8583
from iso8583.specs import default_ascii as SPEC

PAN = "4276550012341239"  # passes the Luhn check


def tls_context(ca, cert=None, key=None, maximum=None):
    """A client context trusting `ca` (and nothing else), presenting
    `cert`/`key` when given, capped at `maximum` when given."""
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=ca)
    if cert:
        context.load_cert_chain(cert, key)
    if maximum is not None:
        # OpenSSL 3 refuses TLS 1.1 at its default security level; lower
        # it so that the client really offers the old version.
        context.set_ciphers("DEFAULT:@SECLEVEL=0")
        context.minimum_version = ssl.TLSVersion.MINIMUM_SUPPORTED
        context.maximum_version = maximum
    return context


class Client:
    def __init__(self, address, tls=None):
        host, port = address.rsplit(":", 1)
        self.sock = socket.create_connection((host, int(port)), timeout=10)
        if tls is not None:
            self.sock = tls.wrap_socket(self.sock, server_hostname=host)
        self.stan = 0

    def next_stan(self):
        self.stan += 1
        return f"{self.stan:06d}"

    def exchange(self, fields):
        raw, _ = iso8583.encode(dict(fields), SPEC)
        self.sock.sendall(struct.pack(">H", len(raw)) + bytes(raw))
        header = self._read(2)
        (length,) = struct.unpack(">H", header)
        answer, _ = iso8583.decode(self._read(length), SPEC)
        return answer

    def _read(self, n):
        data = b""
        while len(data) < n:
            chunk = self.sock.recv(n - len(data))
            if not chunk:
                raise SystemExit("the host closed the connection")
            data += chunk
        return data


def de7():
    return datetime.now(timezone.utc).strftime("%m%d%H%M%S")


def expect(label, answer, code, mti):
    got = (answer.get("t"), answer.get("39"))
    if got != (mti, code):
        raise SystemExit(f"{label}: expected {mti}/{code}, got {got[0]}/{got[1]}: {answer}")
    for secret in ("2", "35", "48", "52", "55"):
        if secret in answer:
            raise SystemExit(f"{label}: the answer echoes DE {secret}")
    print(f"ok  {label}: {mti} {code}")


def parse_args(argv):
    """HOST:PORT and the TLS options: the address and a context or None."""
    if len(argv) < 2:
        raise SystemExit(__doc__)
    options = dict(zip(argv[2::2], argv[3::2]))
    if len(argv) % 2 != 0 or set(options) - {"--ca", "--cert", "--key"}:
        raise SystemExit(__doc__)
    tls = None
    if "--ca" in options:
        tls = tls_context(options["--ca"], options.get("--cert"), options.get("--key"))
    return argv[1], tls


def main():
    address, tls = parse_args(sys.argv)
    c = Client(address, tls)
    t7 = de7()

    a = c.exchange({"t": "0800", "7": t7, "11": c.next_stan(), "70": "301"})
    expect("echo without sign-on", a, "00", "0810")

    purchase = {"t": "0200", "2": PAN, "3": "000000", "4": "000000010000", "7": t7, "11": "",
                "14": "2812", "22": "071", "41": "10000001", "42": "MTB000000000001", "49": "933",
                "55": "9F2608C2C1F1A5B1D3E4F5"}
    p = dict(purchase, **{"11": c.next_stan()})
    expect("purchase before sign-on", c.exchange(p), "63", "0210")

    a = c.exchange({"t": "0800", "7": t7, "11": c.next_stan(), "48": "wrong-pass", "62": "MPOS-0001", "70": "001"})
    expect("sign-on with a wrong password", a, "63", "0810")
    a = c.exchange({"t": "0800", "7": t7, "11": c.next_stan(), "48": "app-pass-1", "62": "MPOS-0001", "70": "001"})
    expect("sign-on", a, "00", "0810")
    if a.get("70") != "001":
        raise SystemExit("0810 does not echo DE 70")
    ticket = a.get("61", "")
    if len(ticket) != 64 or any(ch not in "0123456789abcdefABCDEF" for ch in ticket):
        raise SystemExit(f"the 0810 to a sign-on carries no 64-hex ticket in DE 61: {a}")

    # A second connection signs on by the ticket instead of the password,
    # and gets the next ticket; the first is void from then on.
    c2 = Client(address, tls)
    by_ticket = {"t": "0800", "7": t7, "11": c2.next_stan(), "61": ticket, "62": "MPOS-0001", "70": "001"}
    a2 = c2.exchange(by_ticket)
    expect("sign-on by ticket", a2, "00", "0810")
    if a2.get("61", ticket) == ticket:
        raise SystemExit(f"a sign-on by ticket did not hand out a new ticket: {a2}")
    expect("sign-on by the replaced ticket", c2.exchange(dict(by_ticket, **{"11": c2.next_stan()})), "63", "0810")
    both = dict(by_ticket, **{"11": c2.next_stan(), "48": "app-pass-1", "61": a2["61"]})
    expect("sign-on with both password and ticket", c2.exchange(both), "30", "0810")

    p = dict(purchase, **{"11": c.next_stan()})
    approved = c.exchange(p)
    expect("purchase", approved, "00", "0210")
    rrn, auth = approved.get("37", ""), approved.get("38", "")
    if len(rrn) != 12 or len(auth) != 6:
        raise SystemExit(f"approval without a proper RRN/auth code: {approved}")
    for echoed in ("3", "4", "7", "11", "41", "42", "49"):
        if approved.get(echoed) != p[echoed]:
            raise SystemExit(f"DE {echoed} not echoed: {approved}")

    again = c.exchange(p)
    expect("identical retransmission", again, "00", "0210")
    if (again.get("37"), again.get("38")) != (rrn, auth):
        raise SystemExit("the retransmission got a new RRN or auth code")
    expect("same key, other content", c.exchange(dict(p, **{"4": "000000020000"})), "94", "0210")

    refund = dict(purchase, **{"3": "200000", "4": "000000004000", "37": rrn, "11": c.next_stan()})
    expect("refund of 40.00", c.exchange(refund), "00", "0210")
    refund = dict(refund, **{"4": "000000007000", "11": c.next_stan()})
    expect("refund over what is left", c.exchange(refund), "13", "0210")

    p2 = dict(purchase, **{"11": c.next_stan(), "4": "000000000500"})
    expect("second purchase", c.exchange(p2), "00", "0210")
    reversal = {"t": "0400", "3": "000000", "4": "000000000500", "7": t7, "11": c.next_stan(),
                "41": "10000001", "42": "MTB000000000001", "49": "933",
                "90": "0200" + p2["11"] + p2["7"] + "0" * 22}
    expect("reversal", c.exchange(reversal), "00", "0410")
    expect("reversal again", c.exchange(dict(reversal, **{"11": c.next_stan()})), "00", "0410")

    expect("issuer: insufficient funds", c.exchange(dict(purchase, **{"11": c.next_stan(), "4": "000000001051"})), "51", "0210")
    expect("invalid card number", c.exchange(dict(purchase, **{"11": c.next_stan(), "2": "4276550012341234"})), "14", "0210")
    expect("foreign terminal", c.exchange(dict(purchase, **{"11": c.next_stan(), "41": "20000001"})), "03", "0210")
    expect("sign-off", c.exchange({"t": "0800", "7": t7, "11": c.next_stan(), "70": "002"}), "00", "0810")
    expect("purchase after sign-off", c.exchange(dict(purchase, **{"11": c.next_stan()})), "63", "0210")
    print("pyiso8583 client: all answers agree with the host interface")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""TLS probes against a running `mpos serve` with Python's own `ssl` module
(OpenSSL, not ours) and pyiso8583: host-interface.md section 8 seen from
an independent client. Every command prints one line and exits 0 whatever
the host answered; the Rust test decides what the line must be.

  sign-on ADDR CA SERIAL PASSWORD [CERT KEY]
      TLS (mutual with CERT/KEY), then an 0800 sign-on: "<DE 39> <version>",
      or "refused: <why>" when no answer comes (handshake failed, closed).
  old-version ADDR CA
      offers TLS 1.1 at most: "refused: <why>" or "connected <version>".
  fingerprint ADDR CA
      the SHA-256 of the certificate the host shows, in hex.
  hold ADDR CA SERIAL PASSWORD
      signs on and prints "signed-on <fingerprint>", waits for a line on
      stdin, then sends an echo on the same connection: "echo <DE 39>".
"""

import hashlib
import os
import socket
import ssl
import sys
from datetime import datetime, timezone

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pyiso8583_client import Client, tls_context  # noqa: E402


def de7():
    return datetime.now(timezone.utc).strftime("%m%d%H%M%S")


def sign_on(client, serial, password):
    return client.exchange({"t": "0800", "7": de7(), "11": client.next_stan(),
                            "48": password, "62": serial, "70": "001"})


def fingerprint(client):
    return hashlib.sha256(client.sock.getpeercert(binary_form=True)).hexdigest()


def refused(error):
    print(f"refused: {type(error).__name__}: {error}".replace("\n", " "))


def main():
    if len(sys.argv) < 4:
        raise SystemExit(__doc__)
    command, address, ca = sys.argv[1:4]
    rest = sys.argv[4:]
    try:
        if command == "sign-on":
            serial, password = rest[0], rest[1]
            cert, key = (rest[2], rest[3]) if len(rest) == 4 else (None, None)
            client = Client(address, tls_context(ca, cert, key))
            answer = sign_on(client, serial, password)
            print(answer.get("39"), client.sock.version())
        elif command == "old-version":
            client = Client(address, tls_context(ca, maximum=ssl.TLSVersion.TLSv1_1))
            print("connected", client.sock.version())
        elif command == "fingerprint":
            print(fingerprint(Client(address, tls_context(ca))))
        elif command == "hold":
            client = Client(address, tls_context(ca))
            answer = sign_on(client, rest[0], rest[1])
            if answer.get("39") != "00":
                raise SystemExit(f"sign-on answered {answer.get('39')}")
            print("signed-on", fingerprint(client), flush=True)
            sys.stdin.readline()
            echo = client.exchange({"t": "0800", "7": de7(), "11": client.next_stan(), "70": "301"})
            print("echo", echo.get("39"))
        else:
            raise SystemExit(__doc__)
    except (OSError, SystemExit) as error:
        if isinstance(error, SystemExit) and error.code == __doc__:
            raise
        refused(error)


if __name__ == "__main__":
    main()

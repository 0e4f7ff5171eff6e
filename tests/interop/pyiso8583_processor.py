#!/usr/bin/env python3
"""A card processor that is not ours: built on pyiso8583 (not on our codec),
it speaks shared/spec/upstream-interface.md to `mpos serve` in upstream mode,
so the whole-system tests (tests/upstream.rs) can check the host against it.

It records every message it receives as one JSON line in RECORD
({"conn": N, "mti": "0200", "fields": {"2": "...", ...}}) and decides by
the amount's last two digits:

  51 -> 51, 05 -> 05 (declines)     77 -> "N7" (an unusual code, relayed as is)
  91 -> silent (never answers)      92 -> answers 00 after --late-ms
  93 -> closes the connection without answering (the host reconnects)
  anything else -> 00 with DE 38 = "A1B2C3"

0800 sign-ons and echoes are answered 00. Advices (0420/0421) are
acknowledged with 0430, unless the CONTROL file (read on every message)
says {"advices": "ignore"}; {"sign_on": "refuse"} answers sign-ons 91.
After each sign-on it sends the host an 0800 echo of its own (DE 11
900001, 900002...) and records the 0810 it gets back.

With --tls-cert and --tls-key it speaks TLS (Python's ssl), and with
--client-ca it requires a client certificate from that CA; each record then
carries the TLS version ("tls") and the client certificate's CN ("peer").

Usage: pyiso8583_processor.py --record FILE [--control FILE] [--late-ms N] [--port N]
                              [--tls-cert FILE --tls-key FILE [--client-ca FILE]]
Prints "listening 127.0.0.1:PORT" once it accepts connections.
"""

import argparse
import json
import os
import socket
import ssl
import struct
import sys
import threading
import time
from datetime import datetime, timezone

import iso8583
from iso8583.specs import default_ascii as SPEC

LOCK = threading.Lock()
ECHO_STAN = [900000]


def control(path):
    if not path or not os.path.exists(path):
        return {}
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return {}


def record(path, conn, doc, tls=None):
    fields = {k: v for k, v in doc.items() if k not in ("t", "p", "s", "h", "1")}
    entry = {"conn": conn, "mti": doc.get("t"), "fields": fields}
    entry.update(tls or {})
    line = json.dumps(entry)
    with LOCK:
        with open(path, "a") as f:
            f.write(line + "\n")


class Connection:
    def __init__(self, sock, number, args):
        self.sock = sock
        self.number = number
        self.args = args
        self.write_lock = threading.Lock()
        self.tls = None

    def send(self, doc):
        raw, _ = iso8583.encode(dict(doc), SPEC)
        with self.write_lock:
            self.sock.sendall(struct.pack(">H", len(raw)) + bytes(raw))

    def read_exact(self, n):
        data = b""
        while len(data) < n:
            chunk = self.sock.recv(n - len(data))
            if not chunk:
                return None
            data += chunk
        return data

    def answer(self, request, mti, code, echo, extra=None):
        doc = {"t": mti, "39": code}
        for field in echo:
            if field in request:
                doc[field] = request[field]
        doc.update(extra or {})
        self.send(doc)

    def own_echo(self):
        with LOCK:
            ECHO_STAN[0] += 1
            stan = f"{ECHO_STAN[0]:06d}"
        now = datetime.now(timezone.utc).strftime("%m%d%H%M%S")
        self.send({"t": "0800", "7": now, "11": stan, "70": "301"})

    def serve(self):
        while True:
            header = self.read_exact(2)
            if header is None:
                return
            (length,) = struct.unpack(">H", header)
            body = self.read_exact(length)
            if body is None:
                return
            doc, _ = iso8583.decode(body, SPEC)
            record(self.args.record, self.number, doc, self.tls)
            if not self.handle(doc):
                return

    def handle(self, doc):
        """Answers one message; False to close the connection."""
        mti = doc["t"]
        settings = control(self.args.control)
        if mti == "0800":
            code = "91" if doc.get("70") == "001" and settings.get("sign_on") == "refuse" else "00"
            self.answer(doc, "0810", code, ("7", "11", "70"))
            if doc.get("70") == "001" and code == "00":
                self.own_echo()
            return True
        if mti == "0810":
            return True  # the answer to our own echo: recorded
        if mti in ("0420", "0421"):
            if settings.get("advices") == "ignore":
                return True
            self.answer(doc, "0430", "00", ("3", "4", "7", "11", "32", "37", "41", "42", "49", "90"))
            return True
        if mti == "0200":
            ending = doc.get("4", "00")[-2:]
            echo = ("3", "4", "7", "11", "12", "13", "32", "37", "41", "42", "49")
            if ending == "91":
                return True
            if ending == "93":
                return False
            if ending == "92":
                def late():
                    time.sleep(self.args.late_ms / 1000)
                    try:
                        self.answer(doc, "0210", "00", echo, {"38": "LATE01"})
                    except OSError:
                        pass
                threading.Thread(target=late, daemon=True).start()
                return True
            code = {"51": "51", "05": "05", "77": "N7"}.get(ending, "00")
            extra = {"38": "A1B2C3"} if code == "00" else {}
            self.answer(doc, "0210", code, echo, extra)
            return True
        print(f"unexpected {mti}", file=sys.stderr)
        return True


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--record", required=True)
    parser.add_argument("--control")
    parser.add_argument("--late-ms", type=int, default=3000)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--tls-cert")
    parser.add_argument("--tls-key")
    parser.add_argument("--client-ca")
    args = parser.parse_args()
    context = None
    if args.tls_cert:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(args.tls_cert, args.tls_key)
        if args.client_ca:
            context.verify_mode = ssl.CERT_REQUIRED
            context.load_verify_locations(args.client_ca)
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", args.port))
    server.listen(16)
    print(f"listening 127.0.0.1:{server.getsockname()[1]}", flush=True)
    number = 0
    while True:
        sock, _ = server.accept()
        number += 1
        conn = Connection(sock, number, args)

        def run(conn=conn):
            try:
                if context is not None:
                    conn.sock.settimeout(10)
                    conn.sock = context.wrap_socket(conn.sock, server_side=True)
                    conn.sock.settimeout(None)
                    peer = conn.sock.getpeercert() or {}
                    cn = [v for rdn in peer.get("subject", ()) for (k, v) in rdn if k == "commonName"]
                    conn.tls = {"tls": conn.sock.version(), "peer": cn[0] if cn else None}
                conn.serve()
            except (OSError, ValueError, ssl.SSLError) as error:
                print(f"connection {conn.number}: {error}", file=sys.stderr)
            finally:
                conn.sock.close()

        threading.Thread(target=run, daemon=True).start()


if __name__ == "__main__":
    main()

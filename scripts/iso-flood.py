#!/usr/bin/env python3
"""Hold N idle ISO 8583 connections that never sign on, as an attacker
would, for BENCHMARKS.md ("The host beside a connection flood").

Opens N connections to the host, sends nothing, and keeps them open for
DURATION seconds. A connection the host closes (past the quarter of
[host] max_connections that may be unsigned, or at the sign-on deadline)
is opened again after REOPEN seconds, so the flood stays at N attempts
all along. Prints one JSON line at the end: how many were held at the
end, how many connects were made and how many the host closed.

Python standard library only (sockets and selectors).

Usage: scripts/iso-flood.py HOST:PORT [--connections 3000]
       [--duration 24] [--reopen 1.0]
"""

import argparse
import json
import resource
import selectors
import socket
import sys
import time


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("address", help="the host's ISO 8583 address, HOST:PORT")
    parser.add_argument("--connections", type=int, default=3000)
    parser.add_argument("--duration", type=float, default=24.0)
    parser.add_argument("--reopen", type=float, default=1.0,
                        help="seconds before a closed connection is opened again")
    args = parser.parse_args()
    host, port = args.address.rsplit(":", 1)
    target = (host, int(port))

    # Every connection is an open file.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = args.connections + 64
    if soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(wanted, hard), hard))

    selector = selectors.DefaultSelector()
    connects = closed = failed = 0
    reopen_at = []  # times at which a closed slot is opened again

    def open_one() -> None:
        nonlocal connects, failed
        try:
            sock = socket.create_connection(target, timeout=5)
        except OSError:
            failed += 1
            reopen_at.append(time.monotonic() + args.reopen)
            return
        sock.setblocking(False)
        selector.register(sock, selectors.EVENT_READ)
        connects += 1

    for _ in range(args.connections):
        open_one()
    end = time.monotonic() + args.duration
    while time.monotonic() < end:
        for key, _ in selector.select(timeout=0.05):
            sock = key.fileobj
            try:
                data = sock.recv(1)
            except OSError:
                data = b""
            if not data:  # closed by the host (the flood never sends)
                selector.unregister(sock)
                sock.close()
                closed += 1
                reopen_at.append(time.monotonic() + args.reopen)
        now = time.monotonic()
        due = [t for t in reopen_at if t <= now]
        reopen_at[:] = [t for t in reopen_at if t > now]
        for _ in due:
            open_one()
    held = len(selector.get_map())
    print(json.dumps({
        "connections": args.connections,
        "held_at_end": held,
        "connects": connects,
        "closed_by_host": closed,
        "connect_failures": failed,
        "duration_s": args.duration,
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Holds N idle TCP connections to an HTTP listener, as an attacker's flood
(issue 11): each connects and sends nothing. Connections the server cannot
take yet stay in its backlog or keep retrying their SYN; the script never
blocks on one. Prints how many completed their handshake and how many the
server closed, every 5 s, until --seconds have passed.

Usage: scripts/http-flood.py 127.0.0.1:18080 --connections 4000 --seconds 60
"""

import argparse
import errno
import resource
import selectors
import socket
import time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("address", help="host:port of the HTTP listener")
    parser.add_argument("--connections", type=int, default=4000)
    parser.add_argument("--seconds", type=float, default=60)
    args = parser.parse_args()
    host, port = args.address.rsplit(":", 1)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = args.connections + 64
    if soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(wanted, hard), hard))

    selector = selectors.DefaultSelector()
    pending = 0
    for _ in range(args.connections):
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setblocking(False)
        code = sock.connect_ex((host, int(port)))
        if code not in (0, errno.EINPROGRESS):
            sock.close()
            continue
        selector.register(sock, selectors.EVENT_WRITE, "connecting")
        pending += 1

    connected = closed = 0
    deadline = time.monotonic() + args.seconds
    next_report = time.monotonic()
    while time.monotonic() < deadline:
        for key, _ in selector.select(timeout=0.5):
            sock = key.fileobj
            if key.data == "connecting":
                if sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) != 0:
                    selector.unregister(sock)
                    sock.close()
                    continue
                connected += 1
                selector.modify(sock, selectors.EVENT_READ, "held")
            else:
                # Readable on a held connection: the server closed it.
                try:
                    data = sock.recv(4096)
                except OSError:
                    data = b""
                if not data:
                    closed += 1
                    selector.unregister(sock)
                    sock.close()
        if time.monotonic() >= next_report:
            print(f"flood: {connected} connected, {closed} closed by the server", flush=True)
            next_report += 5
    print(f"flood: {connected} connected, {closed} closed by the server", flush=True)


if __name__ == "__main__":
    main()

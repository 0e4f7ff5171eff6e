#!/usr/bin/env python3
"""A login sprayer for the cabinet's benchmark (scripts/bench-login-spray.sh).

Each of --clients threads, for --duration seconds, shows the login form
(GET /login, for its signed CSRF cookie) and posts a wrong password for an
ever-new e-mail, one request per connection. With --addresses N the
connections come from N loopback source addresses (127.0.1.1, 127.0.1.2,
...; Linux routes all of 127/8 to lo), so the per-address limit of 20
failures a minute meets ever-new addresses and every login costs a hash on
the shared pool; with 1 they all come from 127.0.0.1 and are answered 429
after the first 20. Prints one JSON line: attempts per status, logins/s.
Standard library only.
"""

import argparse
import http.client
import itertools
import json
import threading
import time
import urllib.parse
from collections import Counter


def source(n, addresses):
    if addresses <= 1:
        return "127.0.0.1"
    k = n % addresses + 1
    return f"127.0.{1 + k // 250}.{1 + k % 250}"


def attempt(host, port, src, n):
    def connect():
        return http.client.HTTPConnection(host, port, timeout=30, source_address=(src, 0))

    c = connect()
    c.request("GET", "/login")
    page = c.getresponse()
    page.read()
    cookie = ""
    for name, value in page.getheaders():
        if name.lower() == "set-cookie" and value.startswith("mpos_csrf="):
            cookie = value.split(";", 1)[0]
    c.close()
    token = cookie.split("=", 1)[1] if cookie else ""
    body = urllib.parse.urlencode(
        {"email": f"spray-{n}@example.test", "password": "wrong-pass-1", "csrf_token": token}
    )
    c = connect()
    c.request(
        "POST",
        "/login",
        body,
        {"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie},
    )
    answer = c.getresponse()
    answer.read()
    c.close()
    return answer.status


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--http", default="127.0.0.1:8080")
    p.add_argument("--clients", type=int, default=8)
    p.add_argument("--addresses", type=int, default=1)
    p.add_argument("--duration", type=float, default=20)
    a = p.parse_args()
    host, port = a.http.rsplit(":", 1)
    counts, lock = Counter(), threading.Lock()
    numbers = itertools.count()
    deadline = time.monotonic() + a.duration

    def client():
        while time.monotonic() < deadline:
            n = next(numbers)
            try:
                status = str(attempt(host, int(port), source(n, a.addresses), n))
            except OSError as e:
                status = type(e).__name__
            with lock:
                counts[status] += 1

    start = time.monotonic()
    threads = [threading.Thread(target=client) for _ in range(a.clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - start
    total = sum(counts.values())
    print(json.dumps({"attempts": dict(counts), "per_second": round(total / elapsed, 1)}))


if __name__ == "__main__":
    main()

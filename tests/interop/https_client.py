"""An HTTPS client that is not ours, for tests/https.rs: Python's ssl module
(OpenSSL) and http.client, trusting only the CA file it is given.

Usage: https_client.py CA HOST PORT [--max-version TLSv1_1|TLSv1_2]

Connects and handshakes at once, then prints one JSON line:
  {"connected": true, "version": "TLSv1.3", "alpn": "http/1.1", "cert": SHA256, "local": PORT}
or, when the handshake fails,
  {"connected": false, "error": "..."}
and exits. After a successful handshake it reads requests from its standard
input, one JSON object a line ({"method", "path", "cookie", "form"}), sends
each on the same kept-alive connection and prints the answer as one JSON
line: {"status", "headers": [[name, value], ...], "body", "version",
"cert", "local"}, where "cert" is the SHA-256 of the server certificate the
connection was opened with and "local" the client's port (the same port is
the same connection). It ends when its standard input closes.

--max-version TLSv1_1 offers TLS 1.1 at most, with every cipher allowed
(@SECLEVEL=0), as an old client would: the server must refuse it.
--max-version TLSv1_2 offers TLS 1.2 at most, which the server serves.
"""

import hashlib
import http.client
import json
import ssl
import sys
import warnings


def main():
    ca, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.load_verify_locations(cafile=ca)
    context.set_alpn_protocols(["http/1.1"])
    if "--max-version" in sys.argv:
        wanted = sys.argv[sys.argv.index("--max-version") + 1]
        # Python warns that TLS 1.1 is deprecated: that is the point.
        warnings.simplefilter("ignore", DeprecationWarning)
        context.minimum_version = ssl.TLSVersion.MINIMUM_SUPPORTED
        context.maximum_version = getattr(ssl.TLSVersion, wanted)
        context.set_ciphers("ALL:@SECLEVEL=0")
    connection = http.client.HTTPSConnection(host, port, context=context, timeout=30)
    # A connection that drops must not be opened again behind the test's
    # back: "local" would change, but better to fail loudly.
    connection.auto_open = 0
    try:
        connection.connect()
    except (ssl.SSLError, OSError) as error:
        print(json.dumps({"connected": False, "error": str(error)}), flush=True)
        return
    tls = connection.sock

    def described():
        return {
            "version": tls.version(),
            "alpn": tls.selected_alpn_protocol(),
            "cert": hashlib.sha256(tls.getpeercert(binary_form=True)).hexdigest(),
            "local": tls.getsockname()[1],
        }

    print(json.dumps({"connected": True, **described()}), flush=True)
    for line in sys.stdin:
        request = json.loads(line)
        headers = {}
        if request.get("cookie"):
            headers["Cookie"] = request["cookie"]
        body = request.get("form")
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            body = body.encode()
        try:
            connection.request(request["method"], request["path"], body=body, headers=headers)
            response = connection.getresponse()
            text = response.read().decode()
        except (http.client.HTTPException, OSError) as error:
            print(json.dumps({"error": repr(error)}), flush=True)
            continue
        print(
            json.dumps(
                {
                    "status": response.status,
                    "headers": [[k.lower(), v] for k, v in response.getheaders()],
                    "body": text,
                    **described(),
                }
            ),
            flush=True,
        )


main()

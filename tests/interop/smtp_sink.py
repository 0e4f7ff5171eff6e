"""A real SMTP server for tests/mail_smtp.rs, built on aiosmtpd.

Usage: smtp_sink.py FOLDER

Listens on 127.0.0.1 on a port the system picks, prints
"SMTP sink listening on 127.0.0.1:PORT" once it accepts connections, and
saves every message it is given as FOLDER/N.eml (the bytes as received) and
FOLDER/N.json (the envelope and the message as Python's email package reads
it: headers decoded, the plain-text body decoded from its transfer encoding).
Each file appears whole (written aside, then renamed), so a reader polling
FOLDER never sees half of one. It stops when its standard input closes or on
SIGTERM, so it cannot outlive the test that started it.
"""

import asyncio
import email
import email.policy
import json
import os
import signal
import sys
import threading

try:
    from aiosmtpd.smtp import SMTP
except ImportError:
    sys.stderr.write(
        "aiosmtpd is missing: run scripts/install-test-deps.sh "
        "(it installs scripts/requirements-test.txt into .venv)\n"
    )
    sys.exit(3)


def write_whole(path, data):
    aside = path + ".part"
    with open(aside, "wb") as out:
        out.write(data)
    os.replace(aside, path)


class Sink:
    def __init__(self, folder):
        self.folder = folder
        self.count = 0

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        raw = envelope.original_content or envelope.content
        message = email.message_from_bytes(raw, policy=email.policy.default)
        body = message.get_body(preferencelist=("plain",))
        record = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": list(envelope.rcpt_tos),
            "mail_options": list(envelope.mail_options),
            "from": str(message["From"]),
            "to": str(message["To"]),
            "subject": str(message["Subject"]),
            "content_type": message.get_content_type(),
            "charset": body.get_content_charset() if body is not None else None,
            "transfer_encoding": str(body["Content-Transfer-Encoding"] or "")
            if body is not None
            else "",
            "text": body.get_content() if body is not None else None,
        }
        base = os.path.join(self.folder, str(self.count))
        write_whole(base + ".eml", raw)
        write_whole(base + ".json", json.dumps(record, ensure_ascii=False).encode("utf-8"))
        return "250 Message accepted for delivery"


async def main(folder):
    loop = asyncio.get_running_loop()
    sink = Sink(folder)
    server = await loop.create_server(
        lambda: SMTP(sink, hostname="smtp-sink.test"), host="127.0.0.1", port=0
    )
    port = server.sockets[0].getsockname()[1]
    stop = asyncio.Event()

    def wait_for_stdin_to_close():
        sys.stdin.read()
        loop.call_soon_threadsafe(stop.set)

    threading.Thread(target=wait_for_stdin_to_close, daemon=True).start()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    print(f"SMTP sink listening on 127.0.0.1:{port}", flush=True)
    await stop.wait()
    server.close()
    await server.wait_closed()


if __name__ == "__main__":
    if len(sys.argv) != 2 or not os.path.isdir(sys.argv[1]):
        sys.stderr.write("usage: smtp_sink.py FOLDER (an existing folder)\n")
        sys.exit(2)
    asyncio.run(main(sys.argv[1]))

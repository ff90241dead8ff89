"""A loopback SMTP server for auth-core's SMTP test (tests/smtp.rs) and the
contract suite's mail-queue crash case (examples/contract-suite).

    python3 smtp_capture.py <folder> [<user> <password>]

Listens on 127.0.0.1 on a free port (or on $SMTP_CAPTURE_PORT when set),
prints the port on the first line of stdout, and writes each message it
receives to <folder>/<n>.json (through a temporary name, so a reader never
sees half a file): the envelope, the decoded headers and the decoded text.
With a user and password it requires AUTH (PLAIN or LOGIN; allowed without
TLS, it is loopback) and refuses other credentials with 535. It exits when
its stdin closes, so it does not outlive the test that started it.
"""

import asyncio
import email
import email.policy
import json
import logging
import os
import sys
import warnings

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword


class Store:
    def __init__(self, folder):
        self.folder = folder
        self.count = 0

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        record = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "headers": {name: str(value) for name, value in message.items()},
            "text": message.get_content(),
            "login": session.auth_data.decode() if isinstance(session.auth_data, bytes) else None,
        }
        self.count += 1
        temp = os.path.join(self.folder, f".{self.count}.tmp")
        with open(temp, "w", encoding="utf-8") as file:
            json.dump(record, file)
        os.rename(temp, os.path.join(self.folder, f"{self.count:04}.json"))
        return "250 OK"


def authenticator_for(user, password):
    def authenticate(server, session, envelope, mechanism, auth_data):
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login == user
            and auth_data.password == password
        )
        if ok:
            return AuthResult(success=True, auth_data=auth_data.login)
        # Not handled: aiosmtpd then answers 535 itself.
        return AuthResult(success=False, handled=False)

    return authenticate


async def main():
    # AUTH without TLS is the point here (loopback only): no warning about it.
    warnings.simplefilter("ignore")
    logging.getLogger("mail.log").setLevel(logging.ERROR)
    folder = sys.argv[1]
    options = {"hostname": "localhost"}
    if len(sys.argv) == 4:
        options.update(
            authenticator=authenticator_for(sys.argv[2].encode(), sys.argv[3].encode()),
            auth_required=True,
            auth_require_tls=False,
        )
    store = Store(folder)
    loop = asyncio.get_running_loop()
    port = int(os.environ.get("SMTP_CAPTURE_PORT", "0"))
    server = await loop.create_server(lambda: SMTP(store, **options), "127.0.0.1", port)
    print(server.sockets[0].getsockname()[1], flush=True)
    await loop.run_in_executor(None, sys.stdin.read)
    server.close()


asyncio.run(main())

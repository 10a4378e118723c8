"""A real SMTP server for Mend's tests (aiosmtpd). Every accepted message is written to
DIR as NNN.eml plus NNN.json (envelope and the time DATA was accepted), each renamed into
place complete. While DIR/reject exists, DATA is answered 550 (a permanent refusal).

usage: python3 smtp_sink.py PORT DIR      prints "ready" once it listens
"""
import asyncio
import itertools
import json
import os
import sys
import time

from aiosmtpd.controller import Controller


class Sink:
    def __init__(self, directory):
        self.directory = directory
        self.counter = itertools.count(1)

    async def handle_DATA(self, server, session, envelope):
        if os.path.exists(os.path.join(self.directory, "reject")):
            return "550 5.7.1 Mailbox unavailable (rejected by the test)"
        n = next(self.counter)
        name = os.path.join(self.directory, f"{n:06d}")
        meta = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "accepted_at": time.time(),
        }
        with open(name + ".eml.tmp", "wb") as f:
            f.write(envelope.original_content or envelope.content)
        os.rename(name + ".eml.tmp", name + ".eml")
        with open(name + ".json.tmp", "w") as f:
            json.dump(meta, f)
        os.rename(name + ".json.tmp", name + ".json")
        return "250 OK"


def main():
    port, directory = int(sys.argv[1]), sys.argv[2]
    os.makedirs(directory, exist_ok=True)
    controller = Controller(Sink(directory), hostname="127.0.0.1", port=port)
    controller.start()
    print("ready", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        controller.stop()


if __name__ == "__main__":
    main()

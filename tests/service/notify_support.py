"""Helpers for notify tests: a real SMTP server (aiosmtpd, in its own process), a webhook
receiver that checks signatures, publishing envelopes as a source service would (built with
the publishers' real ``EVENTS`` catalogs, see ``tests/unit/notify_payloads.py``), and
reading ``/metrics``."""

import email
import email.policy
import json
import mailbox
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import requests
from kombu import Connection, Exchange, Producer
from prometheus_client.parser import text_string_to_metric_families

from services.chassis.events import EventCatalog
from services.notify import domain
from services.notify.channels import SIGNATURE_HEADER, TIMESTAMP_HEADER
from tests.conftest import free_port, service_config
from tests.unit.notify_payloads import (  # noqa: F401 - the publishers' catalogs, re-exported
    MEETINGS,
    PETITIONS,
    SUPERVISION,
    envelope,
    payload,
)


def publish(amqp_uri: str, catalog: EventCatalog, event: dict) -> None:
    """Publish like the source's relay: topic exchange ``<source>.events``, key = type."""
    with Connection(amqp_uri) as connection:
        exchange = Exchange(catalog.exchange(), type="topic", durable=True)
        producer = Producer(connection.channel(), exchange=exchange)
        producer.publish(json.dumps(event, ensure_ascii=False), routing_key=event["type"],
                         content_type="application/json", content_encoding="utf-8",
                         delivery_mode=2, declare=[exchange])


# --- SMTP ---------------------------------------------------------------------------------

class SmtpServer:
    """``aiosmtpd`` with the Maildir handler, in a child process (clean of eventlet)."""

    def __init__(self, directory: Path):
        self.directory = directory
        self.port = free_port()
        self.process = None

    def __enter__(self):
        self.process = subprocess.Popen(  # noqa: S603 - a fixed command line
            [sys.executable, "-m", "aiosmtpd", "-n", "-l", f"127.0.0.1:{self.port}",
             "-c", "aiosmtpd.handlers.Mailbox", str(self.directory)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 15
        import socket

        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return self
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("aiosmtpd did not start")

    def __exit__(self, *exc):
        self.process.terminate()
        self.process.wait(10)

    def messages(self) -> list[tuple[bytes, email.message.EmailMessage]]:
        """(raw bytes, parsed with the modern policy) of every message received."""
        if not (self.directory / "new").exists():
            return []
        box = mailbox.Maildir(self.directory, create=False)
        out = []
        for key in box.keys():
            raw = box.get_bytes(key)
            out.append((raw, email.message_from_bytes(raw, policy=email.policy.default)))
        return out

    def settings(self) -> dict:
        return {"host": "127.0.0.1", "port": self.port, "tls": "none",
                "sender": "yuelihui@test.local", "timeout": 5}


# --- webhooks -----------------------------------------------------------------------------

class WebhookReceiver:
    """An agency's endpoint: verifies the signature, answers from ``script`` (then 200)."""

    def __init__(self, script=()):
        self.script = list(script)
        self.secret = None
        self.calls: list[dict] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                timestamp = self.headers.get(TIMESTAMP_HEADER, "")
                signature = self.headers.get(SIGNATURE_HEADER, "")
                verified = bool(receiver.secret) and domain.verify(receiver.secret, timestamp,
                                                                   body, signature)
                status = receiver.script.pop(0) if receiver.script else 200
                if not verified:
                    status = 401
                receiver.calls.append({"at": time.monotonic(), "status": status,
                                       "verified": verified, "body": body})
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    def delivered(self) -> list[dict]:
        return [c for c in self.calls if c["status"] == 200]


# --- config and metrics -------------------------------------------------------------------

def notify_config(rabbit_config, database_url, tmp_path, smtp: SmtpServer | None = None,
                  **extra) -> dict:
    config = service_config(
        rabbit_config, database_url,
        DELIVERY={"interval": 0.1, "attempts": 3, "backoff": 0.2, "max_backoff": 2,
                  "lease": 30, "batch": 50},
        WEBHOOKS={"interval": 0.1, "attempts": 8, "backoff": 0.2, "max_backoff": 2,
                  "suspend_after": 4, "timeout": 3},
        DIGEST={"interval": 3600, "hour": 18},
        SMTP=smtp.settings() if smtp else {"host": "127.0.0.1", "port": free_port()},
        SMS={"backend": "file", "path": str(tmp_path / "sms.jsonl")},
    )
    config.update(extra)
    return config


def sms_lines(config: dict) -> list[dict]:
    path = Path(config["SMS"]["path"])
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text("utf-8").splitlines() if line]


def scrape(config: dict) -> dict:
    """``{(sample name, frozenset(labels)): value}`` from the service's ``/metrics``."""
    text = requests.get(f"http://{config['WEB_SERVER_ADDRESS']}/metrics", timeout=5).text
    samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return samples


def metric(samples: dict, name: str, **labels) -> float:
    """Sum of the samples of ``name`` whose labels include ``labels``."""
    wanted = set(labels.items())
    return sum(value for (sample, sample_labels), value in samples.items()
               if sample == name and wanted <= set(sample_labels))


def seed_contacts(engine, people: dict, villages: dict | None = None) -> None:
    """Put registry answers in notify's cache, as if fetched just now (service tier)."""
    from services.chassis.store import transaction
    from services.notify import commands

    with transaction(engine) as tx:
        commands.store_fetched(tx.session, people, villages or {}, datetime.now(UTC))

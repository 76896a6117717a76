"""Outward channels: e-mail over SMTP, the SMS adapter (HTTP gateway or development file
sink) and signed agency webhooks. Each ``send`` raises ``DeliveryFailed`` with a reason that
names no address or phone number (it is stored and may be logged)."""

import json
import smtplib
import ssl
import threading
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path

import requests

from services.chassis import clock
from services.chassis.config import ROOT
from services.notify import domain

SIGNATURE_HEADER = "X-Yuelihui-Signature"
TIMESTAMP_HEADER = "X-Yuelihui-Timestamp"
EVENT_ID_HEADER = "X-Yuelihui-Event-Id"
SUBSCRIPTION_HEADER = "X-Yuelihui-Subscription"


class DeliveryFailed(Exception):
    """A channel could not deliver; the message is safe to store (no personal data)."""


def describe(exc: BaseException) -> str:
    """A reason without addresses: SMTP errors carry recipients in their arguments."""
    if isinstance(exc, smtplib.SMTPResponseException):
        return f"{type(exc).__name__}: SMTP {exc.smtp_code}"
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return "SMTPRecipientsRefused"
    if isinstance(exc, requests.RequestException):
        return type(exc).__name__
    if isinstance(exc, DeliveryFailed):
        return str(exc)[:500]
    return type(exc).__name__


class EmailSender:
    """``SMTP: {host, port, tls: none|starttls|ssl, username, password, sender, timeout}``."""

    def __init__(self, settings: dict):
        self.host = settings.get("host", "127.0.0.1")
        self.port = int(settings.get("port", 25))
        self.tls = str(settings.get("tls", "none")).lower()
        self.username = settings.get("username") or None
        self.password = settings.get("password") or None
        self.sender = settings.get("sender", "yuelihui@localhost")
        self.timeout = float(settings.get("timeout", 10))

    def message(self, to: str, subject: str, body: str) -> EmailMessage:
        message = EmailMessage()  # policy "default": RFC 2047 encoded-words for the subject
        message["Subject"] = subject
        message["From"] = self.sender
        message["To"] = to
        message["Date"] = formatdate(localtime=False)
        message["Message-ID"] = make_msgid(domain="yuelihui")
        message.set_content(body, charset="utf-8")
        return message

    def send(self, to: str, subject: str, body: str) -> None:
        message = self.message(to, subject, body)
        try:
            if self.tls == "ssl":
                client = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout,
                                          context=ssl.create_default_context())
            else:
                client = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
            with client:
                if self.tls == "starttls":
                    client.starttls(context=ssl.create_default_context())
                if self.username:
                    client.login(self.username, self.password or "")
                client.send_message(message)
        except (smtplib.SMTPException, OSError) as exc:
            raise DeliveryFailed(describe(exc)) from exc


class FileSmsSink:
    """Development SMS: one JSON line per message in a file (default ``var/sms.jsonl``)."""

    _lock = threading.Lock()

    def __init__(self, path: str):
        self.path = Path(path)
        if not self.path.is_absolute():
            self.path = ROOT / self.path

    def send(self, phone: str, text: str) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        line = json.dumps({"at": clock.now().isoformat(), "to": phone, "text": text},
                          ensure_ascii=False)
        with self._lock, self.path.open("a", encoding="utf-8") as stream:
            stream.write(line + "\n")


class HttpSmsGateway:
    """An SMS gateway's HTTP API: ``POST url`` with ``{"to", "text"}`` and a bearer key."""

    def __init__(self, url: str, key: str, timeout: float = 10):
        self.url, self.key, self.timeout = url, key, timeout

    def send(self, phone: str, text: str) -> None:
        try:
            response = requests.post(self.url, json={"to": phone, "text": text},
                                     headers={"Authorization": f"Bearer {self.key}"},
                                     timeout=self.timeout)
        except requests.RequestException as exc:
            raise DeliveryFailed(describe(exc)) from exc
        if not 200 <= response.status_code < 300:
            raise DeliveryFailed(f"SMS gateway answered HTTP {response.status_code}")


def sms_adapter(settings: dict):
    """``SMS: {backend: file|http, path, url, key, timeout}``."""
    backend = str(settings.get("backend", "file")).lower()
    if backend == "http":
        return HttpSmsGateway(settings["url"], settings.get("key", ""),
                              float(settings.get("timeout", 10)))
    if backend == "file":
        return FileSmsSink(settings.get("path", "var/sms.jsonl"))
    raise ValueError(f"unknown SMS backend {backend!r}")


def post_webhook(url: str, secret: str, subscription_id: str, event_id: str, body: bytes,
                 timeout: float) -> int:
    """POST the envelope, signed; returns the status code or raises ``DeliveryFailed``."""
    timestamp = str(int(clock.now().timestamp()))
    headers = {
        "Content-Type": "application/cloudevents+json; charset=utf-8",
        TIMESTAMP_HEADER: timestamp,
        SIGNATURE_HEADER: domain.sign(secret, timestamp, body),
        EVENT_ID_HEADER: event_id,
        SUBSCRIPTION_HEADER: subscription_id,
    }
    try:
        response = requests.post(url, data=body, headers=headers, timeout=timeout,
                                 allow_redirects=False)
    except requests.RequestException as exc:
        raise DeliveryFailed(describe(exc)) from exc
    if not 200 <= response.status_code < 300:
        raise DeliveryFailed(f"HTTP {response.status_code}")
    return response.status_code

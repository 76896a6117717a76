"""Channel adapters against real servers: the HTTP SMS gateway and SMTP."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from services.notify.channels import DeliveryFailed, EmailSender, HttpSmsGateway, sms_adapter
from tests.conftest import free_port
from tests.service.notify_support import SmtpServer

pytestmark = pytest.mark.service


class SmsGateway:
    def __init__(self, statuses):
        self.statuses, self.received = list(statuses), []
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                gateway.received.append((self.headers["Authorization"], body))
                self.send_response(gateway.statuses.pop(0) if gateway.statuses else 200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/sms"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def test_http_sms_gateway_posts_text_with_its_key_and_reports_failures_without_the_phone():
    gateway = SmsGateway([200, 503])
    try:
        adapter = sms_adapter({"backend": "http", "url": gateway.url, "key": "k-1"})
        assert isinstance(adapter, HttpSmsGateway)
        adapter.send("13900000009", "【月例会】测试短信")
        with pytest.raises(DeliveryFailed) as failed:
            adapter.send("13900000009", "【月例会】测试短信")
        assert str(failed.value) == "SMS gateway answered HTTP 503"
        assert gateway.received[0] == ("Bearer k-1", {"to": "13900000009",
                                                      "text": "【月例会】测试短信"})
    finally:
        gateway.close()
    with pytest.raises(DeliveryFailed) as unreachable:
        HttpSmsGateway(f"http://127.0.0.1:{free_port()}/sms", "k", timeout=2).send("139", "x")
    assert "139" not in str(unreachable.value)


def test_smtp_failures_name_no_address(tmp_path):
    with SmtpServer(tmp_path / "mail") as server:
        sender = EmailSender({**server.settings(), "username": "u", "password": "p"})
        with pytest.raises(DeliveryFailed) as failed:  # this server offers no AUTH
            sender.send("secret-person@example.test", "主题", "正文")
        assert "secret-person" not in str(failed.value)
        EmailSender(server.settings()).send("a@example.test", "中文主题", "正文")
        [(raw, message)] = server.messages()
    assert str(message["Subject"]) == "中文主题" and b"=?utf-8?" in raw
    with pytest.raises(DeliveryFailed):
        EmailSender({"port": free_port(), "timeout": 2}).send("a@example.test", "s", "b")

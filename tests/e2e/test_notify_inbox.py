"""End to end: petition events reach the responsible person in the inbox (through the
gateway), by e-mail on a real SMTP server and by SMS in the development sink.

These tests publish the envelopes onto ``petitions.events`` themselves (to drive due-soon and
overdue events without moving a deadline), built with the petitions service's own ``EVENTS``
catalog. ``test_notify_petitions.py`` does it with the real petitions service."""

import email.header

import pytest
from sqlalchemy import select

from services.chassis.store import make_engine
from services.notify.models import CachedPerson, WebhookSubscription
from tests.e2e.district import V1
from tests.helpers import wait_for
from tests.service.notify_support import (
    PETITIONS,
    SmtpServer,
    envelope,
    metric,
    notify_config,
    publish,
    scrape,
    sms_lines,
)

pytestmark = pytest.mark.e2e

SUBJECT = "【村务民主协商监督月例会】信访事项待办理: 一村"


@pytest.fixture
def smtp(tmp_path):
    with SmtpServer(tmp_path / "mail") as server:
        yield server


@pytest.fixture
def system(start_system, rabbit_config, tmp_path, smtp):
    settings = notify_config(rabbit_config, None, tmp_path, smtp)
    extra = {key: settings[key] for key in ("DELIVERY", "WEBHOOKS", "DIGEST", "SMTP", "SMS")}
    return start_system("notify", extra_config={"notify": extra})


def petition(event_type, petition_id):
    return envelope(event_type, f"petition/{petition_id}", V1, petition_id=petition_id,
                    responsible_person_id="L1")


def cached_email(system, person_id):
    engine = make_engine(system.database_urls["notify"])
    try:
        with engine.connect() as connection:
            return connection.execute(select(CachedPerson.email).where(
                CachedPerson.person_id == person_id)).scalar()
    finally:
        engine.dispose()


def test_petition_assigned_reaches_inbox_email_and_sms(system, smtp):
    notify = system.configs["notify"]
    admin = system.api.as_user("admin")
    liaison = system.api.as_user("liaison1")
    officer = system.api.as_user("officer1")
    assert admin.patch("/people/L1", json={"email": "l1@example.test"}).status_code == 200

    publish(notify["AMQP_URI"], PETITIONS, petition("petition.assigned", "XF-2026-0001"))

    # e-mail on a real SMTP server, subject RFC 2047-encoded and decoding to the Chinese text
    raw, message = wait_for(lambda: smtp.messages(), timeout=15)[0]
    assert message["To"] == "l1@example.test"
    assert str(message["Subject"]) == SUBJECT
    header = next(line for line in raw.split(b"\n") if line.startswith(b"Subject:"))
    assert b"=?utf-8?" in header.lower() and SUBJECT.encode() not in raw
    decoded = email.header.decode_header(raw.split(b"Subject: ", 1)[1].split(b"\nFrom")[0]
                                         .decode("ascii"))
    assert "".join(part.decode(charset) for part, charset in decoded) == SUBJECT
    assert "XF-2026-0001" in message.get_content()

    # SMS in the development sink, to the phone the registry holds
    line = wait_for(lambda: sms_lines(notify), timeout=10)[0]
    assert line["to"] == "13800000001"
    assert "一村" in line["text"] and "XF-2026-0001" in line["text"]

    # the inbox of the responsible person's account, through the gateway
    inbox = liaison.get("/inbox").json()
    assert (inbox["total"], inbox["unread"]) == (1, 1)
    item = inbox["items"][0]
    assert item["title"] == "信访事项待办理: 一村" and item["read"] is False
    assert "2026-12-31" in item["body"]
    assert officer.get("/inbox").json()["total"] == 0  # not the officer's business yet
    assert system.api.as_user("member1").post(f"/inbox/{item['id']}/read").status_code == 404
    read = liaison.post(f"/inbox/{item['id']}/read")
    assert read.status_code == 200 and read.json()["read"] is True
    assert liaison.get("/inbox").json()["unread"] == 0
    assert liaison.get("/inbox", params={"page": 0}).status_code == 400

    # due soon: the responsible person and the township's officers (a role, inbox only)
    publish(notify["AMQP_URI"], PETITIONS, petition("petition.due_soon", "XF-2026-0001"))
    officer_inbox = wait_for(lambda: officer.get("/inbox").json()["items"], timeout=10)
    assert [i["title"] for i in officer_inbox] == ["信访事项即将到期: 一村"]
    assert system.api.as_user("officer2").get("/inbox").json()["total"] == 0
    mine = liaison.get("/inbox").json()
    assert [i["read"] for i in mine["items"]] == [False, True]  # unread first

    wait_for(lambda: len(smtp.messages()) == 2 and len(sms_lines(notify)) == 2, timeout=10)
    sent = "yuelihui_notify_notifications_total"
    # counted right after the outcome is recorded, a moment after the server got it
    samples = wait_for(lambda: (s := scrape(notify)) and metric(
        s, sent, channel="sms", outcome="sent") == 2 and metric(
        s, sent, channel="email", outcome="sent") == 2 and s, timeout=10)
    assert metric(samples, sent, channel="email", priority="normal", outcome="sent") == 1
    assert metric(samples, sent, channel="email", priority="high", outcome="sent") == 1
    assert metric(samples, sent, channel="sms", outcome="sent") == 2
    assert metric(samples, sent, channel="inbox", outcome="sent") == 3
    assert metric(samples, "yuelihui_notify_delivery_latency_seconds_count", channel="email") == 2
    assert metric(samples, "yuelihui_notify_inbox_unread") == 2


def test_person_updated_event_refreshes_the_cached_address(system, smtp):
    notify = system.configs["notify"]
    admin = system.api.as_user("admin")
    assert admin.patch("/people/L1", json={"email": "old@example.test"}).status_code == 200
    publish(notify["AMQP_URI"], PETITIONS, petition("petition.assigned", "XF-1"))
    wait_for(lambda: len(smtp.messages()) == 1, timeout=15)

    assert admin.patch("/people/L1", json={"email": "new@example.test"}).status_code == 200
    # person.updated drops the cached address (the cache lives a day otherwise)
    wait_for(lambda: cached_email(system, "L1") != "old@example.test", timeout=10)
    publish(notify["AMQP_URI"], PETITIONS, petition("petition.overdue", "XF-1"))
    wait_for(lambda: len(smtp.messages()) == 2, timeout=15)
    assert sorted(m["To"] for _, m in smtp.messages()) == ["new@example.test",
                                                            "old@example.test"]


def test_administrator_manages_webhooks_and_bad_input_stores_nothing(system):
    admin = system.api.as_user("admin")
    engine = make_engine(system.database_urls["notify"])

    def count():
        with engine.connect() as connection:
            return len(connection.execute(select(WebhookSubscription.id)).all())
    bad = admin.post("/notify/webhooks", json={"agency": "", "url": "ftp://x",
                                               "patterns": ["clue..referred"]})
    assert bad.status_code == 400
    assert set(bad.json()["errors"]) >= {"agency", "url", "patterns"}
    assert count() == 0
    assert system.api.as_user("officer1").get("/notify/webhooks").status_code == 403
    created = admin.post("/notify/webhooks", json={
        "agency": "区纪委监委", "url": "http://127.0.0.1:9/hook", "patterns": ["clue.*"]})
    assert created.status_code == 201 and len(created.json()["secret"]) == 64
    listed = admin.get("/notify/webhooks").json()
    assert listed["total"] == 1 and "secret" not in listed["items"][0]
    resume = admin.post(f"/notify/webhooks/{created.json()['id']}/resume")
    assert resume.status_code == 409 and "active" in resume.json()["detail"]
    assert count() == 1
    engine.dispose()

"""Issue 6, what must be shown 1, with the real publisher: a petition filed, accepted and
assigned through the gateway by the petitions service reaches the responsible person's inbox,
an aiosmtpd server (Chinese subject, RFC 2047-encoded) and the development SMS sink.

Nothing here publishes an event by hand: every envelope notify routes is the petitions
service's own, so a field notify reads that petitions does not send shows up as a missing
recipient or a "—" in the text."""

import email.header
import time
from datetime import datetime

import pytest
from sqlalchemy import func, select

from services.chassis import clock
from services.chassis.store import make_engine
from services.petitions.models import Village
from tests.e2e import district
from tests.e2e.petitions_support import IDENTITY_KEY, online_petition
from tests.helpers import wait_for
from tests.service.notify_support import SmtpServer, metric, notify_config, scrape, sms_lines

pytestmark = pytest.mark.e2e

SUBJECT = "【村务民主协商监督月例会】信访事项待办理: 一村"
URGENT_TITLE = "紧急: 矛盾纠纷风险升级 一村"


@pytest.fixture
def smtp(tmp_path):
    with SmtpServer(tmp_path / "mail") as server:
        yield server


@pytest.fixture
def system(start_system, rabbit_config, tmp_path, smtp):
    clock.set_now(datetime(2026, 3, 2, 10, 0, tzinfo=clock.LOCAL))  # daytime, Asia/Shanghai
    settings = notify_config(rabbit_config, None, tmp_path, smtp)
    notify = {key: settings[key] for key in ("DELIVERY", "WEBHOOKS", "DIGEST", "SMTP", "SMS")}
    petitions = {"IDENTITY_KEYS": IDENTITY_KEY,
                 "EVENT_RETRY": {"attempts": 3, "backoff": 0.05}}
    built = start_system("petitions", "notify",
                         extra_config={"petitions": petitions, "notify": notify})
    engine = make_engine(built.database_urls["petitions"])
    try:  # petitions keeps its copy of the registry's villages, filled from events
        with engine.connect() as connection:
            wait_for(lambda: connection.scalar(select(func.count()).select_from(Village)) == 3,
                     timeout=20)
    finally:
        engine.dispose()
    return built


def subject_header(raw: bytes) -> str:
    """The Subject header as it travelled (folded lines joined), still encoded."""
    lines = raw.replace(b"\r\n", b"\n").split(b"\n")
    start = next(i for i, line in enumerate(lines) if line.startswith(b"Subject:"))
    folded = [lines[start][len(b"Subject:"):]]
    for line in lines[start + 1:]:
        if line[:1] not in (b" ", b"\t"):
            break
        folded.append(line)
    return b"".join(folded).decode("ascii").strip()


def test_petition_assigned_through_the_gateway_reaches_inbox_email_and_sms(system, smtp):
    notify = system.configs["notify"]
    admin = system.api.as_user("admin")
    public = system.api.as_user(None)
    officer = system.api.as_user("officer1")
    liaison = system.api.as_user("liaison1")  # the account of person L1
    assert admin.patch("/people/L1", json={"email": "l1@example.test"}).status_code == 200

    filed = public.post("/petitions/online", json=online_petition())
    assert filed.status_code == 201, filed.text
    petition_id = officer.get("/petitions").json()["items"][0]["id"]
    accepted = officer.post(f"/petitions/{petition_id}/accept", json={})
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["handle_due"] == "2026-05-01"
    assigned = officer.post(f"/petitions/{petition_id}/assign", json={"person_id": "L1"})
    assert assigned.status_code == 200, assigned.text
    assert assigned.json()["responsible_person_id"] == "L1"

    # the responsible person's inbox, through the gateway
    items = wait_for(lambda: liaison.get("/inbox").json()["items"], timeout=20)
    assert [(i["title"], i["priority"], i["read"]) for i in items] == [
        ("信访事项待办理: 一村", "normal", False)]
    assert petition_id in items[0]["body"] and "2026-05-01" in items[0]["body"]
    assert "—" not in items[0]["body"]  # every field the template reads was in the payload

    # an e-mail on the real SMTP server, its Chinese subject RFC 2047-encoded
    raw, message = wait_for(lambda: smtp.messages(), timeout=15)[0]
    assert message["To"] == "l1@example.test"
    assert str(message["Subject"]) == SUBJECT
    encoded = subject_header(raw)
    assert encoded.lower().startswith("=?utf-8?") and SUBJECT.encode() not in raw
    assert "".join(part.decode(charset) if charset else part.decode("ascii")
                   for part, charset in email.header.decode_header(encoded)) == SUBJECT
    content = message.get_content()
    assert petition_id in content and "办理期限 2026-05-01" in content

    # the SMS in the development sink, to the phone the registry holds for L1
    sms = wait_for(lambda: sms_lines(notify), timeout=10)
    assert [line["to"] for line in sms] == ["13800000001"]
    assert petition_id in sms[0]["text"] and "一村" in sms[0]["text"]
    assert "期限 2026-05-01" in sms[0]["text"]

    # received and accepted have no rule; the assignment is not the officer's business
    time.sleep(0.5)
    assert liaison.get("/inbox").json()["total"] == 1
    assert officer.get("/inbox").json()["total"] == 0
    assert len(smtp.messages()) == 1 and len(sms_lines(notify)) == 1
    samples = wait_for(lambda: (s := scrape(notify)) and metric(
        s, "yuelihui_notify_notifications_total", channel="sms", outcome="sent") == 1 and s,
        timeout=10)
    sent = "yuelihui_notify_notifications_total"
    assert metric(samples, sent, channel="email", priority="normal", outcome="sent") == 1
    assert metric(samples, sent, channel="inbox", priority="normal", outcome="sent") == 1


def test_only_a_rise_to_high_risk_alerts_the_township_and_the_district(system):
    liaison = system.api.as_user("liaison1")
    officer, admin = system.api.as_user("officer1"), system.api.as_user("admin")
    registered = liaison.post("/disputes", json={
        "type": "neighbour", "village_code": district.V1, "description": "宅前排水沟堵塞引发争执",
        "parties": [{"name": "甲户"}, {"name": "乙户"}]})
    assert registered.status_code == 201, registered.text
    did = registered.json()["id"]

    assert liaison.post(f"/disputes/{did}/risk", json={"level": "elevated"}).status_code == 200
    consumed = "yuelihui_events_consumed_total"

    def applied():  # registered, risk_raised (elevated): both consumed by notify
        return metric(scrape(system.configs["notify"]), consumed,
                      consumer="notify.on_petitions_event", outcome="applied")
    wait_for(lambda: applied() >= 2, timeout=15)
    assert officer.get("/inbox").json()["total"] == 0  # elevated: nobody is alerted
    assert admin.get("/inbox").json()["total"] == 0

    assert liaison.post(f"/disputes/{did}/risk", json={"level": "high"}).status_code == 200
    urgent = wait_for(lambda: officer.get("/inbox").json()["items"], timeout=15)
    assert [(i["title"], i["priority"]) for i in urgent] == [(URGENT_TITLE, "urgent")]
    assert did in urgent[0]["body"] and "“高”" in urgent[0]["body"]
    assert [i["title"] for i in admin.get("/inbox").json()["items"]] == [URGENT_TITLE]
    assert system.api.as_user("officer2").get("/inbox").json()["total"] == 0  # other township

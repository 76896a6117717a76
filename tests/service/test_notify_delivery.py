"""Notify on a real broker and database: channels, duplicates, retries, webhooks, metrics.

The registry is not running here: the contacts notify would fetch are put in its cache."""

import json
import time

import pytest

from services.chassis.actor import Actor
from services.chassis.migrations import upgrade
from services.chassis.store import make_engine
from services.notify.service import NotifyService
from tests.helpers import rpc_as, wait_for
from tests.service.notify_support import (
    PETITIONS,
    SUPERVISION,
    SmtpServer,
    WebhookReceiver,
    envelope,
    metric,
    notify_config,
    publish,
    scrape,
    seed_contacts,
    sms_lines,
)

pytestmark = pytest.mark.service

V1 = "431102101001"
PEOPLE = {
    "P1": {"id": "P1", "role": "liaison", "village_code": V1, "phone": "13900000001",
           "email": "p1@example.test", "active": True},
    "P2": {"id": "P2", "role": "village_cadre", "village_code": V1, "phone": None,
           "email": "p2@example.test", "active": True},
}
VILLAGES = {V1: {"code": V1, "name": "一村", "township_code": "431102101",
                 "liaisons": [PEOPLE["P1"]], "cadres": [PEOPLE["P2"]], "contact_members": []}}
P1 = Actor(roles=("liaison",), username="p1", person_id="P1", villages=(V1,))
OFFICER = Actor(roles=("township_officer",), username="o1", townships=("431102101",))


@pytest.fixture
def smtp(tmp_path):
    with SmtpServer(tmp_path / "mail") as server:
        yield server


@pytest.fixture
def notify(container_factory, rabbit_config, database_url, tmp_path, smtp):
    upgrade("notify", database_url)
    engine = make_engine(database_url)
    seed_contacts(engine, PEOPLE, VILLAGES)
    engine.dispose()
    config = notify_config(rabbit_config, database_url, tmp_path, smtp)
    container = container_factory(NotifyService, config)
    container.start()
    return config


def assigned(petition_id, assignee, village=V1):
    """``petition.assigned`` as the petitions service publishes it (its EVENTS catalog)."""
    return envelope("petition.assigned", f"petition/{petition_id}", village,
                    petition_id=petition_id, responsible_person_id=assignee)


def test_redelivered_event_sends_nothing_twice_and_metrics_count_it(notify, smtp):
    first = assigned("XF-1", "P1")
    publish(notify["AMQP_URI"], PETITIONS, first)
    publish(notify["AMQP_URI"], PETITIONS, first)  # the broker redelivers it
    publish(notify["AMQP_URI"], PETITIONS, assigned("XF-2", "P2"))

    wait_for(lambda: len(smtp.messages()) >= 2 and len(sms_lines(notify)) >= 1)
    wait_for(lambda: metric(scrape(notify), "yuelihui_events_consumed_total",
                            outcome="duplicate") == 1)
    time.sleep(0.5)  # a second round of the timer would have sent duplicates by now
    recipients = sorted(message["To"] for _, message in smtp.messages())
    assert recipients == ["p1@example.test", "p2@example.test"]
    assert [line["to"] for line in sms_lines(notify)] == ["13900000001"]
    with rpc_as(notify, P1) as rpc:
        inbox = rpc.notify.list_inbox()
    assert inbox["total"] == 1 and inbox["unread"] == 1
    assert inbox["items"][0]["title"] == "信访事项待办理: 一村"

    samples = scrape(notify)
    sent = "yuelihui_notify_notifications_total"
    assert metric(samples, sent, channel="inbox", priority="normal", outcome="sent") == 2
    assert metric(samples, sent, channel="email", priority="normal", outcome="sent") == 2
    assert metric(samples, sent, channel="sms", priority="normal", outcome="sent") == 1
    assert metric(samples, sent, channel="sms", priority="normal", outcome="skipped") == 1
    latency = "yuelihui_notify_delivery_latency_seconds_count"
    assert metric(samples, latency, channel="email") == 2
    assert metric(samples, latency, channel="sms") == 1
    assert metric(samples, latency, channel="inbox") == 2
    assert metric(samples, "yuelihui_notify_delivery_attempts_total", channel="email",
                  outcome="ok") == 2
    assert metric(samples, "yuelihui_notify_inbox_unread") == 2
    assert metric(samples, "yuelihui_notify_event_lag_seconds_count", source="petitions") == 2
    assert "13900000001" not in json.dumps([list(k[1]) for k in samples])


def test_failed_email_is_retried_then_dead_and_can_be_retried_by_an_operator(
        container_factory, rabbit_config, database_url, tmp_path, smtp):
    upgrade("notify", database_url)
    engine = make_engine(database_url)
    seed_contacts(engine, PEOPLE, VILLAGES)
    engine.dispose()
    config = notify_config(rabbit_config, database_url, tmp_path, None)  # SMTP port closed
    container_factory(NotifyService, config).start()
    publish(config["AMQP_URI"], PETITIONS, assigned("XF-3", "P2"))

    def dead():
        with rpc_as(config) as rpc:
            return rpc.notify.list_failures()["items"]
    failures = wait_for(dead, timeout=15)
    assert [(f["channel"], f["attempts"], f["recipient"]) for f in failures] == [
        ("email", 3, "person:P2")]
    assert "p2@example.test" not in failures[0]["last_error"]
    samples = wait_for(lambda: (s := scrape(config)) and metric(
        s, "yuelihui_notify_dead_letters_total", channel="email") == 1 and s)
    assert metric(samples, "yuelihui_notify_delivery_retries_total", channel="email") == 2
    assert metric(samples, "yuelihui_notify_dead_letters_total", channel="email") == 1
    assert metric(samples, "yuelihui_notify_notifications_total", channel="email",
                  outcome="dead") == 1

    with rpc_as(config) as rpc:
        assert rpc.notify.retry_failure(delivery_id=failures[0]["id"])["status"] == "pending"
        with pytest.raises(Exception) as conflict:
            rpc.notify.retry_failure(delivery_id=failures[0]["id"])
    assert "pending" in str(conflict.value)


def test_webhook_is_signed_retried_with_growing_delays_then_arrives_once(notify):
    with WebhookReceiver([500, 500]) as receiver, rpc_as(notify) as rpc:
        created = rpc.notify.create_webhook(data={"agency": "区纪委监委", "url": receiver.url,
                                                  "patterns": ["clue.*"]})
        receiver.secret = created["secret"]
        clue = envelope("clue.referred", "clue/C-1", reference_no="LX-2026-001")
        publish(notify["AMQP_URI"], SUPERVISION, clue)
        publish(notify["AMQP_URI"], PETITIONS, assigned("XF-9", "P1"))  # not subscribed

        wait_for(receiver.delivered, timeout=15)
        time.sleep(0.8)
        assert [c["status"] for c in receiver.calls] == [500, 500, 200]
        assert all(c["verified"] for c in receiver.calls)
        assert json.loads(receiver.delivered()[0]["body"]) == clue
        at = [c["at"] for c in receiver.calls]
        # never earlier than the backoff: 0.2 s after the first failure, 0.4 s after the second
        assert at[1] - at[0] >= 0.19 and at[2] - at[1] >= 0.38

        log = rpc.notify.list_webhook_deliveries(subscription_id=created["id"])
        assert log["total"] == 1
        delivery = log["items"][0]
        assert (delivery["status"], delivery["attempts"]) == ("sent", 3)
        assert [(a["status_code"], a["outcome"]) for a in delivery["log"]] == [
            (500, "failed"), (500, "failed"), (200, "delivered")]
    samples = scrape(notify)
    hooks = "yuelihui_notify_webhook_deliveries_total"
    assert metric(samples, hooks, subscription=created["id"], outcome="failed") == 2
    assert metric(samples, hooks, subscription=created["id"], outcome="delivered") == 1
    assert metric(samples, "yuelihui_notify_delivery_latency_seconds_count",
                  channel="webhook") == 1


def test_webhook_subscription_is_suspended_after_consecutive_failures(notify):
    with WebhookReceiver([500] * 50) as receiver, rpc_as(notify) as rpc:
        created = rpc.notify.create_webhook(data={"agency": "区信访局", "url": receiver.url,
                                                  "patterns": ["petition.#"]})
        receiver.secret = created["secret"]
        publish(notify["AMQP_URI"], PETITIONS, assigned("XF-4", "P1"))

        def suspended():
            hooks = rpc.notify.list_webhooks()["items"]
            return hooks[0]["status"] == "suspended" and hooks[0]
        hook = wait_for(suspended, timeout=15)
        assert hook["consecutive_failures"] == 4
        time.sleep(1.0)
        assert len(receiver.calls) == 4  # nothing more once suspended
        publish(notify["AMQP_URI"], PETITIONS, assigned("XF-5", "P1"))
        time.sleep(0.8)
        assert len(receiver.calls) == 4

        receiver.script = []  # the agency fixed its endpoint
        assert rpc.notify.resume_webhook(subscription_id=created["id"])["status"] == "active"
        wait_for(receiver.delivered, timeout=10)
        assert [json.loads(c["body"])["data"]["petition_id"]
                for c in receiver.delivered()] == ["XF-4"]
    assert metric(scrape(notify), "yuelihui_notify_webhook_deliveries_total",
                  subscription=created["id"], outcome="suspended") == 1


def test_recording_the_same_event_twice_adds_nothing_the_second_time(database_url):
    """Below the inbox of consumed ids, unique keys on (event, recipient[, channel])."""
    from services.chassis import clock
    from services.chassis.store import transaction
    from services.notify import commands
    from services.notify.models import Base, Delivery, InboxItem

    upgrade("notify", database_url)
    engine = make_engine(database_url)
    seed_contacts(engine, PEOPLE, VILLAGES)
    event = commands.plan(assigned("XF-7", "P1"))
    results = []
    for _ in range(2):
        with transaction(engine, None, Base.metadata.tables["outbox_event"]) as tx:
            results.append(commands.record_event(tx, event, commands.Settings(), clock.now()))
    assert (results[0].inbox_items, results[0].deliveries) == (1, 2)
    assert (results[1].inbox_items, results[1].deliveries, results[1].outcomes) == (0, 0, [])
    with engine.connect() as connection:
        assert len(connection.execute(InboxItem.__table__.select()).all()) == 1
        rows = connection.execute(Delivery.__table__.select()).all()
    assert sorted(row.channel for row in rows) == ["email", "sms"]
    engine.dispose()


def test_role_recipients_see_only_their_jurisdiction_and_clues_only_reach_inspectors(notify):
    admin = Actor(roles=("district_admin",), username="admin")
    inspector = Actor(roles=("discipline_inspector",), username="inspector")
    other = Actor(roles=("township_officer",), username="o2", townships=("431102102",))
    # the petitions service's levels: only a rise to high is routed
    for level, previous, dispute in (("elevated", "low", "D-1"), ("high", "elevated", "D-2")):
        publish(notify["AMQP_URI"], PETITIONS, envelope(
            "dispute.risk_raised", f"dispute/{dispute}", dispute_id=dispute, risk_level=level,
            previous_level=previous, urgent=level == "high"))
    publish(notify["AMQP_URI"], SUPERVISION, envelope("clue.referred", "clue/C-9",
                                                      reference_no="LX-9"))

    def inbox(who):
        with rpc_as(notify, who) as rpc:
            return rpc.notify.list_inbox()["items"]
    wait_for(lambda: metric(scrape(notify), "yuelihui_events_consumed_total",
                            consumer="notify.on_petitions_event", outcome="applied") == 2)
    wait_for(lambda: inbox(inspector))
    urgent = inbox(OFFICER)
    assert [(i["title"], i["priority"]) for i in urgent] == [
        ("紧急: 矛盾纠纷风险升级 一村", "urgent")]
    assert [i["title"] for i in inbox(admin)] == ["紧急: 矛盾纠纷风险升级 一村"]
    assert inbox(other) == []
    assert [i["title"] for i in inbox(inspector)] == ["问题线索移交: LX-9"]


def test_person_and_contact_events_drop_the_cached_entries(notify, database_url):
    from services.notify.models import CachedPerson, CachedVillage
    from services.registry.schemas import EVENTS as REGISTRY

    engine = make_engine(database_url)

    def cached():
        with engine.connect() as connection:
            people = [r[0] for r in connection.execute(CachedPerson.__table__.select()
                                                       .with_only_columns(CachedPerson.person_id))]
            villages = [r[0] for r in connection.execute(
                CachedVillage.__table__.select().with_only_columns(CachedVillage.village_code))]
        return sorted(people), villages
    assert cached() == (["P1", "P2"], [V1])
    publish(notify["AMQP_URI"], REGISTRY, REGISTRY.envelope("contact.linked", f"village/{V1}", {
        "kind": "member_village", "subject_id": "M9", "target_code": V1}))
    wait_for(lambda: cached() == (["P1", "P2"], []))
    publish(notify["AMQP_URI"], REGISTRY, REGISTRY.envelope("person.updated", "person/P2", {
        "person_id": "P2", "role": "village_cadre", "village_code": V1, "active": True,
        "changed": ["email"]}))
    wait_for(lambda: cached() == (["P1"], []))
    engine.dispose()

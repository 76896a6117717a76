"""Preferences, quiet hours, the daily digest and village groups, on a real broker."""

import time
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from services.chassis import clock
from services.chassis.actor import Actor
from services.chassis.errors import Forbidden, ValidationFailed
from services.chassis.migrations import upgrade
from services.chassis.store import make_engine
from services.notify.models import Preference
from services.notify.service import NotifyService
from tests.helpers import rpc_as, wait_for
from tests.service.notify_support import (
    MEETINGS,
    PETITIONS,
    SmtpServer,
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
    "P2": {"id": "P2", "role": "village_cadre", "village_code": V1, "phone": "13900000002",
           "email": "p2@example.test", "active": True},
    "P3": {"id": "P3", "role": "cppcc_member", "village_code": None, "phone": None,
           "email": "p3@example.test", "active": True},
    "P4": {"id": "P4", "role": "village_cadre", "village_code": V1, "phone": "13900000004",
           "email": "p4@example.test", "active": False},
}
VILLAGES = {V1: {"code": V1, "name": "一村", "township_code": "431102101",
                 "liaisons": [PEOPLE["P1"]], "cadres": [PEOPLE["P2"], PEOPLE["P4"]],
                 "contact_members": [PEOPLE["P3"]]}}


def local(hour, minute=0):
    return datetime(2026, 11, 26, hour, minute, tzinfo=clock.LOCAL).astimezone(UTC)


def actor(person_id):
    return Actor(roles=("liaison",), username=person_id.lower(), person_id=person_id)


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
    config = notify_config(rabbit_config, database_url, tmp_path, smtp,
                           DIGEST={"interval": 0.1, "hour": 18})
    clock.set_now(local(12))
    container_factory(NotifyService, config).start()
    return config


def test_quiet_hours_hold_a_normal_sms_until_they_end_and_preferences_pick_channels(
        notify, smtp, database_url):
    with rpc_as(notify, actor("P1")) as rpc:
        saved = rpc.notify.set_preferences(data={"channels": {"normal": ["inbox", "sms"]},
                                                 "quiet_start": "11:00", "quiet_end": "13:00"})
        assert saved["channels"] == {"normal": ["inbox", "sms"]}
        assert rpc.notify.get_preferences()["quiet_end"] == "13:00"
    publish(notify["AMQP_URI"], PETITIONS, envelope(
        "petition.assigned", "petition/X1", petition_id="X1", responsible_person_id="P1",
        due=date(2026, 12, 1)))
    with rpc_as(notify, actor("P1")) as rpc:
        wait_for(lambda: rpc.notify.list_inbox()["total"] == 1)
    time.sleep(0.5)
    assert sms_lines(notify) == [] and smtp.messages() == []  # no e-mail: not chosen
    assert metric(scrape(notify), "yuelihui_notify_notifications_total", channel="sms",
                  outcome="deferred") == 1

    clock.set_now(local(13, 1))
    assert [line["to"] for line in wait_for(lambda: sms_lines(notify))] == ["13900000001"]
    assert smtp.messages() == []


def test_bad_preferences_are_refused_with_field_details_and_nothing_stored(notify, database_url):
    engine = make_engine(database_url)

    def count():
        with engine.connect() as connection:
            return connection.execute(select(func.count()).select_from(Preference)).scalar()
    with rpc_as(notify, actor("P1")) as rpc:
        with pytest.raises(ValidationFailed) as refused:
            rpc.notify.set_preferences(data={"channels": {"soon": ["fax"]},
                                             "quiet_start": "25:00"})
    assert {"channels", "quiet_start"} <= {key.split(".")[0] for key in refused.value.details}
    with rpc_as(notify, Actor(roles=("township_officer",), username="o")) as rpc:
        with pytest.raises(Forbidden) as forbidden:
            rpc.notify.set_preferences(data={"channels": {}})
    assert "登记在册" in str(forbidden.value)
    assert count() == 0
    engine.dispose()


def test_village_groups_are_notified_and_low_priority_waits_for_the_daily_digest(notify, smtp):
    for meeting in ("M1", "M2"):
        publish(notify["AMQP_URI"], MEETINGS, envelope(
            "meeting.held", f"meeting/{meeting}", meeting_id=meeting,
            held_at=datetime(2026, 11, 25, 1, 30, tzinfo=UTC)))
    publish(notify["AMQP_URI"], MEETINGS, envelope(
        "meeting.scheduled", "meeting/M3", meeting_id="M3",
        starts_at=datetime(2026, 12, 5, 1, 0, tzinfo=UTC)))

    # scheduled: liaison P1, cadre P2 (not the inactive P4) and contact member P3
    wait_for(lambda: len(smtp.messages()) == 3, timeout=10)
    assert sorted(m["To"] for _, m in smtp.messages()) == [
        "p1@example.test", "p2@example.test", "p3@example.test"]
    # starts_at (UTC on the wire) is shown in Asia/Shanghai time
    assert all("2026-12-05 09:00" in m.get_content() for _, m in smtp.messages())
    with rpc_as(notify, actor("P3")) as rpc:
        inbox = rpc.notify.list_inbox()
    assert inbox["unread"] == 3  # the low-priority items are in the inbox at once
    with rpc_as(notify, actor("P4")) as rpc:
        assert rpc.notify.list_inbox()["total"] == 0
    time.sleep(0.3)
    assert len(smtp.messages()) == 3  # 12:00: no digest yet

    clock.set_now(local(18, 30))
    digest = wait_for(lambda: [m for _, m in smtp.messages() if "汇总" in str(m["Subject"])])
    assert digest[0]["To"] == "p3@example.test"
    assert str(digest[0]["Subject"]) == "【村务民主协商监督月例会】今日汇总: 2 条通知"
    assert digest[0].get_content().count("月例会已召开: 一村") == 2
    assert "已于 2026-11-25 09:30 召开" in digest[0].get_content()
    clock.set_now(local(19) + timedelta(minutes=1))
    time.sleep(0.4)
    assert len(smtp.messages()) == 4  # once a day

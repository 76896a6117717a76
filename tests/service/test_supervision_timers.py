"""Periodic checks with two service instances on one database: each effect happens and is
published once (finance missing, window closed with unanswered objections, overdue)."""

import time
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from services.chassis import clock
from services.chassis.store import OUTBOX, Transaction
from services.chassis.vault import Vault
from services.supervision import commands
from services.supervision.models import Alert, Base, Disclosure, Matter
from services.supervision.service import SupervisionService
from tests.conftest import free_port
from tests.helpers import EventTap, rpc_as, wait_for
from tests.service import supervision_support as support
from tests.service.supervision_support import (
    ADMIN,
    CLUE_KEY,
    MEMBER1,
    V1,
    V2,
    V3,
    count,
    sup_transaction,
)

pytestmark = pytest.mark.service
sup_config = support.sup_config
SETTINGS = commands.Settings()


def _prepare(url: str) -> dict:
    """November: a finance disclosure for V1 only, a project with an unanswered objection,
    a matter due on the 30th, a clue nobody acknowledges."""
    clock.set_now(datetime(2026, 11, 20, 2, tzinfo=UTC))
    now = clock.now()
    with sup_transaction(url)() as tx:
        commands.publish_disclosure(tx, ADMIN, {
            "kind": "finance", "village_code": V1, "title": "2026年11月财务收支公开",
            "body": "收入 12000.00 元", "amount": Decimal("12000.00"),
            "finance_month": "2026-11"}, now, SETTINGS)
        project = commands.publish_disclosure(tx, ADMIN, {
            "kind": "village_construction", "village_code": V2, "title": "村部维修",
            "body": "-", "amount": Decimal("5000.00")}, now, SETTINGS)
        commands.file_objection(tx, MEMBER1, project.id, {"content": "报价偏高",
                                                         "anonymous": True}, now)
        matter = commands.raise_matter(tx, "direct", None, V3, "垃圾清运不及时", "",
                                       "T431102102", date(2026, 11, 30), now, SETTINGS)
        clue = commands.refer_clue(tx, MEMBER1, {
            "village_code": V3, "category": "cadre_conduct", "content": "优亲厚友",
            "source": "direct"}, Vault([CLUE_KEY]), now, SETTINGS)
    return {"project": project.id, "matter": matter.id, "clue": clue.reference_no}


def test_two_instances_apply_each_periodic_effect_once(container_factory, sup_config):
    url = sup_config["DATABASE_URL"]
    made = _prepare(url)
    tap = EventTap(sup_config["AMQP_URI"], ("supervision",))
    clock.set_now(datetime(2026, 12, 3, 2, tzinfo=UTC))  # 10:00 on 3 December in Shanghai
    for _ in range(2):
        container_factory(SupervisionService, {
            **sup_config, "SUPERVISION_TIMER_INTERVAL": 0.1,
            "WEB_SERVER_ADDRESS": f"127.0.0.1:{free_port()}"}).start()

    def of(event_type):
        """Distinct events of a type: the outbox is at-least-once (two relays on SQLite may
        both send a row; consumers dedupe by id), so an effect is one event id."""
        return list({e["id"]: e["data"] for e in tap.drain() if e["type"] == event_type
                     }.values())

    wait_for(lambda: len(of("disclosure.finance_missing")) >= 2
             and len(of("disclosure.window_closed")) >= 2 and of("matter.overdue")
             and of("clue.overdue"), timeout=15)
    time.sleep(1.5)  # fifteen more rounds of both instances: nothing may happen twice
    assert sorted((e["village_code"], e["month"]) for e in of("disclosure.finance_missing")) \
        == [(V2, "2026-11"), (V3, "2026-11")]
    closed = {e["disclosure_id"]: e["unanswered"] for e in of("disclosure.window_closed")}
    assert len(of("disclosure.window_closed")) == 2
    assert closed[made["project"]] == 1
    assert [e["matter_id"] for e in of("matter.overdue")] == [made["matter"]]
    assert [(e["reference_no"], e["overdue"]) for e in of("clue.overdue")] == [
        (made["clue"], "acknowledgement")]
    assert count(url, Alert, Alert.kind == "objections_unanswered") == 1
    outbox = Base.metadata.tables[OUTBOX]
    for event_type, rows in (("disclosure.finance_missing", 2), ("disclosure.window_closed", 2),
                             ("matter.overdue", 1), ("clue.overdue", 1)):
        assert count(url, outbox, outbox.c.event_type == event_type) == rows, event_type
    with rpc_as(sup_config, ADMIN) as rpc:
        alerts = rpc.supervision.list_alerts(query={"kind": "objections_unanswered"})
    assert [(a["disclosure_id"], a["village_code"], a["period"]) for a in alerts["items"]] == [
        (made["project"], V2, "2026-12")]
    assert count(url, Disclosure, Disclosure.state == "window_closed") == 2
    assert count(url, Matter, Matter.overdue.is_(True)) == 1
    # the plain functions the timers call find nothing left to do
    transaction = sup_transaction(url)
    assert commands.flag_missing_finance(transaction, date(2026, 12, 3)) == []
    assert commands.close_windows(transaction, clock.now()) == []
    assert commands.flag_overdue(transaction, date(2026, 12, 3)) == []


def test_checks_called_directly_with_a_set_clock(sup_config):
    url = sup_config["DATABASE_URL"]
    made = _prepare(url)
    transaction = sup_transaction(url)
    # still in the window and before the deadlines: nothing but October's finance
    assert commands.close_windows(transaction, clock.now()) == []
    assert commands.flag_overdue(transaction, date(2026, 11, 27)) == []
    assert commands.flag_missing_finance(transaction, date(2026, 11, 10), 10) == []
    assert commands.flag_missing_finance(transaction, date(2026, 11, 11), 10) == [V1, V2, V3]
    assert commands.flag_missing_finance(transaction, date(2026, 11, 20)) == []
    clock.set_now(datetime(2027, 3, 1, 2, tzinfo=UTC))
    assert commands.flag_overdue(transaction, date(2027, 3, 1)) == [
        made["matter"], f"{made['clue']}:acknowledgement", f"{made['clue']}:conclusion"]
    assert commands.flag_overdue(transaction, date(2027, 3, 2)) == []


def test_later_runs_do_not_retry_claimed_keys(sup_config, monkeypatch):
    """Once an effect is claimed, later runs skip it before trying ``tx.once`` again."""
    url = sup_config["DATABASE_URL"]
    _prepare(url)
    transaction = sup_transaction(url)
    clock.set_now(datetime(2027, 3, 1, 2, tzinfo=UTC))
    assert commands.flag_missing_finance(transaction, date(2026, 12, 3)) == [V2, V3]
    assert len(commands.flag_overdue(transaction, date(2027, 3, 1))) == 3
    tried = []
    real_once = Transaction.once
    monkeypatch.setattr(Transaction, "once",
                        lambda self, key: tried.append(key) or real_once(self, key))
    assert commands.flag_missing_finance(transaction, date(2026, 12, 3)) == []
    assert commands.flag_overdue(transaction, date(2027, 3, 2)) == []
    assert tried == []

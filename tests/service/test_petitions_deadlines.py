"""What must be shown 2: with a set clock, due-soon and overdue fire once each on the right
day, also after an extension, with two service instances on the same database."""

import time
from datetime import date, datetime, timedelta

import eventlet
import pytest
from sqlalchemy import func, select

from services.chassis import clock
from services.chassis.errors import Conflict
from services.petitions import commands
from services.petitions.domain import Rules
from services.petitions.models import Base
from services.petitions.service import PetitionsService
from tests.helpers import EventTap, rpc_as, wait_for
from tests.service import petitions_support as support
from tests.service.petitions_support import OFFICER1, V1, petitions_config

petitions_db = support.petitions_db  # fixture

pytestmark = pytest.mark.service


def _at(day: date, hour: int = 9) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=clock.LOCAL)


def _file_and_accept(config) -> str:
    with rpc_as(config, OFFICER1) as rpc:
        petition = rpc.petitions.file_petition(data={
            "channel": "visit", "category": "homestead", "village_code": V1,
            "summary": "宅基地界址争议", "identity": {"name": "李四"}})
        accepted = rpc.petitions.accept(petition_id=petition["id"])
    assert accepted["handle_due"] == "2026-05-01"
    return petition["id"]


def _signals(tap):
    """Distinct events (by id): on SQLite two relays may deliver a row twice (at least once;
    subscribers dedupe by id), on PostgreSQL they never do."""
    seen = {}
    for e in tap.drain():
        if e["type"] in ("petition.due_soon", "petition.overdue"):
            seen.setdefault(e["id"], (e["type"], e["data"]["stage"], e["data"]["due"]))
    return list(seen.values())


def _outbox_signals(db):
    rows = db.scalar(select(func.count()).select_from(Base.metadata.tables["outbox_event"])
                     .where(Base.metadata.tables["outbox_event"].c.event_type.in_(
                         ("petition.due_soon", "petition.overdue"))))
    return rows


def test_two_instances_fire_each_deadline_signal_once(container_factory, rabbit_config,
                                                     petitions_db):
    clock.set_now(_at(date(2026, 3, 2)))
    fast = {"TIMERS": {"interval": 0.05}}
    configs = [petitions_config(rabbit_config, petitions_db, **fast) for _ in range(2)]
    for config in configs:
        container_factory(PetitionsService, config).start()
    tap = EventTap(configs[0]["AMQP_URI"], ("petitions",))
    petition_id = _file_and_accept(configs[0])

    def settle(expected: int):
        """Wait for ``expected`` distinct signals, then let both instances run many more
        timer and relay rounds: nothing else may appear."""
        wait_for(lambda: len(_signals(tap)) >= expected, timeout=10)
        time.sleep(0.5)
        return _signals(tap)

    due_soon = ("petition.due_soon", "handle", "2026-05-01")
    clock.set_now(_at(date(2026, 4, 27)))
    assert settle(0) == []
    clock.set_now(_at(date(2026, 4, 28)))  # three days before 2026-05-01
    assert settle(1) == [due_soon]
    clock.set_now(_at(date(2026, 4, 29)))
    assert settle(1) == [due_soon]

    with rpc_as(configs[1], OFFICER1) as rpc:
        extended = rpc.petitions.extend(petition_id=petition_id,
                                        data={"days": 10, "reason": "需补充调查"})
    assert extended["handle_due"] == "2026-05-11"
    clock.set_now(_at(date(2026, 5, 2)))  # the old deadline passed, but it was extended
    assert settle(1) == [due_soon]
    clock.set_now(_at(date(2026, 5, 8)))
    assert settle(2) == [due_soon, ("petition.due_soon", "handle", "2026-05-11")]
    clock.set_now(_at(date(2026, 5, 12)))
    assert settle(3)[2:] == [("petition.overdue", "handle", "2026-05-11")]
    clock.set_now(_at(date(2026, 5, 20)))
    assert len(settle(3)) == 3
    assert _outbox_signals(petitions_db) == 3
    tap.close()


def test_direct_calls_racing_on_one_database_apply_each_signal_once(petitions_db):
    """The plain function the timer calls, run by two green threads at the same moment."""
    clock.set_now(_at(date(2026, 3, 2)))
    with petitions_db.transaction() as tx:
        petition = commands.file_petition(tx, OFFICER1, {
            "channel": "letter", "category": "land", "agri_related": True, "village_code": V1,
            "summary": "承包地调整", "anonymous": True}, Rules(), _NoVault())
    rules = Rules()
    # never accepted: the acceptance deadline (15 days) runs out
    clock.set_now(_at(date(2026, 3, 18)))
    results = [eventlet.spawn(commands.check_deadlines, petitions_db.transaction,
                              petitions_db.reading, rules, clock.today_local())
               for _ in range(2)]
    applied = [key for green in results for key in green.wait()]
    assert applied == [f"petition.overdue:{petition.id}:accept:2026-03-17"]
    again = commands.check_deadlines(petitions_db.transaction, petitions_db.reading, rules,
                                     clock.today_local() + timedelta(days=1))
    assert again == []


class _NoVault:
    def encrypt(self, value):
        raise AssertionError("an anonymous petition has nothing to encrypt")


def test_a_recorded_escalation_response_stops_the_escalation_deadline(petitions_db):
    """Two petitions escalated to the township with 10 days to respond: the one whose
    response is recorded gets no escalation signal, the other goes overdue."""
    clock.set_now(_at(date(2026, 3, 2)))
    rules = Rules()
    ids = []
    for _ in range(2):
        with petitions_db.transaction() as tx:
            pid = commands.file_petition(tx, OFFICER1, {
                "channel": "letter", "category": "land", "agri_related": True,
                "village_code": V1, "summary": "承包地调整", "anonymous": True},
                rules, _NoVault()).id
            commands.accept(tx, OFFICER1, pid, rules)
            commands.escalate(tx, OFFICER1, pid, {"target_kind": "township",
                                                  "target": support.T1, "days": 10}, rules)
        ids.append(pid)
    answered, silent = ids
    clock.set_now(_at(date(2026, 3, 5)))
    with petitions_db.transaction() as tx:
        done = commands.record_escalation_response(tx, OFFICER1, answered,
                                                   {"note": "乡镇已核实并答复"})
        assert (done.escalation_due, done.escalation_responded_on) == (None, date(2026, 3, 5))
    # recorded once: a second time is a conflict
    with pytest.raises(Conflict) as again, petitions_db.transaction() as tx:
        commands.record_escalation_response(tx, OFFICER1, answered, {})
    assert again.value.details == {"escalation_due": ["none"]}
    clock.set_now(_at(date(2026, 3, 13)))  # escalation due 2026-03-12
    applied = commands.check_deadlines(petitions_db.transaction, petitions_db.reading, rules,
                                       clock.today_local())
    escalation = [key for key in applied if ":escalation:" in key]
    assert escalation == [f"petition.overdue:{silent}:escalation:2026-03-12"]
    # the handling deadline of the answered petition still runs as before
    with petitions_db.reading() as session:
        petition = commands.get_petition_record(session, answered)
        assert petition.handle_due == date(2026, 5, 1) and petition.state == "accepted"
        assert petition.escalation_response == "乡镇已核实并答复"
        assert [s.action for s in commands.steps(session, answered)][-1] == \
            "escalation_response"

"""What must be shown 5: statistics for a generated month of data match a count made
independently by the test (from what it generated, not from the database)."""

import random
from collections import Counter
from datetime import date, datetime, timedelta

import pytest

from services.chassis import clock
from services.chassis.errors import Forbidden
from services.chassis.vault import Vault
from services.petitions import commands
from services.petitions.domain import CHANNELS, DEFAULT_CATEGORIES, Rules
from tests.helpers import ADMIN, rpc_as
from tests.service import petitions_support as support
from tests.service.petitions_support import IDENTITY_KEY, OFFICER1, T1, T2, VILLAGES

pytestmark = pytest.mark.service
petitions_db = support.petitions_db  # fixtures
petitions = support.petitions


def _at(day: date) -> None:
    clock.set_now(datetime(day.year, day.month, day.day, 10, tzinfo=clock.LOCAL))


def _generate(db, month_start: date, count: int, rng: random.Random) -> list[dict]:
    """Petitions and their handling in one month; returns what the test expects."""
    rules, vault, made = Rules(), Vault(IDENTITY_KEY), []
    for _ in range(count):
        village, _, township = rng.choice(VILLAGES)
        item = {"category": rng.choice(DEFAULT_CATEGORIES), "channel": rng.choice(CHANNELS),
                "agri": rng.random() < 0.4, "township": township,
                "received": month_start + timedelta(days=rng.randrange(28)),
                "decide_after": rng.choice([None, 3, 10, 15, 16, 25]),
                "answer_after": rng.choice([None, 30, 60, 61, 80])}
        _at(item["received"])
        with db.transaction() as tx:
            pid = commands.file_petition(tx, ADMIN, {
                "channel": item["channel"], "category": item["category"],
                "agri_related": item["agri"], "village_code": village, "summary": "统计样本",
                "anonymous": True}, rules, vault).id
        if item["decide_after"] is not None:
            _at(item["received"] + timedelta(days=item["decide_after"]))
            item["not_accepted"] = rng.random() < 0.2
            with db.transaction() as tx:
                if item["not_accepted"]:
                    commands.not_accept(tx, ADMIN, pid, {"reason": "不属受理范围",
                                                         "competent_body": "区法院"})
                else:
                    commands.accept(tx, ADMIN, pid, rules)
                    commands.assign(tx, ADMIN, pid, "C1")
            if not item["not_accepted"] and item["answer_after"] is not None:
                _at(item["received"] + timedelta(days=item["decide_after"]
                                                 + item["answer_after"]))
                with db.transaction() as tx:
                    commands.answer(tx, ADMIN, pid, {"opinion": "已答复"}, rules)
        made.append(item)
    return made


def _disputes(db, month_start: date, count: int, rng: random.Random) -> list[dict]:
    rules, vault, made = Rules(), Vault(IDENTITY_KEY), []
    for _ in range(count):
        village, _, township = rng.choice(VILLAGES)
        item = {"township": township, "outcome": rng.choice(["none", "session", "agreed",
                                                              "referred"]),
                "risk": rng.choice(["low", "elevated", "high"])}
        _at(month_start + timedelta(days=rng.randrange(20)))
        with db.transaction() as tx:
            did = commands.register_dispute(tx, ADMIN, {
                "type": "land", "village_code": village, "description": "样本",
                "risk_level": item["risk"], "parties": [{"name": "甲"}, {"name": "乙"}],
                "mediator_ids": []}, vault).id
        if item["outcome"] != "none":
            with db.transaction() as tx:
                commands.hold_session(tx, ADMIN, did, {"date": clock.today_local(),
                                                       "notes": "调解"})
            with db.transaction() as tx:
                if item["outcome"] == "agreed":
                    commands.agree(tx, ADMIN, did, "协议", rules)
                elif item["outcome"] == "referred":
                    commands.fail(tx, ADMIN, did, "litigation")
        made.append(item)
    return made


def _expected(petitions: list[dict], disputes: list[dict], cutoff: date) -> dict:
    """``cutoff``: the earlier of the period's end and today. An item still undecided or
    unanswered whose due day is before it counts as late (total, not on time)."""
    decided = [p for p in petitions if p["decide_after"] is not None]
    undecided_late = [p for p in petitions if p["decide_after"] is None
                      and p["received"] + timedelta(days=15) < cutoff]
    answered = [p for p in decided if not p["not_accepted"] and p["answer_after"] is not None]
    unanswered_late = [p for p in decided if not p["not_accepted"] and p["answer_after"] is None
                       and p["received"] + timedelta(days=p["decide_after"] + 60) < cutoff]
    agreed = sum(1 for d in disputes if d["outcome"] == "agreed")
    referred = sum(1 for d in disputes if d["outcome"] == "referred")
    categories = Counter(p["category"] for p in petitions)
    channels = Counter(p["channel"] for p in petitions)
    return {
        "received": len(petitions),
        "by_category": {c: categories.get(c, 0) for c in DEFAULT_CATEGORIES},
        "by_channel": {c: channels.get(c, 0) for c in CHANNELS},
        "agri_related": sum(1 for p in petitions if p["agri"]),
        "not_accepted": sum(1 for p in decided if p["not_accepted"]),
        "answered": len(answered),
        "accept": (len(decided) + len(undecided_late),
                   sum(1 for p in decided if p["decide_after"] <= 15)),
        "handle": (len(answered) + len(unanswered_late),
                   sum(1 for p in answered if p["answer_after"] <= 60)),
        "disputes": {"registered": len(disputes),
                     "mediated": sum(1 for d in disputes if d["outcome"] != "none"),
                     "agreed": agreed, "referred": referred,
                     "high_risk": sum(1 for d in disputes if d["risk"] == "high"),
                     "agreement_rate": round(agreed / (agreed + referred), 4)
                     if agreed + referred else None},
    }


def _check(figures: dict, expected: dict) -> None:
    p = figures["petitions"]
    for key in ("received", "by_category", "by_channel", "agri_related", "not_accepted",
                "answered"):
        assert p[key] == expected[key], key
    for stage in ("accept", "handle"):
        total, good = expected[stage]
        assert (p["on_time"][stage]["total"], p["on_time"][stage]["on_time"]) == (total, good)
        assert p["on_time"][stage]["rate"] == (round(good / total, 4) if total else None)
    assert figures["disputes"] == expected["disputes"]


def test_statistics_match_an_independent_count(petitions, petitions_db):
    rng = random.Random(20261026)
    september = _generate(petitions_db, date(2026, 9, 1), 25, rng)
    october = _generate(petitions_db, date(2026, 10, 1), 40, rng)
    september_disputes = _disputes(petitions_db, date(2026, 9, 1), 8, rng)
    october_disputes = _disputes(petitions_db, date(2026, 10, 1), 12, rng)
    _generate(petitions_db, date(2026, 11, 1), 5, rng)  # outside both periods
    _at(date(2026, 11, 20))
    config = petitions.config
    with rpc_as(config, ADMIN) as rpc:
        result = rpc.petitions.statistics(query={"period": "2026-10"})
        for_t1 = rpc.petitions.statistics(query={"period": "2026-10", "township": T1})
    assert (result["period"], result["previous_period"]) == ("2026-10", "2026-09")
    october_end, september_end = date(2026, 11, 1), date(2026, 10, 1)  # both before today
    # the sample has undecided petitions past their acceptance deadline: they weigh as late
    assert any(p["decide_after"] is None and p["received"] + timedelta(days=15) < october_end
               for p in october)
    _check(result["current"], _expected(october, october_disputes, october_end))
    _check(result["previous"], _expected(september, september_disputes, september_end))
    by_township = {t["township_code"]: t for t in result["townships"]}
    assert sorted(by_township) == [T1, T2]
    for code in (T1, T2):
        _check(by_township[code]["current"], _expected(
            [p for p in october if p["township"] == code],
            [d for d in october_disputes if d["township"] == code], october_end))
        _check(by_township[code]["previous"], _expected(
            [p for p in september if p["township"] == code],
            [d for d in september_disputes if d["township"] == code], september_end))
    assert for_t1["current"] == by_township[T1]["current"]
    # a township officer sees its own township only
    with rpc_as(config, OFFICER1) as rpc:
        assert rpc.petitions.statistics(query={"period": "2026-10", "township": T1})[
            "current"] == by_township[T1]["current"]
        with pytest.raises(Forbidden):
            rpc.petitions.statistics(query={"period": "2026-10", "township": T2})

"""Statistics by period and township: sums exact to the fen over 10,000 disclosures, and
verified micro-corruption cases against the previous period."""

import random
from collections import defaultdict
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlalchemy import insert

from services.chassis import clock
from services.supervision import domain
from services.supervision.models import Disclosure
from tests.helpers import rpc_as
from tests.service import supervision_support as support
from tests.service.supervision_support import (
    ADMIN,
    INSPECTOR,
    MEMBER1,
    OFFICER1,
    VILLAGES,
    sup_transaction,
)

pytestmark = pytest.mark.service
sup_config, supervision = support.sup_config, support.supervision

N = 10_000
PUBLISHED = datetime(2026, 11, 1, tzinfo=UTC)


def _generate(seed: int = 20261126):
    """10,000 disclosures over two months, three villages in two townships; amounts from
    0.00 to 99,999,999.99 yuan (some kinds without one)."""
    rng = random.Random(seed)
    rows = []
    for n in range(N):
        code, _, township = rng.choice(VILLAGES)
        kind = rng.choice(domain.DISCLOSURE_KINDS)
        fen = rng.randint(0, 9_999_999_999)
        amount = None if kind == "other" and n % 2 else f"{fen // 100}.{fen % 100:02d}"
        rows.append({"id": f"DSGEN{n:06d}", "kind": kind, "village_code": code,
                     "township_code": township, "title": f"生成的公开 {n}", "body": "-",
                     "amount": amount, "period": rng.choice(("2026-10", "2026-11")),
                     "window_ends_on": PUBLISHED.date(), "published_at": PUBLISHED,
                     "state": "window_closed"})
    return rows


def _store(url: str, rows: list[dict]) -> None:
    """Through the service's own model and money rule, in chunks of multi-row INSERTs."""
    records = [{**{k: v for k, v in row.items() if k != "amount"},
                "amount_fen": None if row["amount"] is None
                else domain.yuan_to_fen(Decimal(row["amount"]))} for row in rows]
    with sup_transaction(url)() as tx:
        for start in range(0, len(records), 500):
            tx.session.execute(insert(Disclosure).values(records[start:start + 500]))


def test_sums_by_kind_and_township_are_exact_to_the_fen(supervision, sup_config):
    rows = _generate()
    _store(sup_config["DATABASE_URL"], rows)
    expected = defaultdict(lambda: [0, Decimal("0")])  # (period, township, kind) → count, sum
    for row in rows:
        for township in (row["township_code"], "*"):
            cell = expected[(row["period"], township, row["kind"])]
            cell[0] += 1
            cell[1] += Decimal(row["amount"] or "0")

    with rpc_as(sup_config, ADMIN) as rpc:
        stats = rpc.supervision.statistics(query={"period": "2026-11"})
        quarter = rpc.supervision.statistics(query={"period": "2026-Q4",
                                                    "township": "431102101"})
    assert stats["previous_period"] == "2026-10"
    blocks = [(t["township_code"], t) for t in stats["townships"]] + [("*", stats["total"])]
    assert [code for code, _ in blocks] == ["431102101", "431102102", "*"]
    checked = 0
    for township, block in blocks:
        for period, side in (("2026-11", "current"), ("2026-10", "previous")):
            for entry in block[side]["disclosures"]:
                count, total = expected[(period, township, entry["kind"])]
                assert entry["count"] == count, (township, period, entry["kind"])
                assert Decimal(entry["amount"]) == total, (township, period, entry["kind"])
                assert entry["amount"] == f"{total:.2f}"
                checked += 1
        livelihood = block["current"]["livelihood_projects"]
        assert Decimal(livelihood["amount"]) == expected[("2026-11", township,
                                                          "livelihood_project")][1]
    assert checked == 3 * 2 * len(domain.DISCLOSURE_KINDS)
    grand = sum(Decimal(r["amount"] or "0") for r in rows)
    assert sum(Decimal(e["amount"]) for side in ("current", "previous")
               for e in stats["total"][side]["disclosures"]) == grand
    # a quarter covers both months; one township only
    assert [t["township_code"] for t in quarter["townships"]] == ["431102101"]
    for entry in quarter["townships"][0]["current"]["disclosures"]:
        both = [expected[(p, "431102101", entry["kind"])] for p in ("2026-10", "2026-11")]
        assert entry["count"] == sum(c for c, _ in both)
        assert Decimal(entry["amount"]) == sum(s for _, s in both)


def _verified_clues(sup_config, n: int, when: datetime) -> None:
    clock.set_now(when)
    for _ in range(n):
        with rpc_as(sup_config, MEMBER1) as rpc:
            clue = rpc.supervision.refer_clue(data={
                "village_code": VILLAGES[0][0], "category": "village_finance",
                "content": "虚报冒领补贴"})
        with rpc_as(sup_config, INSPECTOR) as rpc:
            rpc.supervision.acknowledge_clue(clue_id=clue["id"])
            rpc.supervision.start_clue_review(clue_id=clue["id"])
            rpc.supervision.conclude_clue(clue_id=clue["id"], data={
                "outcome": "verified", "feedback": "已立案查处"})


def test_verified_cases_and_rectification_against_the_previous_period(supervision,
                                                                      sup_config):
    _verified_clues(sup_config, 4, datetime(2026, 10, 15, 2, tzinfo=UTC))
    _verified_clues(sup_config, 3, datetime(2026, 11, 15, 2, tzinfo=UTC))
    with rpc_as(sup_config, OFFICER1) as rpc:
        matters = [rpc.supervision.raise_matter(data={
            "village_code": VILLAGES[0][0], "title": f"整改事项{n}", "owner": "T431102101"})
            for n in range(2)]
        rpc.supervision.rectify_matter(matter_id=matters[0]["id"],
                                       data={"evidence": "已整改到位, 附照片"})
        stats = rpc.supervision.statistics(query={"period": "2026-11"})
    township = stats["townships"][0]
    assert township["township_code"] == "431102101"
    assert township["current"]["verified_cases"] == 3
    assert township["previous"]["verified_cases"] == 4
    assert township["verified_cases_change_percent"] == "-25.00"
    assert township["current"]["clues_by_outcome"] == {
        "verified": 3, "not_verified": 0, "handled_otherwise": 0}
    assert township["current"]["matters_raised"] == 2
    assert township["current"]["rectification_rate"] == "0.5000"
    assert stats["total"]["verified_cases_change_percent"] == "-25.00"

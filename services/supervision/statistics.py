"""Supervision statistics by period and township, with the previous period for comparison.

Counts and sums are SQL aggregates over exact types (amounts are integer fen), rendered as
decimal yuan strings; nothing is ever a float.
"""

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services.chassis.actor import Actor
from services.supervision import access, domain
from services.supervision.models import Alert, Clue, Disclosure, LocalVillage, Matter


def _empty_block() -> dict:
    return {"disclosures": {}, "procedure_alerts": 0, "matters_raised": 0,
            "matters_rectified": 0, "clues_referred": 0,
            "clues_by_outcome": dict.fromkeys(domain.CLUE_OUTCOMES, 0)}


def _blocks(session: Session, months: list[str], township: str | None,
            allowed: tuple[str, ...] | None = None) -> dict[str, dict]:
    """Per township: SQL counts and exact integer fen sums over the period's months."""
    blocks: dict[str, dict] = {}

    def block(code):
        return blocks.setdefault(code, _empty_block())

    def where(q, model, period_column):
        q = q.where(period_column.in_(months))
        if allowed is not None:
            q = q.where(model.township_code.in_(allowed))
        return q.where(model.township_code == township) if township else q

    for code, kind, count, fen in session.execute(where(
            select(Disclosure.township_code, Disclosure.kind, func.count(),
                   func.coalesce(func.sum(Disclosure.amount_fen), 0))
            .where(Disclosure.superseded_by_id.is_(None)), Disclosure, Disclosure.period)
            .group_by(Disclosure.township_code, Disclosure.kind)):
        block(code)["disclosures"][kind] = (count, int(fen))
    for code, count in session.execute(where(
            select(Alert.township_code, func.count())
            .where(Alert.kind.in_(domain.PROCEDURE_ALERTS)), Alert, Alert.period)
            .group_by(Alert.township_code)):
        block(code)["procedure_alerts"] = count
    for code, state, count in session.execute(where(
            select(Matter.township_code, Matter.state, func.count()), Matter, Matter.period)
            .group_by(Matter.township_code, Matter.state)):
        block(code)["matters_raised"] += count
        if state == "rectified":
            block(code)["matters_rectified"] += count
    for code, count in session.execute(where(
            select(Clue.township_code, func.count()), Clue, Clue.period)
            .group_by(Clue.township_code)):
        block(code)["clues_referred"] = count
    for code, outcome, count in session.execute(where(
            select(Clue.township_code, Clue.outcome, func.count())
            .where(Clue.outcome.is_not(None)), Clue, Clue.concluded_period)
            .group_by(Clue.township_code, Clue.outcome)):
        block(code)["clues_by_outcome"][outcome] = count
    return blocks


def _merge(blocks) -> dict:
    total = _empty_block()
    for b in blocks:
        for kind, (count, fen) in b["disclosures"].items():
            c, f = total["disclosures"].get(kind, (0, 0))
            total["disclosures"][kind] = (c + count, f + fen)
        for name in ("procedure_alerts", "matters_raised", "matters_rectified",
                     "clues_referred"):
            total[name] += b[name]
        for outcome, count in b["clues_by_outcome"].items():
            total["clues_by_outcome"][outcome] += count
    return total


def _render(b: dict) -> dict:
    def pair(kind):
        count, fen = b["disclosures"].get(kind, (0, 0))
        return {"count": count, "amount": domain.fen_to_yuan(fen)}

    return {
        "disclosures": [{"kind": kind, **pair(kind)} for kind in domain.DISCLOSURE_KINDS],
        "livelihood_projects": pair("livelihood_project"),
        "village_construction": pair("village_construction"),
        "procedure_alerts": b["procedure_alerts"],
        "matters_raised": b["matters_raised"], "matters_rectified": b["matters_rectified"],
        "rectification_rate": domain.rate(b["matters_rectified"], b["matters_raised"]),
        "clues_referred": b["clues_referred"], "clues_by_outcome": b["clues_by_outcome"],
        "verified_cases": b["clues_by_outcome"]["verified"],
    }


def _compare(current: dict, previous: dict) -> dict:
    return {"current": _render(current), "previous": _render(previous),
            "verified_cases_change_percent": domain.change_percent(
                current["clues_by_outcome"]["verified"],
                previous["clues_by_outcome"]["verified"])}


def statistics(session: Session, actor: Actor, period: str, township: str | None) -> dict:
    access.require_staff(actor)
    allowed = access.statistics_scope(actor, township)
    previous = domain.previous_period(period)
    now_blocks = _blocks(session, domain.period_months(period), township, allowed)
    before_blocks = _blocks(session, domain.period_months(previous), township, allowed)
    codes = set(now_blocks) | set(before_blocks)
    known = select(LocalVillage.township_code).where(LocalVillage.active.is_(True)).distinct()
    codes |= set(session.scalars(known))
    if allowed is not None:
        codes &= set(allowed)
    if township:
        codes = {township}
    townships = [{"township_code": code,
                  **_compare(now_blocks.get(code, _empty_block()),
                             before_blocks.get(code, _empty_block()))}
                 for code in sorted(codes)]
    total = {"township_code": township or "*",
             **_compare(_merge(now_blocks.values()), _merge(before_blocks.values()))}
    return {"period": period, "previous_period": previous, "townships": townships,
            "total": total}

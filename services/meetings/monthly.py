"""Monthly use cases: compliance of a month, the timers' effects (missed months, reminders,
overdue resolutions) and the statistics other services ask for.

Timers call plain functions over the store (``db.reading()`` / ``db.transaction()``) with
the time: tests call them directly with a set clock. Each effect is claimed with
``tx.once(key)`` in the transaction that applies it, so several instances apply and
publish it once.
"""

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.chassis.actor import Actor
from services.chassis.errors import Conflict, Forbidden
from services.chassis.store import ONCE, Transaction
from services.meetings import access, domain
from services.meetings.commands import meeting_event, resolution_event, village
from services.meetings.models import Base, Meeting, MissedMonth, Resolution, Village

# --- monthly compliance ------------------------------------------------------------------

def record_missed_reason(tx: Transaction, actor: Actor, village_code: str, month: str,
                         reason: str, now: datetime) -> MissedMonth:
    s = tx.session
    access.require_manage(actor, village_code)
    village(s, village_code)
    held = s.scalar(select(Meeting.id).where(
        Meeting.village_code == village_code, Meeting.month == month,
        Meeting.kind == "regular", Meeting.state.in_(("held", "disclosed"))))
    if held is not None:
        raise Conflict(f"该村 {month} 的例会已召开", {"state": ["held"]})
    missed = s.get(MissedMonth, (village_code, month))
    if missed is None:
        missed = MissedMonth(village_code=village_code, month=month, marked=False,
                             recorded_at=now)
        s.add(missed)
    missed.reason = reason
    return missed


def month_facts(session: Session, month: str, township: str | None = None
                ) -> tuple[list[Village], dict[str, str], set[str], dict[str, str | None]]:
    """Active villages, village → its held regular meeting, villages with a scheduled one,
    village → missed reason."""
    query = select(Village).where(Village.active.is_(True))
    if township:
        query = query.where(Village.township_code == township)
    villages = list(session.scalars(query.order_by(Village.code)))
    held: dict[str, str] = {}
    scheduled: set[str] = set()
    for meeting_id, code, state in session.execute(
            select(Meeting.id, Meeting.village_code, Meeting.state).where(
                Meeting.month == month, Meeting.kind == "regular",
                Meeting.state.in_(("scheduled", "held", "disclosed")))):
        if state == "scheduled":
            scheduled.add(code)
        else:
            held[code] = meeting_id
    missed = dict(session.execute(select(MissedMonth.village_code, MissedMonth.reason)
                                  .where(MissedMonth.month == month, MissedMonth.marked)).all())
    return villages, held, scheduled, missed


def compliance(session: Session, actor: Actor, month: str, township: str | None) -> dict:
    access.require_compliance(actor, township)
    if township is None and not (actor.is_system or access.ADMIN in actor.roles):
        if len(actor.townships) != 1:
            raise Forbidden("请指定本乡镇代码")
        township = actor.townships[0]
    villages, held, scheduled, missed = month_facts(session, month, township)
    statuses, townships, district = domain.compliance(
        [(v.code, v.township_code) for v in villages], set(held), scheduled, set(missed))
    return {
        "month": month, "district": district,
        "townships": [{"township_code": code, **counts}
                      for code, counts in sorted(townships.items())],
        "villages": [{"code": v.code, "name": v.name, "township_code": v.township_code,
                      "status": statuses[v.code], "meeting_id": held.get(v.code),
                      "missed_reason": missed.get(v.code)} for v in villages],
    }


# --- timers: plain functions over the store (``self.db``), safe with several instances ----

# days after a month ends before it is closed: a meeting held on the month's last evening
# can still be recorded as held the next morning
MISSED_GRACE_DAYS = 3


def mark_missed(db, now: datetime, grace_days: int = MISSED_GRACE_DAYS) -> int:
    """After a month ends (and ``grace_days`` more), every active village without a held
    regular meeting that month is marked missed and ``meeting.missed`` published, once per
    village and month."""
    month = domain.month_to_close(domain.local_day(now), grace_days)
    with db.reading() as session:
        villages, held, _, missed = month_facts(session, month)
    marked = 0
    for record in villages:
        if record.code in held or record.code in missed or record.since_month > month:
            continue  # cheap pre-check; the once key decides under concurrency
        with db.transaction() as tx:
            s = tx.session
            # locked as commands.hold_meeting locks it: a meeting held meanwhile is seen
            s.get(Village, record.code, with_for_update=True)
            still_missing = s.scalar(select(Meeting.id).where(
                Meeting.village_code == record.code, Meeting.month == month,
                Meeting.kind == "regular", Meeting.state.in_(("held", "disclosed")))) is None
            if not still_missing or not tx.once(f"meeting.missed:{record.code}:{month}"):
                continue
            row = s.get(MissedMonth, (record.code, month))
            if row is None:
                row = MissedMonth(village_code=record.code, month=month, recorded_at=now)
                s.add(row)
            row.marked = True
            tx.publish("meeting.missed", f"village/{record.code}/{month}", {
                "village_code": record.code, "township_code": record.township_code,
                "month": month, "reason": row.reason})
            marked += 1
    return marked


def send_reminders(db, now: datetime, days: int) -> int:
    """``meeting.reminder_due`` once per scheduled meeting, ``days`` before its day."""
    with db.reading() as session:
        due = [m.id for m in session.scalars(select(Meeting).where(
            Meeting.state == "scheduled", Meeting.starts_at > now))
            if domain.reminder_due(m.starts_at, now, days)]
        sent_already = _claimed(session, [f"meeting.reminder_due:{m}" for m in due])
    due = [m for m in due if f"meeting.reminder_due:{m}" not in sent_already]
    sent = 0
    for meeting_id in due:
        with db.transaction() as tx:
            meeting = tx.session.get(Meeting, meeting_id)
            if meeting.state != "scheduled" or not tx.once(f"meeting.reminder_due:{meeting.id}"):
                continue
            tx.publish("meeting.reminder_due", f"meeting/{meeting.id}", meeting_event(meeting))
            sent += 1
    return sent


def mark_overdue(db, now: datetime) -> int:
    """Unfinished resolutions past their deadline become overdue; published once each."""
    today = domain.local_day(now)
    with db.reading() as session:
        late = list(session.scalars(select(Resolution.id).where(
            Resolution.state.in_(domain.UNFINISHED), Resolution.deadline < today)))
    marked = 0
    for resolution_id in late:
        with db.transaction() as tx:
            resolution = tx.session.get(Resolution, resolution_id)
            if not domain.is_overdue(resolution.state, resolution.deadline, today):
                continue
            if not tx.once(f"resolution.overdue:{resolution.id}"):
                continue
            resolution.state, resolution.was_overdue = "overdue", True
            tx.publish("resolution.overdue", f"resolution/{resolution.id}",
                       resolution_event(resolution))
            marked += 1
    return marked


def _claimed(session: Session, keys: list[str]) -> set[str]:
    """Which once-keys are already claimed (a read; the claim itself is ``tx.once``)."""
    once = Base.metadata.tables[ONCE]
    claimed: set[str] = set()
    for start in range(0, len(keys), 500):
        claimed.update(session.scalars(select(once.c.key).where(
            once.c.key.in_(keys[start:start + 500]))))
    return claimed


# --- statistics for reports --------------------------------------------------------------

def months_between(month_from: str, month_to: str) -> list[str]:
    months, month = [], month_from
    while month <= month_to and len(months) < 120:
        months.append(month)
        month = domain.next_month(month)
    return months


def meeting_stats(session: Session, month_from: str, month_to: str,
                  township: str | None) -> list[dict]:
    """Per township and month: active villages, regular meetings held, villages missed,
    extra meetings held."""
    villages = select(Village.code, Village.township_code).where(Village.active.is_(True))
    if township:
        villages = villages.where(Village.township_code == township)
    township_of = dict(session.execute(villages).all())
    counts: dict[tuple[str, str], dict] = {}
    for month in months_between(month_from, month_to):
        for code in sorted(set(township_of.values())):
            counts[(code, month)] = {"township_code": code, "month": month, "villages": 0,
                                     "held": 0, "missed": 0, "extra_held": 0}
        for township_code in township_of.values():
            counts[(township_code, month)]["villages"] += 1
    for code, month, kind in session.execute(select(
            Meeting.village_code, Meeting.month, Meeting.kind).where(
            Meeting.month >= month_from, Meeting.month <= month_to,
            Meeting.state.in_(("held", "disclosed")))):
        key = (township_of.get(code), month)
        if key in counts:
            counts[key]["extra_held" if kind == "extra" else "held"] += 1
    for code, month in session.execute(select(MissedMonth.village_code, MissedMonth.month).where(
            MissedMonth.month >= month_from, MissedMonth.month <= month_to, MissedMonth.marked)):
        key = (township_of.get(code), month)
        if key in counts:
            counts[key]["missed"] += 1
    return [counts[key] for key in sorted(counts)]


def resolution_stats(session: Session, month_from: str, month_to: str,
                     township: str | None) -> list[dict]:
    """Per township, resolutions adopted at meetings of the months: completion rate, on time,
    overdue, average satisfaction."""
    query = select(Resolution, Village.township_code).join(
        Meeting, Meeting.id == Resolution.meeting_id).join(
        Village, Village.code == Resolution.village_code).where(
        Meeting.month >= month_from, Meeting.month <= month_to)
    if township:
        query = query.where(Village.township_code == township)
    rows: dict[str, dict] = {}
    scores: dict[str, list[int]] = {}
    for resolution, township_code in session.execute(query):
        row = rows.setdefault(township_code, {"township_code": township_code, "adopted": 0,
                                              "done": 0, "done_on_time": 0, "overdue": 0,
                                              "open": 0})
        row["adopted"] += 1
        if resolution.state == "done":
            row["done"] += 1
            completed = domain.local_day(resolution.completed_at)
            row["done_on_time"] += int(completed <= resolution.deadline)
            if resolution.satisfaction is not None:
                scores.setdefault(township_code, []).append(resolution.satisfaction)
        elif resolution.state == "overdue":
            row["overdue"] += 1
        else:
            row["open"] += 1
    for code, row in rows.items():
        row["completion_rate"] = domain.rate(row["done"], row["adopted"])
        values = scores.get(code)
        row["average_satisfaction"] = round(sum(values) / len(values), 2) if values else None
    return [rows[code] for code in sorted(rows)]

"""Supervision use cases: one plain function per operation, called by the entrypoints, the
event handlers and the timers (tests call them directly too).

Each takes a ``Transaction`` (or a session for reads), the verified actor where a person
acts, and loaded input; it checks access, applies the domain rules, writes, and publishes
events through the outbox. Nothing here does network I/O.
"""

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import false, func, or_, select
from sqlalchemy.orm import Session

from services.chassis import ratelimit
from services.chassis.actor import Actor
from services.chassis.errors import Conflict, NotFound, ValidationFailed
from services.chassis.store import ONCE, Transaction
from services.supervision import access, catalogue, domain
from services.supervision.models import (
    Alert,
    Base,
    Clue,
    ClueRead,
    Disclosure,
    Exercise,
    ExerciseStep,
    LocalVillage,
    Matter,
    Objection,
    PowerItem,
    RateCounter,
)
from services.supervision.vault import Vault


@dataclass(frozen=True)
class Settings:
    window_days: int = 7
    matter_days: int = 30
    clue_acknowledge_days: int = 7
    clue_conclude_days: int = 90
    finance_grace_days: int = 0  # a month's finance disclosure is due by this day of the next
    objection_rate_limit: int = 10  # public objections per client and window
    rate_window_seconds: int = 3600

    @classmethod
    def from_config(cls, config: dict) -> "Settings":
        values = config.get("SUPERVISION") or {}
        return cls(**{name: int(values[name]) for name in cls.__dataclass_fields__
                      if values.get(name) is not None})


def new_id(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:12].upper()}"


def _fail(errors: dict) -> None:
    if errors:
        raise ValidationFailed("输入有误", errors)


def _conflict(message: str, state: str) -> Conflict:
    return Conflict(f"{message}(当前状态: {state})", {"state": [state]})


def _scoped(q, actor: Actor, village_column, township_column, owner_column=None):
    """Restrict a list query to the rows the actor may read (see ``access.readable_scope``)."""
    everything, townships, villages = access.readable_scope(actor)
    if everything:
        return q
    allowed = [village_column.in_(villages)] if villages else []
    if townships:
        allowed.append(township_column.in_(townships))
    if owner_column is not None and actor.person_id:
        allowed.append(owner_column == actor.person_id)
    return q.where(or_(*allowed)) if allowed else q.where(false())


def _require_village(session: Session, code: str, field: str = "village_code") -> LocalVillage:
    village = session.get(LocalVillage, code)
    if village is None or not village.active:
        _fail({field: ["村不存在或已停用"]})
    return village


# --- local copy of villages (registry events) ---------------------------------------------

def upsert_village(tx: Transaction, data: dict) -> None:
    village = tx.session.get(LocalVillage, data["code"])
    if village is None:
        tx.session.add(LocalVillage(code=data["code"], name=data["name"],
                                    township_code=data["township_code"],
                                    active=data.get("active", True)))
        return
    village.name = data["name"]
    village.township_code = data["township_code"]
    village.active = data.get("active", True)


# --- micro-power catalogue ----------------------------------------------------------------

def load_catalogue(tx: Transaction, actor: Actor) -> dict:
    """Insert the default items that are missing: safe to run any number of times."""
    access.require_admin(actor)
    added = catalogue.install(tx.session.connection(), PowerItem.__table__)
    total = tx.session.scalar(select(func.count()).select_from(PowerItem).where(
        PowerItem.village_code.is_(None)))
    return {"added": added, "total": total}


def list_items(session: Session, category: str | None, village: str | None, page: int,
               page_size: int) -> tuple[list[PowerItem], int]:
    query = select(PowerItem).where(PowerItem.active.is_(True))
    if village:
        query = query.where((PowerItem.village_code.is_(None))
                            | (PowerItem.village_code == village))
    else:
        query = query.where(PowerItem.village_code.is_(None))
    if category:
        query = query.where(PowerItem.category == category)
    total = session.scalar(select(func.count()).select_from(query.subquery()))
    items = session.scalars(query.order_by(PowerItem.village_code.is_not(None), PowerItem.id)
                            .offset((page - 1) * page_size).limit(page_size))
    return list(items), total


def add_local_item(tx: Transaction, actor: Actor, data: dict) -> PowerItem:
    access.require_local_item_writer(actor, data["village_code"])
    _require_village(tx.session, data["village_code"])
    if tx.session.get(PowerItem, data["id"]) is not None:
        raise Conflict(f"权力事项编号 {data['id']} 已存在", {"id": ["已存在"]})
    item = PowerItem(id=data["id"], category=data["category"], name=data["name"],
                     village_code=data["village_code"], steps=data["steps"],
                     requires_disclosure=data["requires_disclosure"]
                     or data["category"] == "benefit_fund", active=True)
    tx.session.add(item)
    return item


def get_item(session: Session, item_id: str) -> PowerItem:
    item = session.get(PowerItem, item_id)
    if item is None:
        raise NotFound("权力事项不存在")
    return item


# --- exercises of power items -------------------------------------------------------------

def start_exercise(tx: Transaction, actor: Actor, village_code: str, data: dict,
                   now: datetime) -> Exercise:
    access.require_village_writer(actor, village_code)
    s = tx.session
    _require_village(s, village_code, "village_code")
    item = s.get(PowerItem, data["item_id"])
    if item is None or not item.active or item.village_code not in (None, village_code):
        _fail({"item_id": ["该村没有这个权力事项"]})
    exercise = Exercise(id=new_id("PE"), item_id=item.id, village_code=village_code,
                        township_code=domain.township_of(village_code), title=data["title"],
                        state="in_progress",
                        started_on=data.get("started_on") or domain.local_day(now),
                        created_at=now)
    s.add(exercise)
    s.flush()
    tx.publish("power.exercise_started", f"exercise/{exercise.id}", {
        "exercise_id": exercise.id, "item_id": item.id, "category": item.category,
        "village_code": village_code, "started_on": exercise.started_on})
    return exercise


def get_exercise_record(session: Session, exercise_id: str, lock: bool = False) -> Exercise:
    """``lock``: SELECT ... FOR UPDATE (PostgreSQL) for a change of state."""
    exercise = session.get(Exercise, exercise_id, with_for_update=lock)
    if exercise is None:
        raise NotFound("权力行使记录不存在")
    return exercise


def _open_exercise(tx: Transaction, actor: Actor, exercise_id: str) -> tuple[Exercise,
                                                                              PowerItem]:
    exercise = get_exercise_record(tx.session, exercise_id, lock=True)
    access.require_village_writer(actor, exercise.village_code)
    if exercise.state != "in_progress":
        raise _conflict("该权力行使已办结, 不能再修改",
                        exercise.state)
    return exercise, tx.session.get(PowerItem, exercise.item_id)


def _recorded_steps(session: Session, exercise_id: str) -> dict[str, date]:
    return dict(session.execute(select(ExerciseStep.step_key, ExerciseStep.done_on).where(
        ExerciseStep.exercise_id == exercise_id)).all())


def _alerted_steps(session: Session, exercise_id: str) -> set:
    return set(session.scalars(select(Alert.step_key).where(Alert.exercise_id == exercise_id)))


def record_step(tx: Transaction, actor: Actor, exercise_id: str, data: dict, now: datetime,
                settings: Settings) -> Exercise:
    exercise, item = _open_exercise(tx, actor, exercise_id)
    s = tx.session
    procedure = [step["key"] for step in item.steps]
    if data["step"] not in procedure:
        _fail({"step": [f"“{item.name}”的规定程序中没有这个步骤, 应为: "
                        + ", ".join(procedure)]})
    recorded = _recorded_steps(s, exercise.id)
    if data["step"] in recorded:
        raise Conflict(f"步骤 {data['step']} 已登记", {"step": ["已登记"],
                                                    "state": [exercise.state]})
    alerts = domain.step_alerts(procedure, recorded, data["step"], data["done_on"])
    s.add(ExerciseStep(exercise_id=exercise.id, step_key=data["step"], done_on=data["done_on"],
                       responsible=data["responsible"], evidence=data["evidence"],
                       recorded_at=now))
    s.flush()
    alerted = _alerted_steps(s, exercise.id)
    for alert in alerts:
        if alert.step not in alerted:
            _raise_alert(tx, exercise, item, alert, now, settings)
            alerted.add(alert.step)
    return exercise


def complete_exercise(tx: Transaction, actor: Actor, exercise_id: str, now: datetime,
                      settings: Settings) -> Exercise:
    exercise, item = _open_exercise(tx, actor, exercise_id)
    s = tx.session
    procedure = [step["key"] for step in item.steps]
    has_disclosure = s.scalar(select(func.count()).select_from(Disclosure).where(
        Disclosure.exercise_id == exercise.id)) > 0
    alerts = domain.completion_alerts(procedure, set(_recorded_steps(s, exercise.id)),
                                      _alerted_steps(s, exercise.id), item.requires_disclosure,
                                      has_disclosure)
    for alert in alerts:
        _raise_alert(tx, exercise, item, alert, now, settings)
    exercise.state = "completed"
    exercise.completed_on = domain.local_day(now)
    total = s.scalar(select(func.count()).select_from(Alert).where(
        Alert.exercise_id == exercise.id))
    tx.publish("power.exercise_completed", f"exercise/{exercise.id}", {
        "exercise_id": exercise.id, "item_id": item.id, "category": item.category,
        "village_code": exercise.village_code, "started_on": exercise.started_on,
        "completed_on": exercise.completed_on, "alerts": total})
    return exercise


def _raise_alert(tx: Transaction, exercise: Exercise, item: PowerItem, alert: domain.Alert,
                 now: datetime, settings: Settings) -> Alert:
    names = {step["key"]: step["name"] for step in item.steps}
    summary = domain.alert_summary(alert, names)
    record = Alert(id=new_id("AL"), kind=alert.kind, village_code=exercise.village_code,
                   township_code=exercise.township_code, exercise_id=exercise.id,
                   step_key=alert.step, summary=summary,
                   period=domain.month_of(domain.local_day(now)), raised_at=now)
    tx.session.add(record)
    tx.session.flush()
    matter = raise_matter(tx, "procedure_alert", record.id, exercise.village_code,
                          f"{item.name}: {summary}"[:200],
                          f"权力行使“{exercise.title}”({exercise.id}) {summary}",
                          _township_owner(exercise.village_code), None, now, settings)
    record.matter_id = matter.id
    tx.publish("power.procedure_violated", f"exercise/{exercise.id}", {
        "alert_id": record.id, "exercise_id": exercise.id, "item_id": item.id,
        "category": item.category, "village_code": exercise.village_code, "kind": alert.kind,
        "step": alert.step, "matter_id": matter.id})
    return record


def exercise_detail(session: Session, exercise: Exercise) -> dict:
    item = session.get(PowerItem, exercise.item_id)
    names = {step["key"]: step["name"] for step in item.steps}
    order = {step["key"]: n for n, step in enumerate(item.steps)}
    steps = sorted(session.scalars(select(ExerciseStep).where(
        ExerciseStep.exercise_id == exercise.id)), key=lambda st: (st.done_on, order[st.step_key]))
    alerts = session.scalars(select(Alert).where(Alert.exercise_id == exercise.id)
                             .order_by(Alert.raised_at, Alert.id))
    return {
        "id": exercise.id, "item_id": item.id, "item_name": item.name,
        "category": item.category, "village_code": exercise.village_code,
        "title": exercise.title, "state": exercise.state, "started_on": exercise.started_on,
        "completed_on": exercise.completed_on,
        "steps": [{"step": st.step_key, "name": names[st.step_key], "done_on": st.done_on,
                   "responsible": st.responsible, "evidence": st.evidence} for st in steps],
        "alerts": [{"id": a.id, "kind": a.kind, "step": a.step_key, "summary": a.summary,
                    "matter_id": a.matter_id, "raised_at": a.raised_at} for a in alerts],
    }


def list_exercises(session: Session, actor: Actor, village_code: str, state: str | None,
                   page: int, page_size: int) -> tuple[list[Exercise], int]:
    access.require_reader(actor, village_code)
    query = select(Exercise).where(Exercise.village_code == village_code)
    if state:
        query = query.where(Exercise.state == state)
    total = session.scalar(select(func.count()).select_from(query.subquery()))
    rows = session.scalars(query.order_by(Exercise.created_at.desc(), Exercise.id)
                           .offset((page - 1) * page_size).limit(page_size))
    return list(rows), total


def list_alerts(session: Session, actor: Actor, query: dict) -> tuple[list[dict], int]:
    q = _scoped(select(Alert), actor, Alert.village_code, Alert.township_code)
    for name, column in (("village", Alert.village_code), ("township", Alert.township_code),
                         ("kind", Alert.kind)):
        if query.get(name):
            q = q.where(column == query[name])
    if query.get("period"):
        q = q.where(Alert.period.in_(domain.period_months(query["period"])))
    total = session.scalar(select(func.count()).select_from(q.subquery()))
    page, size = query["page"], query["page_size"]
    rows = session.scalars(q.order_by(Alert.raised_at.desc(), Alert.id)
                           .offset((page - 1) * size).limit(size))
    return [{"id": a.id, "kind": a.kind, "step": a.step_key, "summary": a.summary,
             "matter_id": a.matter_id, "raised_at": a.raised_at,
             "village_code": a.village_code, "township_code": a.township_code,
             "exercise_id": a.exercise_id, "disclosure_id": a.disclosure_id,
             "period": a.period} for a in rows], total


# --- disclosures --------------------------------------------------------------------------

def publish_disclosure(tx: Transaction, actor: Actor, data: dict, now: datetime,
                       settings: Settings, corrects: Disclosure | None = None) -> Disclosure:
    s = tx.session
    village_code = data["village_code"]
    access.require_village_writer(actor, village_code)
    _require_village(s, village_code)
    exercise_id = data.get("exercise_id")
    if exercise_id:
        exercise = s.get(Exercise, exercise_id)
        if exercise is None or exercise.village_code != village_code:
            _fail({"exercise_id": ["该村没有这个权力行使记录"]})
    today = domain.local_day(now)
    days = data.get("window_days") or settings.window_days
    amount = data.get("amount")
    disclosure = Disclosure(
        id=new_id("DS"), kind=data["kind"], village_code=village_code,
        township_code=domain.township_of(village_code), title=data["title"], body=data["body"],
        amount_fen=None if amount is None else domain.yuan_to_fen(amount),
        fund_source=data.get("fund_source"), beneficiaries=data.get("beneficiaries"),
        exercise_id=exercise_id, finance_month=data.get("finance_month"),
        period=domain.month_of(today), published_at=now,
        window_ends_on=domain.window_ends_on(today, days), state="published",
        corrects_id=corrects.id if corrects else None)
    s.add(disclosure)
    s.flush()
    tx.publish("disclosure.published", f"disclosure/{disclosure.id}", {
        "disclosure_id": disclosure.id, "kind": disclosure.kind, "village_code": village_code,
        "township_code": disclosure.township_code,
        "amount": None if amount is None else str(domain.fen_to_yuan(disclosure.amount_fen)),
        "period": disclosure.period, "window_ends_on": disclosure.window_ends_on,
        "corrects_id": disclosure.corrects_id, "exercise_id": exercise_id})
    return disclosure


def get_disclosure_record(session: Session, disclosure_id: str,
                          lock: bool = False) -> Disclosure:
    disclosure = session.get(Disclosure, disclosure_id, with_for_update=lock)
    if disclosure is None:
        raise NotFound("公开事项不存在")
    return disclosure


def correct_disclosure(tx: Transaction, actor: Actor, disclosure_id: str, data: dict,
                       now: datetime, settings: Settings) -> Disclosure:
    """A corrected re-disclosure after an upheld objection; it links to the original."""
    s = tx.session
    original = get_disclosure_record(s, disclosure_id, lock=True)
    access.require_village_writer(actor, original.village_code)
    if original.superseded_by_id:
        raise _conflict(f"该公开已被 {original.superseded_by_id} 更正", "corrected")
    upheld = s.scalar(select(func.count()).select_from(Objection).where(
        Objection.disclosure_id == original.id, Objection.upheld.is_(True)))
    if not upheld:
        raise _conflict("只有异议成立后才能更正公开", original.state)
    data = {**domain.corrected_fields({
        "amount": domain.fen_to_yuan(original.amount_fen), "fund_source": original.fund_source,
        "beneficiaries": original.beneficiaries}, data),
        "kind": original.kind, "village_code": original.village_code,
        "exercise_id": original.exercise_id, "finance_month": original.finance_month}
    _fail(domain.disclosure_kind_errors(data))
    corrected = publish_disclosure(tx, actor, data, now, settings, corrects=original)
    original.superseded_by_id = corrected.id
    tx.publish("disclosure.corrected", f"disclosure/{original.id}", {
        "disclosure_id": original.id, "corrected_by": corrected.id,
        "village_code": original.village_code})
    return corrected


def count_request(tx: Transaction, client_key: str, bucket: str, limit: int,
                  window_seconds: int, now: datetime) -> None:
    """Count a public request; 429 beyond ``limit`` in the window (rolled back with it)."""
    ratelimit.count_request(tx.session, RateCounter, client_key, bucket, limit, window_seconds,
                            now, "提出异议过于频繁, 请稍后再试")


def prune_rate_counters(transaction: "TransactionFactory", now: datetime,
                        window_seconds: int) -> None:
    with transaction() as tx:
        ratelimit.prune(tx.session, RateCounter, window_seconds, now)


def file_objection(tx: Transaction, actor: Actor, disclosure_id: str, data: dict,
                   now: datetime) -> Objection:
    """In the window only. ``data["person_id"]`` was checked against the registry before."""
    s = tx.session
    disclosure = get_disclosure_record(s, disclosure_id)
    access.require_objection_signer(actor, data)
    if disclosure.superseded_by_id:
        raise _conflict(f"该公开已被 {disclosure.superseded_by_id} 更正, 请对更正后的公开提出异议",
                        "corrected")
    if not domain.window_open(disclosure.window_ends_on, domain.local_day(now)):
        raise _conflict(f"公示期已于 {disclosure.window_ends_on.isoformat()} 结束, 不再受理异议",
                        "window_closed")
    objection = Objection(id=new_id("OB"), disclosure_id=disclosure.id,
                          content=data["content"], anonymous=data["anonymous"],
                          person_id=None if data["anonymous"] else data["person_id"],
                          filed_at=now, state="open")
    s.add(objection)
    s.flush()
    tx.publish("disclosure.objection_filed", f"disclosure/{disclosure.id}", {
        "disclosure_id": disclosure.id, "objection_id": objection.id,
        "village_code": disclosure.village_code, "anonymous": objection.anonymous})
    return objection


def answer_objection(tx: Transaction, actor: Actor, disclosure_id: str, objection_id: str,
                     data: dict, now: datetime) -> Objection:
    s = tx.session
    disclosure = get_disclosure_record(s, disclosure_id)
    access.require_village_writer(actor, disclosure.village_code)
    objection = s.get(Objection, objection_id, with_for_update=True)
    if objection is None or objection.disclosure_id != disclosure.id:
        raise NotFound("异议不存在")
    if objection.state != "open":
        raise _conflict("该异议已答复", objection.state)
    objection.state = "answered"
    objection.answer = data["answer"]
    objection.upheld = data["upheld"]
    objection.answered_at = now
    tx.publish("disclosure.objection_answered", f"disclosure/{disclosure.id}", {
        "disclosure_id": disclosure.id, "objection_id": objection.id,
        "village_code": disclosure.village_code, "upheld": objection.upheld})
    return objection


def disclosure_summary(d: Disclosure, village_names: dict[str, str]) -> dict:
    return {"id": d.id, "kind": d.kind, "village_code": d.village_code,
            "village_name": village_names.get(d.village_code),
            "township_code": d.township_code, "title": d.title,
            "amount": domain.fen_to_yuan(d.amount_fen), "period": d.period,
            "published_at": d.published_at, "window_ends_on": d.window_ends_on,
            "state": d.state, "corrects_id": d.corrects_id,
            "superseded_by_id": d.superseded_by_id}


def _village_names(session: Session, codes) -> dict[str, str]:
    codes = set(codes)
    if not codes:
        return {}
    return dict(session.execute(select(LocalVillage.code, LocalVillage.name).where(
        LocalVillage.code.in_(codes))).all())


def disclosure_detail(session: Session, d: Disclosure, staff: bool, today: date) -> dict:
    """The disclosure, its objections with answers, and the versions it corrected."""
    history, current = [], d
    while current.corrects_id:
        current = session.get(Disclosure, current.corrects_id)
        history.append(current)
    names = _village_names(session, [d.village_code])
    objections = []
    for o in session.scalars(select(Objection).where(Objection.disclosure_id == d.id)
                             .order_by(Objection.filed_at, Objection.id)):
        view = {c.key: getattr(o, c.key) for c in Objection.__table__.columns}
        if not staff:
            view.pop("person_id")
        objections.append(view)
    return {**disclosure_summary(d, names), "body": d.body, "fund_source": d.fund_source,
            "beneficiaries": d.beneficiaries, "exercise_id": d.exercise_id,
            "finance_month": d.finance_month,
            "window_open": domain.window_open(d.window_ends_on, today),
            "objections": objections,
            "history": [disclosure_summary(h, names) for h in history]}


def list_disclosures(session: Session, query: dict) -> tuple[list[dict], int]:
    q = select(Disclosure)
    if query.get("village"):
        q = q.where(Disclosure.village_code == query["village"])
    if query.get("township"):
        q = q.where(Disclosure.township_code == query["township"])
    if query.get("kind"):
        q = q.where(Disclosure.kind == query["kind"])
    if query.get("period"):
        q = q.where(Disclosure.period.in_(domain.period_months(query["period"])))
    if not query.get("include_superseded"):
        q = q.where(Disclosure.superseded_by_id.is_(None))
    total = session.scalar(select(func.count()).select_from(q.subquery()))
    page, size = query["page"], query["page_size"]
    rows = list(session.scalars(q.order_by(Disclosure.published_at.desc(), Disclosure.id)
                                .offset((page - 1) * size).limit(size)))
    names = _village_names(session, [d.village_code for d in rows])
    return [disclosure_summary(d, names) for d in rows], total


# --- supervision matters ------------------------------------------------------------------

def _township_owner(village_code: str) -> str:
    """Matters raised by the system belong to the village's township office."""
    return f"T{domain.township_of(village_code)}"


def _matter_event(m: Matter) -> dict:
    return {"matter_id": m.id, "village_code": m.village_code, "township_code": m.township_code,
            "source": m.source, "source_ref": m.source_ref, "deadline": m.deadline,
            "state": m.state, "rectified_on": m.rectified_on}


def raise_matter(tx: Transaction, source: str, source_ref: str | None, village_code: str,
                 title: str, summary: str, owner: str, deadline: date | None, now: datetime,
                 settings: Settings) -> Matter:
    """Raise a matter, or return the one already raised from the same source."""
    s = tx.session
    if source_ref is not None:
        existing = s.scalar(select(Matter).where(Matter.source == source,
                                                 Matter.source_ref == source_ref))
        if existing is not None:
            return existing
    today = domain.local_day(now)
    matter = Matter(id=new_id("MT"), source=source, source_ref=source_ref,
                    village_code=village_code, township_code=domain.township_of(village_code),
                    title=title, summary=summary, owner=owner,
                    deadline=deadline or domain.due_date(today, settings.matter_days),
                    state="open", overdue=False, period=domain.month_of(today), raised_at=now,
                    referred_topic=False)
    s.add(matter)
    s.flush()
    tx.publish("matter.raised", f"matter/{matter.id}", _matter_event(matter))
    return matter


def raise_direct_matter(tx: Transaction, actor: Actor, data: dict, now: datetime,
                        settings: Settings) -> Matter:
    """A member or officer raises a matter; the owner was checked against the registry."""
    access.require_matter_raiser(actor, data["village_code"])
    _require_village(tx.session, data["village_code"])
    if data.get("deadline") and data["deadline"] < domain.local_day(now):
        _fail({"deadline": ["整改期限不能早于今天"]})
    return raise_matter(tx, "direct", None, data["village_code"], data["title"],
                        data["summary"], data["owner"], data.get("deadline"), now, settings)


def on_topic_accepted(tx: Transaction, data: dict, now: datetime,
                      settings: Settings) -> Matter | None:
    """A topic on the ``supervise`` platform not raised by supervision itself → a matter."""
    if data["platform"] != "supervise" or data["source"] == "supervision":
        return None
    return raise_matter(tx, "meeting_topic", data["topic_id"], data["village_code"],
                        data["title"][:200], f"月例会议题 {data['topic_id']} 已受理, 转为监督事项",
                        _township_owner(data["village_code"]), None, now, settings)


def on_petition_referred(tx: Transaction, data: dict, now: datetime,
                         settings: Settings) -> Matter:
    return raise_matter(tx, "petition", data["petition_id"], data["village_code"],
                        f"信访转监督: {data['category']}"[:200], data["summary"][:2000],
                        _township_owner(data["village_code"]), None, now, settings)


def get_matter_record(session: Session, matter_id: str, lock: bool = False) -> Matter:
    matter = session.get(Matter, matter_id, with_for_update=lock)
    if matter is None:
        raise NotFound("监督事项不存在")
    return matter


def rectify_matter(tx: Transaction, actor: Actor, matter_id: str, evidence: str,
                   now: datetime) -> Matter:
    matter = get_matter_record(tx.session, matter_id, lock=True)
    access.require_matter_handler(actor, matter.village_code, matter.owner)
    if matter.state != "open":
        raise _conflict("该事项已整改", matter.state)
    matter.state = "rectified"
    matter.evidence = evidence
    matter.rectified_on = domain.local_day(now)
    tx.publish("matter.rectified", f"matter/{matter.id}", _matter_event(matter))
    return matter


def refer_matter_to_meeting(tx: Transaction, actor: Actor, matter_id: str,
                            summary: str | None) -> Matter:
    matter = get_matter_record(tx.session, matter_id, lock=True)
    access.require_matter_raiser(actor, matter.village_code)
    if matter.state != "open":
        raise _conflict("已整改的事项不再提交月例会", matter.state)
    if matter.referred_topic:
        raise _conflict("该事项已提交月例会", "referred_to_meeting")
    matter.referred_topic = True
    tx.publish("matter.referred_to_meeting", f"matter/{matter.id}", {
        "matter_id": matter.id, "village_code": matter.village_code,
        "title": matter.title[:100], "summary": (summary or matter.summary or matter.title)[:2000],
        "platform": "supervise"})
    return matter


def list_matters(session: Session, actor: Actor, query: dict) -> tuple[list[Matter], int]:
    q = _scoped(select(Matter), actor, Matter.village_code, Matter.township_code, Matter.owner)
    for name, column in (("village", Matter.village_code), ("township", Matter.township_code),
                         ("state", Matter.state), ("source", Matter.source)):
        if query.get(name):
            q = q.where(column == query[name])
    total = session.scalar(select(func.count()).select_from(q.subquery()))
    page, size = query["page"], query["page_size"]
    rows = session.scalars(q.order_by(Matter.raised_at.desc(), Matter.id)
                           .offset((page - 1) * size).limit(size))
    return list(rows), total


# --- clues to discipline inspection -------------------------------------------------------

def clue_event(c: Clue, overdue: str | None = None) -> dict:
    return {"reference_no": c.reference_no, "village_code": c.village_code,
            "category": c.category, "state": c.state, "outcome": c.outcome,
            "referred_on": c.referred_on, "acknowledge_due": c.acknowledge_due,
            "conclude_due": c.conclude_due, "acknowledged_on": c.acknowledged_on,
            "concluded_on": c.concluded_on, "overdue": overdue}


def refer_clue(tx: Transaction, actor: Actor, data: dict, vault: Vault, now: datetime,
               settings: Settings) -> Clue:
    access.require_clue_referrer(actor, data["village_code"])
    s = tx.session
    _require_village(s, data["village_code"])
    if data["source"] == "matter":
        matter = s.get(Matter, data["source_ref"])
        if matter is None or matter.village_code != data["village_code"]:
            _fail({"source_ref": ["该村没有这个监督事项"]})
    today = domain.local_day(now)
    clue_id = new_id("CL")
    clue = Clue(id=clue_id, reference_no=domain.reference_number(today, clue_id[-6:]),
                source=data["source"], source_ref=data.get("source_ref"),
                village_code=data["village_code"],
                township_code=domain.township_of(data["village_code"]),
                category=data["category"], content=vault.encrypt(data["content"]),
                whistleblower=vault.encrypt(data.get("whistleblower")), state="referred",
                referred_by=actor.username or (actor.service or "system"), referred_on=today,
                period=domain.month_of(today),
                acknowledge_due=domain.due_date(today, settings.clue_acknowledge_days),
                conclude_due=domain.due_date(today, settings.clue_conclude_days))
    s.add(clue)
    s.flush()
    tx.publish("clue.referred", f"clue/{clue.reference_no}", clue_event(clue))
    return clue


def get_clue_record(session: Session, clue_id: str, lock: bool = False) -> Clue:
    clue = session.get(Clue, clue_id, with_for_update=lock)
    if clue is None:
        raise NotFound("线索不存在")
    return clue


def read_clue_content(tx: Transaction, actor: Actor, clue_id: str, vault: Vault,
                      now: datetime) -> dict:
    """Decrypt for discipline inspection; the read is audited in the same transaction."""
    clue = get_clue_record(tx.session, clue_id)
    access.require_clue_content_reader(actor)
    tx.session.add(ClueRead(clue_id=clue.id, reader=actor.username or "?",
                            person_id=actor.person_id, roles=",".join(actor.roles), read_at=now))
    return {**clue_metadata(clue), "source_ref": clue.source_ref,
            "content": vault.decrypt(clue.content),
            "whistleblower": vault.decrypt(clue.whistleblower),
            "feedback": vault.decrypt(clue.feedback), "referred_by": clue.referred_by}


def clue_metadata(c: Clue) -> dict:
    return {"id": c.id, "reference_no": c.reference_no, "village_code": c.village_code,
            "category": c.category, "source": c.source, "state": c.state,
            "outcome": c.outcome, "referred_on": c.referred_on,
            "acknowledge_due": c.acknowledge_due, "conclude_due": c.conclude_due,
            "acknowledged_on": c.acknowledged_on, "concluded_on": c.concluded_on}


def advance_clue(tx: Transaction, actor: Actor, clue_id: str, action: str, now: datetime,
                 vault: Vault, data: dict | None = None) -> Clue:
    clue = get_clue_record(tx.session, clue_id, lock=True)
    access.require_inspector(actor)
    after = domain.clue_next_state(clue.state, action)
    if after is None:
        raise _conflict(f"线索当前为“{domain.CLUE_STATE_NAMES[clue.state]}”, 不能执行此操作",
                        clue.state)
    today = domain.local_day(now)
    clue.state = after
    if action == "acknowledge":
        clue.acknowledged_on = today
        event = "clue.acknowledged"
    elif action == "start_review":
        event = "clue.review_started"
    else:
        clue.outcome = data["outcome"]
        clue.feedback = vault.encrypt(data["feedback"])
        clue.concluded_on = today
        clue.concluded_period = domain.month_of(today)
        event = "clue.concluded"
    tx.publish(event, f"clue/{clue.reference_no}", clue_event(clue))
    return clue


def list_clues(session: Session, actor: Actor, query: dict) -> tuple[list[Clue], int]:
    q = select(Clue)
    if not actor.has("district_admin", "discipline_inspector"):
        q = q.where(Clue.referred_by == actor.username)
    if query.get("state"):
        q = q.where(Clue.state == query["state"])
    total = session.scalar(select(func.count()).select_from(q.subquery()))
    page, size = query["page"], query["page_size"]
    rows = session.scalars(q.order_by(Clue.referred_on.desc(), Clue.id)
                           .offset((page - 1) * size).limit(size))
    return list(rows), total


def clue_reads(session: Session, actor: Actor, clue_id: str) -> list[ClueRead]:
    get_clue_record(session, clue_id)
    actor.require("district_admin", "discipline_inspector")
    return list(session.scalars(select(ClueRead).where(ClueRead.clue_id == clue_id)
                                .order_by(ClueRead.read_at, ClueRead.id)))


# --- periodic checks (timers call these; tests call them with a set clock) -----------------

TransactionFactory = Callable[[], object]


def _claimed(session: Session, keys: list[str]) -> set[str]:
    """Which once-keys are already claimed (a read; the claim itself is ``tx.once``)."""
    once = Base.metadata.tables[ONCE]
    claimed: set[str] = set()
    for start in range(0, len(keys), 500):
        claimed.update(session.scalars(select(once.c.key).where(
            once.c.key.in_(keys[start:start + 500]))))
    return claimed


def flag_missing_finance(transaction: TransactionFactory, today: date,
                         grace_days: int = 0) -> list[str]:
    """Villages with no finance disclosure for the previous month, once the grace days of
    this month have passed: flagged once each."""
    month = domain.previous_month(today)
    flagged: list[str] = []
    if today.day <= grace_days:
        return flagged
    with transaction() as tx:
        s = tx.session
        disclosed = set(s.scalars(select(Disclosure.village_code).where(
            Disclosure.kind == "finance", Disclosure.finance_month == month)))
        villages = s.execute(select(LocalVillage.code, LocalVillage.township_code).where(
            LocalVillage.active.is_(True)).order_by(LocalVillage.code)).all()
        villages = [(code, township) for code, township in villages if code not in disclosed]
        claimed = _claimed(s, [f"disclosure.finance_missing:{code}:{month}"
                               for code, _ in villages])
        for code, township in villages:
            key = f"disclosure.finance_missing:{code}:{month}"
            if key in claimed or not tx.once(key):
                continue
            tx.publish("disclosure.finance_missing", f"village/{code}", {
                "village_code": code, "township_code": township, "month": month})
            flagged.append(code)
    return flagged


def close_windows(transaction: TransactionFactory, now: datetime) -> list[str]:
    """Close every window that has ended; unanswered objections raise an alert."""
    today = domain.local_day(now)
    closed = []
    with transaction() as tx:
        s = tx.session
        ended = list(s.scalars(select(Disclosure).where(Disclosure.state == "published",
                                                        Disclosure.window_ends_on < today)
                               .order_by(Disclosure.window_ends_on, Disclosure.id)))
        for d in ended:
            if not tx.once(f"disclosure.window_closed:{d.id}"):
                continue
            d.state = "window_closed"
            unanswered = s.scalar(select(func.count()).select_from(Objection).where(
                Objection.disclosure_id == d.id, Objection.state == "open"))
            alert_id = None
            if unanswered:
                alert_id = new_id("AL")
                s.add(Alert(id=alert_id, kind="objections_unanswered",
                            village_code=d.village_code, township_code=d.township_code,
                            disclosure_id=d.id,
                            summary=f"公示期结束时仍有 {unanswered} 条异议未答复",
                            period=domain.month_of(today), raised_at=now))
            tx.publish("disclosure.window_closed", f"disclosure/{d.id}", {
                "disclosure_id": d.id, "village_code": d.village_code,
                "window_ends_on": d.window_ends_on, "unanswered": unanswered,
                "alert_id": alert_id})
            closed.append(d.id)
    return closed


def flag_overdue(transaction: TransactionFactory, today: date) -> list[str]:
    """Matters past their deadline and clues past either deadline: published once each."""
    flagged = []
    with transaction() as tx:
        s = tx.session
        matters = list(s.scalars(select(Matter).where(Matter.state == "open",
                                                      Matter.overdue.is_(False),
                                                      Matter.deadline < today)
                                 .order_by(Matter.id)))
        clues = list(s.scalars(select(Clue).where(Clue.state != "concluded")
                               .order_by(Clue.id)))
        claimed = _claimed(s, [f"matter.overdue:{m.id}" for m in matters]
                           + [f"clue.overdue:{which}:{c.id}" for c in clues
                              for which in ("acknowledgement", "conclusion")])
        for matter in matters:
            key = f"matter.overdue:{matter.id}"
            if key not in claimed and tx.once(key):
                matter.overdue = True
                tx.publish("matter.overdue", f"matter/{matter.id}", _matter_event(matter))
                flagged.append(matter.id)
        for clue in clues:
            for which, due, pending in (
                    ("acknowledgement", clue.acknowledge_due, clue.state == "referred"),
                    ("conclusion", clue.conclude_due, True)):
                key = f"clue.overdue:{which}:{clue.id}"
                if pending and domain.is_overdue(due, today) and key not in claimed \
                        and tx.once(key):
                    tx.publish("clue.overdue", f"clue/{clue.reference_no}",
                               clue_event(clue, overdue=which))
                    flagged.append(f"{clue.reference_no}:{which}")
    return flagged

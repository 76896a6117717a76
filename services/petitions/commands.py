"""Petitions use cases: one plain function per operation, called by the entrypoints.

Each takes a ``Transaction`` (or a session for reads), the verified actor and loaded input,
checks access, applies the domain rules, writes, and publishes through the outbox. None does
network I/O: registry look-ups happen in the entrypoint before the transaction.
"""

import logging
import uuid
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services.chassis import clock, ratelimit
from services.chassis.actor import Actor
from services.chassis.errors import Conflict, NotFound, ValidationFailed
from services.chassis.store import ONCE, Transaction
from services.petitions import access, domain
from services.petitions.domain import Rules
from services.petitions.models import (
    Base,
    Dispute,
    IdentityRead,
    MediationSession,
    Petition,
    PetitionStep,
    RateCounter,
    Village,
)
from services.petitions.protect import Vault

log = logging.getLogger(__name__)


def new_id(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:12].upper()}"


def _fail(errors: dict) -> None:
    if errors:
        raise ValidationFailed("输入有误", errors)


def _main_role(actor: Actor) -> str:
    return actor.roles[0] if actor.roles else "unknown"


# --- villages (local copy fed by registry events) -----------------------------------------

def apply_village_event(tx: Transaction, event_type: str, data: dict) -> None:
    """Events may arrive out of order: a registration only creates what is unknown, so a
    late or repeated one never undoes an update (a village retired stays retired)."""
    village = tx.session.get(Village, data["code"], with_for_update=True)
    if village is None:
        village = Village(code=data["code"])
        tx.session.add(village)
    elif event_type == "village.registered":
        return
    village.name = data["name"]
    village.township_code = data["township_code"]
    village.active = bool(data.get("active", True))


def known_village(session: Session, code: str) -> Village | None:
    village = session.get(Village, code)
    return village if village is not None and village.active else None


# --- rate limiting ------------------------------------------------------------------------

def count_request(tx: Transaction, client_key: str, bucket: str, limit: int,
                  window_seconds: int) -> None:
    """Count a public request; 429 beyond ``limit`` in the window (rolled back with it)."""
    ratelimit.count_request(tx.session, RateCounter, client_key, bucket, limit, window_seconds,
                            clock.now(), "请求过于频繁, 请稍后再试")


def prune_rate_counters(tx: Transaction, window_seconds: int) -> int:
    return ratelimit.prune(tx.session, RateCounter, window_seconds, clock.now())


# --- petitions ----------------------------------------------------------------------------

def _event(petition: Petition, **extra) -> dict:
    return {"petition_id": petition.id, "village_code": petition.village_code,
            "township_code": petition.township_code, "category": petition.category,
            "channel": petition.channel, "agri_related": bool(petition.agri_related),
            "state": petition.state, "responsible_person_id": petition.responsible_person_id,
            **extra}


def _step(tx: Transaction, petition: Petition, action: str, actor: Actor,
          reason: str | None = None) -> None:
    tx.session.add(PetitionStep(petition_id=petition.id, action=action, state=petition.state,
                                at=clock.now(), by_role=_main_role(actor), reason=reason or None))


def _apply(tx: Transaction, actor: Actor, petition: Petition, action: str, event: str | None,
           reason: str | None = None, **extra) -> None:
    """``reason`` goes on the step (the history), never into the event."""
    petition.state = domain.transition(action, petition.state)
    _step(tx, petition, action, actor, reason)
    if event:
        tx.publish(event, f"petition/{petition.id}", _event(petition, **extra))


def file_petition(tx: Transaction, actor: Actor, data: dict, rules: Rules, vault: Vault,
                  receipt_code: str | None = None) -> Petition:
    s = tx.session
    errors = {}
    if data["category"] not in rules.categories:
        errors["category"] = ["取值应为: " + ", ".join(rules.categories)]
    village = known_village(s, data["village_code"])
    if village is None:
        errors["village_code"] = ["村不存在"]
    _fail(errors)
    if not actor.has("public"):
        access.require_file(actor, village.code)
    today = clock.today_local()
    identity = data.get("identity")
    petition = Petition(
        id=new_id("PT"), receipt_hash=domain.receipt_hash(receipt_code) if receipt_code else None,
        channel=data.get("channel", "online"), category=data["category"],
        agri_related=data["agri_related"], village_code=village.code,
        township_code=village.township_code, summary=data["summary"],
        details=data.get("details") or "", anonymous=bool(data.get("anonymous")),
        identity_cipher=vault.encrypt(identity) if identity else None,
        filed_by=actor.username or _main_role(actor), state="received", received_on=today,
        accept_due=domain.days_after(today, rules.accept_days), created_at=clock.now(),
        referred_to_meeting=False, referred_to_supervision=False)
    s.add(petition)
    s.flush()
    _step(tx, petition, "receive", actor)
    tx.publish("petition.received", f"petition/{petition.id}",
               _event(petition, stage="accept", due=petition.accept_due))
    log.info("petition %s received via %s", petition.id, petition.channel)
    return petition


def get_petition_record(session: Session, petition_id: str, lock: bool = False) -> Petition:
    """``lock`` for a change: on PostgreSQL two concurrent transitions of one petition wait
    for each other instead of both passing the state check."""
    petition = session.get(Petition, petition_id, with_for_update=lock)
    if petition is None:
        raise NotFound("信访事项不存在")
    return petition


def check_receipt_shape(code) -> None:
    if not isinstance(code, str) or not domain.RECEIPT_PATTERN.match(code):
        raise ValidationFailed("回执码格式无效",
                               {"code": [f"回执码应为 {domain.RECEIPT_DIGITS} 位数字"]})


def petition_by_receipt(session: Session, code: str) -> Petition:
    check_receipt_shape(code)
    petition = session.scalar(select(Petition).where(
        Petition.receipt_hash == domain.receipt_hash(code)))
    if petition is None:
        raise NotFound("没有与该回执码对应的信访事项")
    return petition


def steps(session: Session, petition_id: str) -> list[PetitionStep]:
    return list(session.scalars(select(PetitionStep).where(PetitionStep.petition_id == petition_id)
                                .order_by(PetitionStep.id)))


def _for_update(tx: Transaction, petition_id: str) -> Petition:
    return get_petition_record(tx.session, petition_id, lock=True)


def accept(tx: Transaction, actor: Actor, petition_id: str, rules: Rules) -> Petition:
    p = _for_update(tx, petition_id)
    access.require_manage(actor, p)
    today = clock.today_local()
    domain.transition("accept", p.state)
    p.accepted_on = today
    p.handle_due = domain.days_after(today, rules.handle_days)
    _apply(tx, actor, p, "accept", "petition.accepted", stage="handle", due=p.handle_due)
    return p


def not_accept(tx: Transaction, actor: Actor, petition_id: str, data: dict) -> Petition:
    p = _for_update(tx, petition_id)
    access.require_manage(actor, p)
    domain.transition("not_accept", p.state)
    p.not_accepted_on = clock.today_local()
    p.not_accepted_reason = data["reason"]
    p.competent_body = data["competent_body"]
    _apply(tx, actor, p, "not_accept", "petition.not_accepted")
    return p


def assign(tx: Transaction, actor: Actor, petition_id: str, person_id: str) -> Petition:
    """``person_id`` was checked against the registry by the entrypoint."""
    p = _for_update(tx, petition_id)
    access.require_manage(actor, p)
    domain.transition("assign", p.state)
    p.responsible_person_id = person_id
    _apply(tx, actor, p, "assign", "petition.assigned", stage="handle", due=p.handle_due)
    return p


def start(tx: Transaction, actor: Actor, petition_id: str) -> Petition:
    p = _for_update(tx, petition_id)
    access.require_answer(actor, p)
    _apply(tx, actor, p, "start", None)
    return p


def escalate(tx: Transaction, actor: Actor, petition_id: str, data: dict,
             rules: Rules) -> Petition:
    p = _for_update(tx, petition_id)
    access.require_manage(actor, p)
    domain.transition("escalate", p.state)
    if data["target_kind"] == "township":
        exists = tx.session.scalar(select(func.count()).select_from(Village).where(
            Village.township_code == data["target"]))
        if not exists:
            _fail({"target": ["乡镇不存在"]})
    p.escalated_to_kind = data["target_kind"]
    p.escalated_to = data["target"]
    p.escalation_due = domain.days_after(clock.today_local(),
                                         data.get("days") or rules.escalation_days)
    _apply(tx, actor, p, "escalate", "petition.escalated", stage="escalation",
           due=p.escalation_due, escalated_to_kind=p.escalated_to_kind)
    return p


def record_escalation_response(tx: Transaction, actor: Actor, petition_id: str,
                               data: dict) -> Petition:
    """The township or department escalated to has responded: its deadline stops running
    (no more due-soon / overdue for the escalation stage). The note is for staff only."""
    p = _for_update(tx, petition_id)
    access.require_manage(actor, p)
    domain.transition("escalation_response", p.state)
    domain.require_escalated(p.escalation_due)
    p.escalation_due = None
    p.escalation_responded_on = clock.today_local()
    p.escalation_response = data.get("note") or None
    _apply(tx, actor, p, "escalation_response", None)
    return p


def extend(tx: Transaction, actor: Actor, petition_id: str, data: dict, rules: Rules) -> Petition:
    p = _for_update(tx, petition_id)
    access.require_manage(actor, p)
    domain.transition("extend", p.state)
    _fail(domain.extension_errors(data["days"], rules, p.extended_days is not None))
    p.extended_days = data["days"]
    p.extension_reason = data["reason"]
    p.handle_due = domain.days_after(p.handle_due, data["days"])
    _apply(tx, actor, p, "extend", "petition.extended", stage="handle", due=p.handle_due)
    return p


def answer(tx: Transaction, actor: Actor, petition_id: str, data: dict, rules: Rules) -> Petition:
    p = _for_update(tx, petition_id)
    access.require_answer(actor, p)
    domain.transition("answer", p.state)
    today = clock.today_local()
    p.answer = data["opinion"]
    p.answered_on = today
    p.review_request_until = domain.days_after(today, rules.review_request_days)
    _apply(tx, actor, p, "answer", "petition.answered", stage="review_request",
           due=p.review_request_until)
    return p


def request_review(tx: Transaction, actor: Actor, p: Petition, rules: Rules,
                   reason: str = "") -> Petition:
    """By the petitioner (receipt) or staff on their behalf (access checked by the caller)."""
    domain.transition("request_review", p.state)
    today = clock.today_local()
    _fail(domain.request_window_errors("reason", today, p.review_request_until))
    p.review_requested_on = today
    p.review_due = domain.days_after(today, rules.review_days)
    _apply(tx, actor, p, "request_review", "petition.review_requested", reason=reason,
           stage="review", due=p.review_due)
    return p


def review(tx: Transaction, actor: Actor, petition_id: str, data: dict, rules: Rules) -> Petition:
    p = _for_update(tx, petition_id)
    access.require_manage(actor, p)
    domain.transition("review", p.state)
    today = clock.today_local()
    p.review_answer = data["opinion"]
    p.reviewed_on = today
    p.reexam_request_until = domain.days_after(today, rules.reexam_request_days)
    _apply(tx, actor, p, "review", "petition.reviewed", stage="reexam_request",
           due=p.reexam_request_until)
    return p


def request_reexam(tx: Transaction, actor: Actor, p: Petition, rules: Rules,
                   reason: str = "") -> Petition:
    domain.transition("request_reexam", p.state)
    today = clock.today_local()
    _fail(domain.request_window_errors("reason", today, p.reexam_request_until))
    p.reexam_requested_on = today
    p.reexam_due = domain.days_after(today, rules.reexam_days)
    _apply(tx, actor, p, "request_reexam", "petition.reexam_requested", reason=reason,
           stage="reexam", due=p.reexam_due)
    return p


def reexamine(tx: Transaction, actor: Actor, petition_id: str, data: dict) -> Petition:
    p = _for_update(tx, petition_id)
    access.require_manage(actor, p)
    domain.transition("reexamine", p.state)
    p.reexam_answer = data["opinion"]
    p.reexamined_on = clock.today_local()
    _apply(tx, actor, p, "reexamine", "petition.reexamined")
    return p


def close(tx: Transaction, actor: Actor, p: Petition, satisfaction: int) -> Petition:
    domain.transition("close", p.state)
    p.satisfaction = satisfaction
    p.closed_on = clock.today_local()
    _apply(tx, actor, p, "close", "petition.closed", satisfaction=satisfaction)
    return p


def refer_to_meeting(tx: Transaction, actor: Actor, petition_id: str, data: dict,
                     vault: Vault) -> Petition:
    p = _for_update(tx, petition_id)
    access.require_manage(actor, p)
    domain.transition("refer_to_meeting", p.state)
    if p.referred_to_meeting:
        raise Conflict("该信访事项已提交村月例会", {"state": [p.state]})
    _refuse_identity(p, vault, title=data["title"], summary=data["summary"])
    p.referred_to_meeting = True
    _step(tx, p, "refer_to_meeting", actor)
    tx.publish("petition.referred_to_meeting", f"petition/{p.id}", {
        "petition_id": p.id, "village_code": p.village_code, "title": data["title"],
        "summary": data["summary"], "platform": data["platform"], "category": p.category})
    return p


def refer_to_supervision(tx: Transaction, actor: Actor, petition_id: str, data: dict,
                         vault: Vault) -> Petition:
    p = _for_update(tx, petition_id)
    access.require_manage(actor, p)
    domain.transition("refer_to_supervision", p.state)
    if p.referred_to_supervision:
        raise Conflict("该信访事项已移交监督", {"state": [p.state]})
    _refuse_identity(p, vault, summary=data["summary"])
    p.referred_to_supervision = True
    p.referred_to_supervision_on = clock.today_local()
    p.supervision_summary = data["summary"]
    _step(tx, p, "refer_to_supervision", actor)
    tx.publish("petition.referred_to_supervision", f"petition/{p.id}", {
        "petition_id": p.id, "village_code": p.village_code, "category": p.category,
        "summary": data["summary"]})
    return p


def _refuse_identity(p: Petition, vault: Vault, **texts: str) -> None:
    """Referral texts leave this service: they must not name the petitioner."""
    identity = vault.decrypt(p.identity_cipher) if p.identity_cipher else None
    _fail({name: ["不得包含信访人身份信息"] for name, text in texts.items()
           if domain.identity_leaks(text, identity)})


def read_identity(tx: Transaction, actor: Actor, petition_id: str, vault: Vault) -> dict:
    p = get_petition_record(tx.session, petition_id)
    access.require_read_identity(actor, p)
    identity = vault.decrypt(p.identity_cipher) if p.identity_cipher else {}
    _audit(tx, actor, "petition", p.id)
    return {"petition_id": p.id, "anonymous": p.anonymous, **identity}


def _audit(tx: Transaction, actor: Actor, kind: str, subject_id: str) -> None:
    tx.session.add(IdentityRead(subject_kind=kind, subject_id=subject_id,
                                username=actor.username or "", role=_main_role(actor),
                                person_id=actor.person_id, read_at=clock.now()))
    log.info("personal data of %s %s read by %s", kind, subject_id, actor.username)


def rotate_identity_keys(tx: Transaction, actor: Actor, vault: Vault) -> dict:
    """Re-encrypt every stored identity and party list with the first configured key."""
    actor.require(access.ADMIN)
    petitions = disputes = 0
    for petition in tx.session.scalars(select(Petition).where(
            Petition.identity_cipher.is_not(None))):
        petition.identity_cipher = vault.rotate(petition.identity_cipher)
        petitions += 1
    for dispute in tx.session.scalars(select(Dispute)):
        dispute.parties_cipher = vault.rotate(dispute.parties_cipher)
        disputes += 1
    log.info("identity keys rotated: %d petitions, %d disputes", petitions, disputes)
    return {"petitions": petitions, "disputes": disputes}


def list_identity_reads(session: Session, actor: Actor, subject_id: str | None, page: int,
                        page_size: int) -> tuple[list[IdentityRead], int]:
    actor.require(access.ADMIN)
    query = select(IdentityRead)
    if subject_id:
        query = query.where(IdentityRead.subject_id == subject_id)
    total = session.scalar(select(func.count()).select_from(query.subquery()))
    rows = session.scalars(query.order_by(IdentityRead.id).offset((page - 1) * page_size)
                           .limit(page_size))
    return list(rows), total


def list_petitions(session: Session, actor: Actor, query: dict) -> tuple[list[Petition], int]:
    q = select(Petition)
    clause = access.petition_filter(actor)
    if clause is not None:
        q = q.where(clause)
    for key, column in (("state", Petition.state), ("village", Petition.village_code),
                        ("township", Petition.township_code), ("category", Petition.category)):
        if query.get(key):
            q = q.where(column == query[key])
    total = session.scalar(select(func.count()).select_from(q.subquery()))
    rows = session.scalars(q.order_by(Petition.created_at.desc(), Petition.id)
                           .offset((query["page"] - 1) * query["page_size"])
                           .limit(query["page_size"]))
    return list(rows), total


# --- deadlines (timers) -------------------------------------------------------------------

def check_deadlines(transaction, reading, rules: Rules, today: date) -> list[str]:
    """Publish ``petition.due_soon`` / ``petition.overdue`` once per petition, stage and due
    day, and ``dispute.followup_due`` once per agreement. Safe with several instances: each
    effect is claimed with ``tx.once``. Returns the keys this call applied."""
    applied = []
    with reading() as session:
        petitions = list(session.scalars(select(Petition).where(
            Petition.state.in_(("received", *domain.OPEN_HANDLING, "review_requested",
                                "reexam_requested")))))
        disputes = list(session.scalars(select(Dispute).where(
            Dispute.state == "agreed", Dispute.followed_up_on.is_(None),
            Dispute.followup_due <= today)))
        candidates = []
        for petition in petitions:
            for deadline in domain.open_deadlines(petition):
                signal = domain.deadline_signal(deadline, today, rules.due_soon_days)
                if signal is not None:
                    key = domain.once_key(signal, petition.id, deadline.stage, deadline.due)
                    candidates.append((key, petition.id, signal, deadline))
        followups = [(domain.dispute_followup_key(d.id, d.followup_due), d.id)
                     for d in disputes]
        # skip what is already claimed without opening a transaction per key every tick
        claimed = _claimed(session, [c[0] for c in candidates] + [f[0] for f in followups])
    for key, petition_id, signal, deadline in candidates:
        if key in claimed:
            continue
        with transaction() as tx:
            current = tx.session.get(Petition, petition_id)
            if deadline not in domain.open_deadlines(current) or not tx.once(key):
                continue
            tx.publish(f"petition.{signal}", f"petition/{petition_id}",
                       _event(current, stage=deadline.stage, due=deadline.due))
            applied.append(key)
    for key, dispute_id in followups:
        if key in claimed:
            continue
        with transaction() as tx:
            current = tx.session.get(Dispute, dispute_id, with_for_update=True)
            if current.followed_up_on is not None or not tx.once(key):
                continue
            tx.publish("dispute.followup_due", f"dispute/{dispute_id}",
                       _dispute_event(tx.session, current))
            applied.append(key)
    if applied:
        log.info("deadline check on %s applied %d signals", today.isoformat(), len(applied))
    return applied


def _claimed(session: Session, keys: list[str]) -> set[str]:
    once = Base.metadata.tables[ONCE]
    found: set[str] = set()
    for start in range(0, len(keys), 500):
        found.update(session.scalars(select(once.c.key).where(
            once.c.key.in_(keys[start:start + 500]))))
    return found


# --- disputes -----------------------------------------------------------------------------

def _sessions(session: Session, dispute_id: str) -> list[MediationSession]:
    return list(session.scalars(select(MediationSession).where(
        MediationSession.dispute_id == dispute_id).order_by(MediationSession.held_on,
                                                            MediationSession.id)))


def _dispute_event(session: Session, d: Dispute, **extra) -> dict:
    return {"dispute_id": d.id, "village_code": d.village_code,
            "township_code": d.township_code, "type": d.type, "state": d.state,
            "risk_level": d.risk_level, "party_count": d.party_count,
            "sessions": len(_sessions(session, d.id)), "referral": d.referral,
            "judicial_confirmation_until": d.judicial_confirmation_until,
            "followup_due": d.followup_due, **extra}


def _dispute_transition(d: Dispute, action: str) -> None:
    d.state = domain.transition(action, d.state, domain.DISPUTE_TRANSITIONS,
                                 domain.DISPUTE_STATE_NAMES)


def register_dispute(tx: Transaction, actor: Actor, data: dict, vault: Vault) -> Dispute:
    s = tx.session
    village = known_village(s, data["village_code"])
    if village is None:
        _fail({"village_code": ["村不存在"]})
    access.require_file(actor, village.code)
    d = Dispute(id=new_id("DS"), type=data["type"], village_code=village.code,
                township_code=village.township_code, description=data["description"],
                parties_cipher=vault.encrypt(data["parties"]),
                party_count=len(data["parties"]), risk_level=data["risk_level"],
                state="registered", mediator_ids=",".join(data["mediator_ids"]),
                registered_on=clock.today_local(), filed_by=actor.username or "",
                created_at=clock.now())
    s.add(d)
    s.flush()
    tx.publish("dispute.registered", f"dispute/{d.id}", _dispute_event(s, d))
    if d.risk_level != "low":
        tx.publish("dispute.risk_raised", f"dispute/{d.id}", _dispute_event(
            s, d, previous_level=None, urgent=d.risk_level == "high"))
    return d


def get_dispute_record(session: Session, dispute_id: str, lock: bool = False) -> Dispute:
    d = session.get(Dispute, dispute_id, with_for_update=lock)
    if d is None:
        raise NotFound("矛盾纠纷不存在")
    return d


def assign_mediators(tx: Transaction, actor: Actor, dispute_id: str, person_ids: list[str]):
    d = get_dispute_record(tx.session, dispute_id, lock=True)
    access.require_manage_dispute(actor, d)
    _dispute_transition(d, "assign_mediators")
    d.mediator_ids = ",".join(dict.fromkeys(access.dispute_mediators(d) + person_ids))
    return d


def hold_session(tx: Transaction, actor: Actor, dispute_id: str, data: dict) -> Dispute:
    d = get_dispute_record(tx.session, dispute_id, lock=True)
    access.require_mediate(actor, d)
    if data["date"] > clock.today_local():
        _fail({"date": ["调解日期不能晚于今天"]})
    _dispute_transition(d, "hold_session")
    tx.session.add(MediationSession(dispute_id=d.id, held_on=data["date"], notes=data["notes"]))
    tx.session.flush()
    tx.publish("dispute.mediation_held", f"dispute/{d.id}", _dispute_event(tx.session, d))
    return d


def agree(tx: Transaction, actor: Actor, dispute_id: str, text: str, rules: Rules) -> Dispute:
    d = get_dispute_record(tx.session, dispute_id, lock=True)
    access.require_mediate(actor, d)
    _dispute_transition(d, "agree")
    today = clock.today_local()
    d.agreement = text
    d.resolved_on = today
    d.judicial_confirmation_until = domain.days_after(today, rules.judicial_confirmation_days)
    d.followup_due = domain.days_after(today, rules.followup_days)
    tx.publish("dispute.resolved", f"dispute/{d.id}", _dispute_event(tx.session, d))
    return d


def fail(tx: Transaction, actor: Actor, dispute_id: str, referral: str) -> Dispute:
    d = get_dispute_record(tx.session, dispute_id, lock=True)
    access.require_mediate(actor, d)
    _dispute_transition(d, "fail")
    d.referral = referral
    d.resolved_on = clock.today_local()
    tx.publish("dispute.referred", f"dispute/{d.id}", _dispute_event(tx.session, d))
    return d


def change_risk(tx: Transaction, actor: Actor, dispute_id: str, level: str) -> Dispute:
    """Raising the level publishes ``dispute.risk_raised`` with the change (urgent if high)."""
    d = get_dispute_record(tx.session, dispute_id, lock=True)
    access.require_mediate(actor, d)
    _dispute_transition(d, "change_risk")
    previous = d.risk_level
    d.risk_level = level
    if domain.risk_raised(previous, level):
        tx.publish("dispute.risk_raised", f"dispute/{d.id}", _dispute_event(
            tx.session, d, previous_level=previous, urgent=level == "high"))
        if level == "high":
            log.warning("dispute %s raised to high risk in village %s", d.id, d.village_code)
    return d


def follow_up(tx: Transaction, actor: Actor, dispute_id: str, notes: str) -> Dispute:
    d = get_dispute_record(tx.session, dispute_id, lock=True)
    access.require_mediate(actor, d)
    _dispute_transition(d, "follow_up")
    if d.followed_up_on is not None:
        raise Conflict("已完成回访", {"state": [d.state]})
    d.followed_up_on = clock.today_local()
    d.followup_notes = notes
    return d


def read_parties(tx: Transaction, actor: Actor, dispute_id: str, vault: Vault) -> dict:
    d = get_dispute_record(tx.session, dispute_id, lock=True)
    access.require_read_parties(actor, d)
    parties = vault.decrypt(d.parties_cipher)
    _audit(tx, actor, "dispute", d.id)
    return {"dispute_id": d.id, "parties": parties}


def dispute_detail(session: Session, d: Dispute) -> dict:
    detail = {column.key: getattr(d, column.key) for column in d.__table__.columns
              if column.key not in ("parties_cipher", "filed_by", "created_at")}
    detail["mediator_ids"] = access.dispute_mediators(d)
    detail["sessions"] = [{"date": m.held_on, "notes": m.notes} for m in _sessions(session, d.id)]
    if d.judicial_confirmation_until:
        detail["reminder"] = (f"当事人可在 {d.judicial_confirmation_until.isoformat()} 前"
                              "共同向人民法院申请司法确认")
    return detail


def list_disputes(session: Session, actor: Actor, query: dict) -> tuple[list[Dispute], int]:
    q = select(Dispute)
    clause = access.dispute_filter(actor)
    if clause is not None:
        q = q.where(clause)
    for key, column in (("state", Dispute.state), ("village", Dispute.village_code),
                        ("township", Dispute.township_code)):
        if query.get(key):
            q = q.where(column == query[key])
    total = session.scalar(select(func.count()).select_from(q.subquery()))
    rows = session.scalars(q.order_by(Dispute.created_at.desc(), Dispute.id)
                           .offset((query["page"] - 1) * query["page_size"])
                           .limit(query["page_size"]))
    return list(rows), total


# --- statistics ---------------------------------------------------------------------------

def statistics(session: Session, actor: Actor, period: str, township: str | None,
               rules: Rules) -> dict:
    access.require_statistics(actor, township)
    previous = domain.previous_period(period)

    def figures(month: str, township_code: str | None) -> dict:
        start, end = domain.month_bounds(month)
        pq = select(Petition).where(Petition.received_on >= start, Petition.received_on < end)
        dq = select(Dispute).where(Dispute.registered_on >= start, Dispute.registered_on < end)
        if township_code:
            pq = pq.where(Petition.township_code == township_code)
            dq = dq.where(Dispute.township_code == township_code)
        petitions = list(session.scalars(pq))
        disputes = list(session.scalars(dq))
        mediated = set(session.scalars(select(MediationSession.dispute_id).where(
            MediationSession.dispute_id.in_([d.id for d in disputes]))))
        return {"period": month,
                "petitions": domain.petition_figures(petitions, rules.categories,
                                                     min(end, clock.today_local())),
                "disputes": domain.dispute_figures(disputes, mediated)}

    townships = [township] if township else sorted(set(session.scalars(
        select(Village.township_code).distinct())))
    return {
        "period": period, "previous_period": previous, "township": township,
        "current": figures(period, township), "previous": figures(previous, township),
        "townships": [{"township_code": code, "current": figures(period, code),
                       "previous": figures(previous, code)} for code in townships],
    }

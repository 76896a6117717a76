"""Meetings use cases: one plain function per operation, called by the entrypoints and timers.

Each takes a ``Transaction`` (or a session for reads), the verified actor and loaded input;
it checks access, applies the domain rules, writes, and publishes events through the outbox.
People are checked against the registry by the entrypoint *before* the transaction opens
(``people``: person id → the registry's view, or None when unknown).
"""

import uuid
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.chassis.actor import Actor
from services.chassis.errors import Conflict, NotFound, ValidationFailed
from services.chassis.store import Transaction
from services.meetings import access, domain
from services.meetings.models import (
    AgendaItem,
    Attendance,
    InvitedExpert,
    Meeting,
    MissedMonth,
    Resolution,
    ResolutionProgress,
    Topic,
    Village,
)


def new_id(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:12].upper()}"


def _fail(errors: dict) -> None:
    if errors:
        raise ValidationFailed("输入有误", errors)


def person_errors(people: dict, field: str, person_id: str | None,
                  roles: tuple[str, ...] | None = None) -> dict:
    """The registry's answer about one referenced person, as field errors."""
    if not person_id:
        return {}
    person = people.get(person_id)
    if person is None or not person.get("active", True):
        return {field: [f"人员 {person_id} 不存在或已停用"]}
    if roles and person.get("role") not in roles:
        return {field: [f"人员 {person_id} 的角色应为: {', '.join(roles)}"]}
    return {}


# --- villages (local copy) ---------------------------------------------------------------

def upsert_village(tx: Transaction, data: dict, now: datetime) -> None:
    village = tx.session.get(Village, data["code"])
    if village is None:
        tx.session.add(Village(**data, since_month=domain.month_of(now)))
        return
    for name, value in data.items():
        setattr(village, name, value)


def sync_villages(db, villages: list[dict], now: datetime) -> int:
    """Upsert the registry's villages as listed by RPC (a copy that missed events, e.g. a
    service started after the registry published them, catches up); returns the count."""
    with db.transaction() as tx:
        for item in villages:
            upsert_village(tx, {name: item[name] for name in
                                ("code", "name", "township_code", "active")}, now)
    return len(villages)


def village(session: Session, code: str, active: bool = True) -> Village:
    record = session.get(Village, code)
    if record is None or (active and not record.active):
        raise NotFound(f"村 {code} 不存在或已停用")
    return record


# --- topics ------------------------------------------------------------------------------

def topic_event(topic: Topic) -> dict:
    return {"topic_id": topic.id, "village_code": topic.village_code, "platform": topic.platform,
            "source": topic.source, "source_ref": topic.source_ref, "title": topic.title,
            "supporters": topic.supporters, "proposer_person_id": topic.proposer_person_id}


def propose_topic(tx: Transaction, actor: Actor, village_code: str, data: dict, people: dict,
                  now: datetime) -> Topic:
    access.require_manage(actor, village_code)
    village(tx.session, village_code)
    _fail(person_errors(people, "proposer_person_id", data.get("proposer_person_id")))
    topic = Topic(id=new_id("T"), village_code=village_code, state="proposed",
                  proposed_at=now, source_ref=None, **data)
    tx.session.add(topic)
    tx.session.flush()
    tx.publish("topic.proposed", f"topic/{topic.id}", topic_event(topic))
    return topic


def topic_from_referral(tx: Transaction, source: str, source_ref: str, data: dict,
                        now: datetime) -> Topic | None:
    """A petition or supervision matter referred to the meeting; once per source item."""
    existing = tx.session.scalar(select(Topic).where(Topic.source == source,
                                                     Topic.source_ref == source_ref))
    if existing is not None:
        return None
    record = tx.session.get(Village, data["village_code"])
    if record is None:
        # the village copy may lag the registry: retried, then dead-lettered
        raise ValidationFailed("村不存在", {"village_code": ["本服务尚无此村"]})
    topic = Topic(id=new_id("T"), village_code=data["village_code"], title=data["title"],
                  description=data.get("summary") or "", source=source, source_ref=source_ref,
                  platform=data["platform"], supporters=1, state="proposed", proposed_at=now)
    tx.session.add(topic)
    tx.session.flush()
    tx.publish("topic.proposed", f"topic/{topic.id}", topic_event(topic))
    return topic


def get_topic(session: Session, topic_id: str, lock: bool = False) -> Topic:
    topic = session.get(Topic, topic_id, with_for_update=lock)
    if topic is None:
        raise NotFound("议题不存在")
    return topic


def vet_topic(tx: Transaction, actor: Actor, topic_id: str, data: dict) -> Topic:
    s = tx.session
    decision = data["decision"]
    if decision == "merge":
        # both rows locked (PostgreSQL), always in one order: concurrent merges into one
        # target add up and never deadlock; the target is then read from the session
        for locked in sorted({topic_id, data["merge_into"]}):
            s.get(Topic, locked, with_for_update=True)
    topic = get_topic(s, topic_id, lock=True)
    access.require_manage(actor, topic.village_code)
    if decision == "accept":
        domain.require_topic_transition(topic.state, "accepted")
        topic.state = "accepted"
        tx.publish("topic.accepted", f"topic/{topic.id}", {
            "topic_id": topic.id, "village_code": topic.village_code,
            "platform": topic.platform, "source": topic.source, "source_ref": topic.source_ref,
            "title": topic.title})
    elif decision == "reject":
        domain.require_topic_transition(topic.state, "rejected")
        topic.state, topic.reject_reason = "rejected", data["reason"]
        tx.publish("topic.rejected", f"topic/{topic.id}", {
            "topic_id": topic.id, "village_code": topic.village_code, "source": topic.source,
            "source_ref": topic.source_ref, "reason": data["reason"]})
    else:
        target = s.get(Topic, data["merge_into"])
        if target is None or target.id == topic.id or target.village_code != topic.village_code:
            _fail({"merge_into": ["目标议题不存在、属于其他村或就是本议题"]})
        domain.require_topic_transition(topic.state, "merged")
        if target.state not in ("proposed", "accepted", "deferred", "scheduled"):
            raise Conflict(f"目标议题当前状态为「{domain.TOPIC_STATE_NAMES[target.state]}」"
                           f"({target.state}), 不能并入", {"state": [target.state]})
        topic.state, topic.merged_into = "merged", target.id
        target.supporters += topic.supporters
        tx.publish("topic.merged", f"topic/{topic.id}", {
            "topic_id": topic.id, "village_code": topic.village_code, "merged_into": target.id,
            "supporters": target.supporters, "source": topic.source,
            "source_ref": topic.source_ref})
    return topic


def support_topic(tx: Transaction, actor: Actor, topic_id: str, count: int) -> Topic:
    topic = get_topic(tx.session, topic_id)
    access.require_manage(actor, topic.village_code)
    if topic.state in ("merged", "rejected"):
        raise Conflict(f"议题当前状态为「{domain.TOPIC_STATE_NAMES[topic.state]}」"
                       f"({topic.state}), 不能再附议", {"state": [topic.state]})
    topic.supporters += count
    return topic


def list_topics(session: Session, village_code: str, state: str | None, platform: str | None,
                page: int, page_size: int) -> tuple[list[Topic], int]:
    query = select(Topic).where(Topic.village_code == village_code)
    if state:
        query = query.where(Topic.state == state)
    if platform:
        query = query.where(Topic.platform == platform)
    total = session.scalar(select(func.count()).select_from(query.subquery()))
    rows = session.scalars(query.order_by(Topic.proposed_at, Topic.id)
                           .offset((page - 1) * page_size).limit(page_size))
    return list(rows), total


def candidates(session: Session, village_code: str, month: str) -> list[Topic]:
    """Topics that may go on this month's agenda: accepted, and deferred at an earlier month."""
    rows = session.scalars(select(Topic).where(
        Topic.village_code == village_code, Topic.state.in_(("accepted", "deferred")))
        .order_by(Topic.supporters.desc(), Topic.proposed_at))
    return [t for t in rows if domain.is_candidate(t.state, t.last_deferred_month, month)]


# --- meetings ----------------------------------------------------------------------------

def get_meeting(session: Session, meeting_id: str, lock: bool = False) -> Meeting:
    meeting = session.get(Meeting, meeting_id, with_for_update=lock)
    if meeting is None:
        raise NotFound("会议不存在")
    return meeting


def meeting_event(meeting: Meeting) -> dict:
    return {"meeting_id": meeting.id, "village_code": meeting.village_code,
            "month": meeting.month, "kind": meeting.kind,
            "starts_at": domain.as_utc(meeting.starts_at),
            "convener_person_id": meeting.convener_person_id}


def schedule_meeting(tx: Transaction, actor: Actor, village_code: str, data: dict,
                     people: dict, now: datetime) -> Meeting:
    s = tx.session
    access.require_manage(actor, village_code)
    village(s, village_code)
    month = domain.month_of(data["starts_at"])
    errors = person_errors(people, "convener_person_id", data["convener_person_id"])
    if domain.month_ended(month, domain.local_day(now)):
        errors["starts_at"] = [f"{month} 已结束, 不能再安排该月的会议"]
    _fail(errors)
    regular = data["kind"] == "regular"
    if regular:
        _require_regular_slot_free(s, village_code, month)
    meeting = Meeting(id=new_id("MT"), village_code=village_code, month=month,
                      kind=data["kind"], starts_at=domain.as_utc(data["starts_at"]),
                      place=data["place"],
                      convener_person_id=data["convener_person_id"], state="scheduled",
                      villager_representatives=0, created_at=now,
                      regular_slot=f"{village_code}:{month}" if regular else None)
    s.add(meeting)
    try:
        with s.begin_nested():
            s.flush()
    except IntegrityError:
        raise Conflict(f"该村 {month} 已有例会", {"state": ["scheduled"]}) from None
    tx.publish("meeting.scheduled", f"meeting/{meeting.id}", meeting_event(meeting))
    return meeting


def _require_regular_slot_free(s: Session, village_code: str, month: str) -> None:
    existing = s.scalar(select(Meeting).where(Meeting.regular_slot == f"{village_code}:{month}"))
    if existing is not None:
        state = existing.state
        raise Conflict(f"该村 {month} 已有例会({existing.id}), 其状态为「"
                       f"{domain.MEETING_STATE_NAMES[state]}」({state}); 取消后方可另行安排",
                       {"state": [state], "meeting_id": [existing.id]})
    missed = s.get(MissedMonth, (village_code, month))
    if missed is not None and missed.marked:
        raise Conflict(f"该村 {month} 已记为未召开例会", {"state": ["missed"]})


def cancel_meeting(tx: Transaction, actor: Actor, meeting_id: str, reason: str) -> Meeting:
    s = tx.session
    meeting = get_meeting(s, meeting_id)
    access.require_manage(actor, meeting.village_code)
    domain.require_meeting_transition(meeting.state, "cancelled")
    meeting.state, meeting.cancel_reason, meeting.regular_slot = "cancelled", reason, None
    for item in _agenda(s, meeting.id):
        topic = s.get(Topic, item.topic_id)
        topic.state = domain.state_after_unscheduling(topic.last_deferred_month)
        topic.meeting_id = None
    tx.publish("meeting.cancelled", f"meeting/{meeting.id}", {
        "meeting_id": meeting.id, "village_code": meeting.village_code, "month": meeting.month,
        "kind": meeting.kind, "reason": reason})
    return meeting


def _agenda(s: Session, meeting_id: str) -> list[AgendaItem]:
    return list(s.scalars(select(AgendaItem).where(AgendaItem.meeting_id == meeting_id)
                          .order_by(AgendaItem.position)))


def set_agenda(tx: Transaction, actor: Actor, meeting_id: str, items: list[dict],
               people: dict) -> Meeting:
    """Replace the agenda: topics in order, with the experts invited to each."""
    s = tx.session
    meeting = get_meeting(s, meeting_id)
    access.require_manage(actor, meeting.village_code)
    if meeting.state != "scheduled":
        raise Conflict(f"会议当前状态为「{domain.MEETING_STATE_NAMES[meeting.state]}」"
                       f"({meeting.state}), 不能修改议程", {"state": [meeting.state]})
    errors: dict = {}
    topics = []
    for index, item in enumerate(items):
        topic = s.get(Topic, item["topic_id"])
        if topic is None or topic.village_code != meeting.village_code:
            errors[f"items.{index}.topic_id"] = ["议题不存在或属于其他村"]
            continue
        on_this = topic.state == "scheduled" and topic.meeting_id == meeting.id
        if not on_this and not domain.is_candidate(topic.state, topic.last_deferred_month,
                                                   meeting.month):
            raise Conflict(f"议题 {topic.id} 当前状态为「{domain.TOPIC_STATE_NAMES[topic.state]}」"
                           f"({topic.state}), 不能列入本次议程", {"state": [topic.state]})
        for expert in item["experts"]:
            errors.update({f"items.{index}.experts": reasons for reasons in person_errors(
                people, "experts", expert, ("expert",)).values()})
        topics.append(topic)
    _fail(errors)
    chosen = {t.id for t in topics}
    for old in _agenda(s, meeting.id):
        if old.topic_id not in chosen:
            topic = s.get(Topic, old.topic_id)
            topic.state = domain.state_after_unscheduling(topic.last_deferred_month)
            topic.meeting_id = None
        s.delete(old)
    for old in s.scalars(select(InvitedExpert).where(InvitedExpert.meeting_id == meeting.id)):
        s.delete(old)
    s.flush()
    for position, (topic, item) in enumerate(zip(topics, items, strict=True), start=1):
        topic.state, topic.meeting_id = "scheduled", meeting.id
        s.add(AgendaItem(meeting_id=meeting.id, topic_id=topic.id, position=position))
        for expert in dict.fromkeys(item["experts"]):
            s.add(InvitedExpert(meeting_id=meeting.id, topic_id=topic.id, person_id=expert))
    return meeting


def record_attendance(tx: Transaction, actor: Actor, meeting_id: str, data: dict,
                      people: dict, now: datetime,
                      quorum: domain.QuorumRule = domain.QuorumRule()) -> Meeting:
    """Sign-in: adds the people (or changes their role) and sets the representatives' count.
    A role the quorum requires (and ``expert``) must be the person's role in the registry."""
    s = tx.session
    meeting = get_meeting(s, meeting_id)
    access.require_follow(actor, meeting.village_code)
    if meeting.state != "scheduled":
        raise Conflict(f"会议当前状态为「{domain.MEETING_STATE_NAMES[meeting.state]}」"
                       f"({meeting.state}), 不能再签到", {"state": [meeting.state]})
    errors: dict = {}
    for index, attendee in enumerate(data["attendees"]):
        for reasons in person_errors(people, "person_id", attendee["person_id"]).values():
            errors[f"attendees.{index}.person_id"] = reasons
        person = people.get(attendee["person_id"])
        if (person and attendee["role"] in domain.registry_checked_roles(quorum)
                and person.get("role") != attendee["role"]):
            errors[f"attendees.{index}.role"] = [
                f"人员 {attendee['person_id']} 在名册中的角色为 {person.get('role')}, "
                f"不能以 {attendee['role']} 身份签到"]
    _fail(errors)
    for attendee in data["attendees"]:
        row = s.get(Attendance, (meeting.id, attendee["person_id"]))
        if row is None:
            s.add(Attendance(meeting_id=meeting.id, person_id=attendee["person_id"],
                             role=attendee["role"], signed_in_at=now))
        else:
            row.role = attendee["role"]
    if "villager_representatives" in data:
        meeting.villager_representatives = data["villager_representatives"]
    return meeting


def _attendees(s: Session, meeting_id: str) -> list[Attendance]:
    return list(s.scalars(select(Attendance).where(Attendance.meeting_id == meeting_id)
                          .order_by(Attendance.person_id)))


def hold_meeting(tx: Transaction, actor: Actor, meeting_id: str, minutes: str,
                 quorum: domain.QuorumRule, now: datetime) -> Meeting:
    s = tx.session
    meeting = get_meeting(s, meeting_id, lock=True)
    access.require_manage(actor, meeting.village_code)
    # the village row serializes this with the month-end check (monthly.mark_missed): a
    # meeting recorded as held at the end of the grace period is never also marked missed
    s.get(Village, meeting.village_code, with_for_update=True)
    domain.require_meeting_transition(meeting.state, "held")
    agenda = _agenda(s, meeting.id)
    if not agenda:
        raise Conflict("会议尚无议程, 不能记录为已召开(当前状态: scheduled)",
                       {"state": [meeting.state], "agenda": ["议程为空"]})
    if domain.local_day(now) < domain.local_day(meeting.starts_at):
        raise Conflict("会议日期未到, 不能记录为已召开(当前状态: scheduled)",
                       {"state": [meeting.state]})
    missed = s.get(MissedMonth, (meeting.village_code, meeting.month))
    if meeting.kind == "regular" and missed is not None and missed.marked:
        raise Conflict(f"该村 {meeting.month} 已记为未召开例会", {"state": ["missed"]})
    attendees = _attendees(s, meeting.id)
    shortfalls = domain.quorum_shortfalls(quorum, [a.role for a in attendees],
                                          meeting.villager_representatives)
    if shortfalls:
        raise Conflict("未达到法定到会要求: " + "; ".join(shortfalls),
                       {"state": [meeting.state], "quorum": shortfalls})
    meeting.state, meeting.minutes, meeting.held_at = "held", minutes, now
    for item in agenda:
        topic = s.get(Topic, item.topic_id)
        domain.require_topic_transition(topic.state, "discussed")
        topic.state = "discussed"
    tx.publish("meeting.held", f"meeting/{meeting.id}", {
        "meeting_id": meeting.id, "village_code": meeting.village_code, "month": meeting.month,
        "kind": meeting.kind, "held_at": now,
        "attendees": [{"person_id": a.person_id, "role": a.role} for a in attendees],
        "villager_representatives": meeting.villager_representatives,
        "topic_ids": [item.topic_id for item in agenda]})
    return meeting


def record_outcomes(tx: Transaction, actor: Actor, meeting_id: str, items: list[dict]
                    ) -> Meeting:
    s = tx.session
    meeting = get_meeting(s, meeting_id)
    access.require_manage(actor, meeting.village_code)
    if meeting.state != "held":
        raise Conflict(f"会议当前状态为「{domain.MEETING_STATE_NAMES[meeting.state]}」"
                       f"({meeting.state}), 召开后方可记录议题结果", {"state": [meeting.state]})
    errors: dict = {}
    updates = []
    for index, item in enumerate(items):
        agenda_item = s.get(AgendaItem, (meeting.id, item["topic_id"]))
        if agenda_item is None:
            errors[f"items.{index}.topic_id"] = ["该议题不在本次议程中"]
            continue
        experts = {e.person_id: e for e in s.scalars(select(InvitedExpert).where(
            InvitedExpert.meeting_id == meeting.id, InvitedExpert.topic_id == item["topic_id"]))}
        for opinion_index, opinion in enumerate(item["expert_opinions"]):
            if opinion["person_id"] not in experts:
                errors[f"items.{index}.expert_opinions.{opinion_index}.person_id"] = [
                    "该专家未受邀讨论此议题"]
        updates.append((item, agenda_item, experts))
    _fail(errors)
    for item, agenda_item, experts in updates:
        topic = s.get(Topic, item["topic_id"])
        domain.require_topic_transition(topic.state, item["outcome"])
        topic.state = item["outcome"]
        if item["outcome"] == "deferred":
            topic.last_deferred_month, topic.meeting_id = meeting.month, None
        agenda_item.outcome, agenda_item.discussion = item["outcome"], item["discussion"]
        for opinion in item["expert_opinions"]:
            experts[opinion["person_id"]].opinion = opinion["opinion"]
    return meeting


def disclose_meeting(tx: Transaction, actor: Actor, meeting_id: str, now: datetime) -> Meeting:
    s = tx.session
    meeting = get_meeting(s, meeting_id)
    access.require_manage(actor, meeting.village_code)
    domain.require_meeting_transition(meeting.state, "disclosed")
    agenda = _agenda(s, meeting.id)
    pending = [item.topic_id for item in agenda if item.outcome is None]
    if pending:
        raise Conflict(f"尚有 {len(pending)} 个议题未记录结果, 不能公开(当前状态: held)",
                       {"state": [meeting.state], "topics": pending})
    meeting.state, meeting.disclosed_at = "disclosed", now
    resolutions = s.scalars(select(Resolution.id).where(Resolution.meeting_id == meeting.id)
                            .order_by(Resolution.adopted_at, Resolution.id))
    tx.publish("meeting.disclosed", f"meeting/{meeting.id}", {
        "meeting_id": meeting.id, "village_code": meeting.village_code, "month": meeting.month,
        "outcomes": [{"topic_id": item.topic_id, "outcome": item.outcome} for item in agenda],
        "resolution_ids": list(resolutions)})
    return meeting


def list_meetings(session: Session, village_code: str, month: str | None, state: str | None,
                  page: int, page_size: int) -> tuple[list[Meeting], int]:
    query = select(Meeting).where(Meeting.village_code == village_code)
    if month:
        query = query.where(Meeting.month == month)
    if state:
        query = query.where(Meeting.state == state)
    total = session.scalar(select(func.count()).select_from(query.subquery()))
    rows = session.scalars(query.order_by(Meeting.starts_at.desc(), Meeting.id)
                           .offset((page - 1) * page_size).limit(page_size))
    return list(rows), total


def meeting_detail(session: Session, meeting: Meeting) -> dict:
    agenda = []
    for item in _agenda(session, meeting.id):
        topic = session.get(Topic, item.topic_id)
        experts = session.scalars(select(InvitedExpert).where(
            InvitedExpert.meeting_id == meeting.id, InvitedExpert.topic_id == item.topic_id)
            .order_by(InvitedExpert.person_id))
        agenda.append({"topic_id": topic.id, "title": topic.title, "platform": topic.platform,
                       "position": item.position, "state": topic.state,
                       "outcome": item.outcome, "discussion": item.discussion,
                       "experts": [{"person_id": e.person_id, "opinion": e.opinion}
                                   for e in experts]})
    return {**_row(meeting), "agenda": agenda,
            "attendees": [{"person_id": a.person_id, "role": a.role}
                          for a in _attendees(session, meeting.id)]}


def public_summary(session: Session, meeting: Meeting) -> dict:
    """The disclosed result: topics, outcomes, resolutions and their live status; no names,
    no person ids."""
    attendance: dict[str, int] = {}
    for attendee in _attendees(session, meeting.id):
        attendance[attendee.role] = attendance.get(attendee.role, 0) + 1
    attendance["villager_representative"] = meeting.villager_representatives
    topics = []
    for item in _agenda(session, meeting.id):
        topic = session.get(Topic, item.topic_id)
        topics.append({"title": topic.title, "platform": topic.platform,
                       "supporters": topic.supporters, "outcome": item.outcome,
                       "discussion": item.discussion})
    resolutions = session.scalars(select(Resolution).where(Resolution.meeting_id == meeting.id)
                                  .order_by(Resolution.adopted_at, Resolution.id))
    return {"meeting_id": meeting.id, "village_code": meeting.village_code,
            "village_name": session.get(Village, meeting.village_code).name,
            "month": meeting.month, "kind": meeting.kind,
            "held_at": domain.as_utc(meeting.held_at),
            "place": meeting.place, "attendance": attendance, "topics": topics,
            "resolutions": [{"text": r.text, "department": r.department,
                             "deadline": r.deadline, "state": r.state,
                             "satisfaction": r.satisfaction} for r in resolutions],
            "disclosed_at": domain.as_utc(meeting.disclosed_at)}


def disclosed_meetings(session: Session, village_code: str | None, month: str | None,
                       page: int, page_size: int) -> tuple[list[Meeting], int]:
    query = select(Meeting).where(Meeting.state == "disclosed")
    if village_code:
        query = query.where(Meeting.village_code == village_code)
    if month:
        query = query.where(Meeting.month == month)
    total = session.scalar(select(func.count()).select_from(query.subquery()))
    rows = session.scalars(query.order_by(Meeting.disclosed_at.desc(), Meeting.id)
                           .offset((page - 1) * page_size).limit(page_size))
    return list(rows), total


# --- resolutions -------------------------------------------------------------------------

def get_resolution(session: Session, resolution_id: str) -> Resolution:
    resolution = session.get(Resolution, resolution_id)
    if resolution is None:
        raise NotFound("议定事项不存在")
    return resolution


def resolution_event(resolution: Resolution) -> dict:
    return {"resolution_id": resolution.id, "meeting_id": resolution.meeting_id,
            "topic_id": resolution.topic_id, "village_code": resolution.village_code,
            "owner_person_id": resolution.owner_person_id, "department": resolution.department,
            "deadline": resolution.deadline, "state": resolution.state}


def adopt_resolution(tx: Transaction, actor: Actor, meeting_id: str, data: dict, people: dict,
                     now: datetime) -> Resolution:
    s = tx.session
    meeting = get_meeting(s, meeting_id)
    access.require_manage(actor, meeting.village_code)
    if meeting.state not in ("held", "disclosed"):
        raise Conflict(f"会议当前状态为「{domain.MEETING_STATE_NAMES[meeting.state]}」"
                       f"({meeting.state}), 召开后方可形成议定事项", {"state": [meeting.state]})
    if s.get(AgendaItem, (meeting.id, data["topic_id"])) is None:
        _fail({"topic_id": ["该议题不在本次议程中"]})
    errors = person_errors(people, "owner_person_id", data["owner_person_id"])
    if data["deadline"] < domain.local_day(meeting.held_at):
        errors["deadline"] = ["办结期限不能早于会议日期"]
    _fail(errors)
    topic = s.get(Topic, data["topic_id"])
    if topic.state != "agreed":
        raise Conflict(f"议题当前状态为「{domain.TOPIC_STATE_NAMES[topic.state]}」"
                       f"({topic.state}), 只有已议定的议题可以形成议定事项",
                       {"state": [topic.state]})
    resolution = Resolution(id=new_id("R"), meeting_id=meeting.id, topic_id=topic.id,
                            village_code=meeting.village_code, text=data["text"],
                            owner_person_id=data["owner_person_id"],
                            department=data.get("department"), deadline=data["deadline"],
                            state="open", was_overdue=False, adopted_at=now)
    s.add(resolution)
    s.flush()
    tx.publish("resolution.adopted", f"resolution/{resolution.id}", resolution_event(resolution))
    return resolution


def progress_resolution(tx: Transaction, actor: Actor, resolution_id: str, note: str,
                        now: datetime) -> Resolution:
    s = tx.session
    resolution = get_resolution(s, resolution_id)
    access.require_follow(actor, resolution.village_code)
    target = "overdue" if resolution.state == "overdue" else "in_progress"
    domain.require_resolution_transition(resolution.state, target)
    resolution.state = target
    s.add(ResolutionProgress(resolution_id=resolution.id, note=note,
                             by=actor.person_id or actor.username, at=now))
    tx.publish("resolution.progressed", f"resolution/{resolution.id}",
               resolution_event(resolution))
    return resolution


def complete_resolution(tx: Transaction, actor: Actor, resolution_id: str, evidence: str,
                        now: datetime) -> Resolution:
    s = tx.session
    resolution = get_resolution(s, resolution_id)
    access.require_manage(actor, resolution.village_code)
    domain.require_resolution_transition(resolution.state, "done")
    resolution.state, resolution.evidence, resolution.completed_at = "done", evidence, now
    on_time = domain.local_day(now) <= resolution.deadline
    tx.publish("resolution.completed", f"resolution/{resolution.id}",
               {**resolution_event(resolution), "on_time": on_time, "satisfaction": None})
    return resolution


def rate_resolution(tx: Transaction, actor: Actor, resolution_id: str, score: int) -> Resolution:
    """Villagers' satisfaction with a done resolution, published as ``resolution.completed``
    with ``satisfaction`` set (again on each new rating)."""
    resolution = get_resolution(tx.session, resolution_id)
    access.require_manage(actor, resolution.village_code)
    if resolution.state != "done":
        state = resolution.state
        raise Conflict(f"议定事项当前状态为「{domain.RESOLUTION_STATE_NAMES[state]}」({state}), "
                       "办结后方可评价满意度", {"state": [state]})
    resolution.satisfaction = score
    on_time = domain.local_day(resolution.completed_at) <= resolution.deadline
    tx.publish("resolution.completed", f"resolution/{resolution.id}",
               {**resolution_event(resolution), "on_time": on_time, "satisfaction": score})
    return resolution


def resolution_detail(session: Session, resolution: Resolution) -> dict:
    progress = session.scalars(select(ResolutionProgress).where(
        ResolutionProgress.resolution_id == resolution.id).order_by(ResolutionProgress.id))
    return {**_row(resolution),
            "progress": [{"note": p.note, "by": p.by, "at": domain.as_utc(p.at)}
                         for p in progress]}


def list_resolutions(session: Session, actor: Actor, village_code: str | None,
                     state: str | None, page: int, page_size: int
                     ) -> tuple[list[Resolution], int]:
    query = select(Resolution)
    if village_code:
        access.require_read(actor, village_code)
        query = query.where(Resolution.village_code == village_code)
    else:
        everything, townships, villages = access.readable_scope(actor)
        if not everything:
            readable = select(Village.code).where(Village.township_code.in_(townships))
            query = query.where(Resolution.village_code.in_(villages)
                                | Resolution.village_code.in_(readable))
    if state:
        query = query.where(Resolution.state == state)
    total = session.scalar(select(func.count()).select_from(query.subquery()))
    rows = session.scalars(query.order_by(Resolution.deadline, Resolution.id)
                           .offset((page - 1) * page_size).limit(page_size))
    return list(rows), total


def _row(record) -> dict:
    row = {column.key: getattr(record, column.key) for column in record.__table__.columns}
    return {key: domain.as_utc(value) if isinstance(value, datetime) else value
            for key, value in row.items()}

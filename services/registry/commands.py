"""Registry use cases: one plain function per operation, called by the entrypoints.

Each takes a ``Transaction`` (or a session for reads), the verified actor and loaded input;
it checks access, applies the domain rules, writes, and publishes events through the outbox.
"""

import uuid

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from services.chassis.actor import Actor
from services.chassis.errors import Conflict, NotFound, ValidationFailed
from services.chassis.store import Transaction, paginate
from services.registry import access, domain
from services.registry.models import (
    ContactLink,
    Person,
    Township,
    Training,
    TrainingAttendee,
    Village,
    Workstation,
)

PERSON_FIELDS = ("name", "role") + domain.OPTIONAL_FIELDS


def _fail(errors: dict) -> None:
    if errors:
        raise ValidationFailed("输入有误", errors)


def _columns(record, names) -> dict:
    return {name: getattr(record, name) for name in names}


# --- townships ----------------------------------------------------------------------------

def register_township(tx: Transaction, actor: Actor, data: dict, upsert: bool = False) -> str:
    """Create, or with ``upsert`` update in place; returns created|updated|unchanged."""
    access.require_district(actor)
    s = tx.session
    existing = s.get(Township, data["code"])
    if existing is None:
        s.add(Township(**data, active=True))
        tx.publish("township.registered", f"township/{data['code']}", data)
        return "created"
    if not upsert:
        raise Conflict(f"乡镇代码 {data['code']} 已存在", {"code": ["已存在"]})
    if _columns(existing, data) == data:
        return "unchanged"
    for name, value in data.items():
        setattr(existing, name, value)
    return "updated"


def update_township(tx: Transaction, actor: Actor, code: str, changes: dict) -> Township:
    access.require_district(actor)
    township = tx.session.get(Township, code)
    if township is None:
        raise NotFound("乡镇不存在")
    for name, value in changes.items():
        setattr(township, name, value)
    return township


def list_townships(session: Session) -> list[Township]:
    return list(session.scalars(select(Township).order_by(Township.code)))


# --- villages -----------------------------------------------------------------------------

def register_village(tx: Transaction, actor: Actor, data: dict, upsert: bool = False) -> str:
    access.require_township_writer(actor, data["township_code"])
    s = tx.session
    if s.get(Township, data["township_code"]) is None:
        _fail({"township_code": ["乡镇不存在"]})
    existing = s.get(Village, data["code"])
    if existing is None:
        village = Village(**data, active=True)
        s.add(village)
        tx.publish("village.registered", f"village/{village.code}", _village_event(village))
        return "created"
    if not upsert:
        raise Conflict(f"村代码 {data['code']} 已存在", {"code": ["已存在"]})
    return _apply_village_changes(tx, existing, data)


def update_village(tx: Transaction, actor: Actor, code: str, changes: dict) -> Village:
    village = get_village_record(tx.session, code)
    access.require_village_writer(actor, code)
    _apply_village_changes(tx, village, changes)
    return village


def _apply_village_changes(tx: Transaction, village: Village, changes: dict) -> str:
    changed = [name for name, value in changes.items() if getattr(village, name) != value]
    if not changed:
        return "unchanged"
    for name in changed:
        setattr(village, name, changes[name])
    tx.publish("village.updated", f"village/{village.code}",
               {**_village_event(village), "changed": sorted(changed)})
    return "updated"


def _village_event(village: Village) -> dict:
    return {"code": village.code, "name": village.name, "township_code": village.township_code,
            "kind": village.kind, "pilot": bool(village.pilot), "active": village.active}


def get_village_record(session: Session, code: str) -> Village:
    village = session.get(Village, code)
    if village is None:
        raise NotFound("村不存在")
    return village


def list_villages(session: Session, township: str | None, q: str | None, page: int,
                  page_size: int) -> tuple[list[tuple[Village, str]], int]:
    query = select(Village, Township.name).join(Township).where(Village.active.is_(True))
    if township:
        query = query.where(Village.township_code == township)
    if q:
        query = query.where(Village.name.contains(q, autoescape=True))
    rows, total = paginate(session, query.order_by(Village.code), page, page_size)
    return [(village, township_name) for village, township_name in rows], total


def village_people(session: Session, code: str) -> dict[str, list[Person]]:
    """The people who serve a village: its contact members, liaisons and cadres."""
    member_ids = select(ContactLink.subject_id).where(ContactLink.kind == "member_village",
                                                      ContactLink.target_code == code)
    members = session.scalars(select(Person).where(Person.id.in_(member_ids),
                                                   Person.active.is_(True)).order_by(Person.id))
    locals_ = session.scalars(select(Person).where(Person.village_code == code,
                                                   Person.active.is_(True)).order_by(Person.id))
    local = list(locals_)
    return {
        "contact_members": list(members),
        "liaisons": [p for p in local if p.role == "liaison"],
        "cadres": [p for p in local if p.role in ("village_cadre", "resident_cadre")],
    }


# --- workstations -------------------------------------------------------------------------

def register_workstation(tx: Transaction, actor: Actor, data: dict, upsert: bool = False) -> str:
    access.require_district(actor)
    s = tx.session
    values = {"id": data["id"], "name": data["name"], "sector": data["sector"],
              "annual_budget_fen": domain.yuan_to_fen(data["annual_budget_yuan"])}
    existing = s.get(Workstation, data["id"])
    if existing is None:
        s.add(Workstation(**values, active=True))
        return "created"
    if not upsert:
        raise Conflict(f"工作室 {data['id']} 已存在", {"id": ["已存在"]})
    if _columns(existing, values) == values:
        return "unchanged"
    for name, value in values.items():
        setattr(existing, name, value)
    return "updated"


def update_workstation(tx: Transaction, actor: Actor, workstation_id: str,
                       changes: dict) -> Workstation:
    access.require_district(actor)
    workstation = tx.session.get(Workstation, workstation_id)
    if workstation is None:
        raise NotFound("工作室不存在")
    if "annual_budget_yuan" in changes:
        changes = {**changes}
        workstation.annual_budget_fen = domain.yuan_to_fen(changes.pop("annual_budget_yuan"))
    for name, value in changes.items():
        setattr(workstation, name, value)
    return workstation


def list_workstations(session: Session) -> list[tuple[Workstation, list[str]]]:
    links = session.execute(select(ContactLink.subject_id, ContactLink.target_code)
                            .where(ContactLink.kind == "workstation_township")
                            .order_by(ContactLink.target_code)).all()
    townships: dict[str, list[str]] = {}
    for subject, target in links:
        townships.setdefault(subject, []).append(target)
    return [(w, townships.get(w.id, []))
            for w in session.scalars(select(Workstation).order_by(Workstation.id))]


# --- people -------------------------------------------------------------------------------

def _require_person_writer(actor: Actor, person: dict) -> None:
    if person.get("village_code"):
        access.require_village_writer(actor, person["village_code"])
    else:
        access.require_district(actor)


def _person_reference_errors(session: Session, person: dict) -> dict:
    errors = domain.person_errors(person)
    code = person.get("village_code")
    if code and "village_code" not in errors and session.get(Village, code) is None:
        errors["village_code"] = ["村不存在"]
    workstation = person.get("workstation_id")
    if workstation and session.get(Workstation, workstation) is None:
        errors["workstation_id"] = ["工作室不存在"]
    return errors


def new_id(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:12].upper()}"


def register_person(tx: Transaction, actor: Actor, data: dict, upsert: bool = False) -> str:
    """``data["id"]`` is set (the entrypoint gives a new one when the caller did not)."""
    s = tx.session
    person = domain.merged_person({name: None for name in PERSON_FIELDS}, data)
    person["id"] = data["id"]
    _require_person_writer(actor, person)
    _fail(_person_reference_errors(s, person))
    existing = s.get(Person, person["id"])
    if existing is None:
        record = Person(**person, active=True)
        s.add(record)
        s.flush()
        tx.publish("person.registered", f"person/{record.id}", _person_event(record))
        return "created"
    if not upsert:
        raise Conflict(f"人员编号 {person['id']} 已存在", {"id": ["已存在"]})
    return _apply_person_changes(tx, existing, person)


def update_person(tx: Transaction, actor: Actor, person_id: str, changes: dict) -> Person:
    record = get_person_record(tx.session, person_id)
    current = _columns(record, PERSON_FIELDS)
    _require_person_writer(actor, current)
    merged = domain.merged_person(current, changes)
    _require_person_writer(actor, merged)
    _fail(_person_reference_errors(tx.session, merged))
    _apply_person_changes(tx, record, merged)
    return record


def _apply_person_changes(tx: Transaction, record: Person, person: dict) -> str:
    changed = sorted(name for name in PERSON_FIELDS
                     if name in person and getattr(record, name) != person[name])
    if not changed:
        return "unchanged"
    for name in changed:
        setattr(record, name, person[name])
    tx.publish("person.updated", f"person/{record.id}",
               {**_person_event(record), "changed": changed})
    return "updated"


def deactivate_person(tx: Transaction, actor: Actor, person_id: str, now) -> Person:
    record = get_person_record(tx.session, person_id)
    _require_person_writer(actor, _columns(record, PERSON_FIELDS))
    if not record.active:
        raise Conflict("该人员已停用", {"state": ["inactive"]})
    record.active = False
    record.deactivated_at = now
    tx.publish("person.deactivated", f"person/{record.id}", _person_event(record))
    return record


def _person_event(person: Person) -> dict:
    return {"person_id": person.id, "role": person.role, "village_code": person.village_code,
            "workstation_id": person.workstation_id, "active": person.active}


def get_person_record(session: Session, person_id: str) -> Person:
    person = session.get(Person, person_id)
    if person is None:
        raise NotFound("人员不存在")
    return person


def list_people(session: Session, actor: Actor, village: str | None, role: str | None,
                q: str | None, include_inactive: bool, page: int, page_size: int,
                ) -> tuple[list[Person], int]:
    if village:
        access.require_read_people(actor, village)
    query = select(Person)
    if village:
        query = query.where(Person.village_code == village)
    elif not access.can_read_people(actor, "any-village"):
        # a liaison: its own villages and the district-wide roles, nobody else's villagers
        access.require_read_people(actor, None)
        query = query.where(or_(Person.village_code.is_(None),
                                Person.village_code.in_(actor.villages)))
    if role:
        query = query.where(Person.role == role)
    if q:
        query = query.where(Person.name.contains(q, autoescape=True))
    if not include_inactive:
        query = query.where(Person.active.is_(True))
    rows, total = paginate(session, query.order_by(Person.id), page, page_size)
    return [person for (person,) in rows], total


# --- contact links ------------------------------------------------------------------------

def link(tx: Transaction, actor: Actor, data: dict, upsert: bool = False) -> str:
    s = tx.session
    kind, subject_id, target = data["kind"], data["subject_id"], data["target_code"]
    _, target_kind = domain.LINK_KINDS[kind]
    if target_kind == "village":
        access.require_village_writer(actor, target)
        target_exists = s.get(Village, target) is not None
    else:
        access.require_district(actor)
        target_exists = s.get(Township, target) is not None
    if kind == "workstation_township":
        workstation = s.get(Workstation, subject_id)
        subject_kind = "workstation" if workstation is not None and workstation.active else None
    else:
        person = s.get(Person, subject_id)
        subject_kind = person.role if person is not None and person.active else None
    _fail(domain.link_errors(kind, subject_kind, target_exists))
    existing = s.scalar(select(ContactLink).where(
        ContactLink.kind == kind, ContactLink.subject_id == subject_id,
        ContactLink.target_code == target))
    if existing is not None:
        if upsert:
            return "unchanged"
        raise Conflict("该联系关系已存在", {"target_code": ["已存在"]})
    s.add(ContactLink(kind=kind, subject_id=subject_id, target_code=target))
    tx.publish("contact.linked", f"contact/{kind}/{subject_id}/{target}", data)
    return "created"


def unlink(tx: Transaction, actor: Actor, data: dict) -> None:
    s = tx.session
    kind, target = data["kind"], data["target_code"]
    if domain.LINK_KINDS[kind][1] == "village":
        access.require_village_writer(actor, target)
    else:
        access.require_district(actor)
    existing = s.scalar(select(ContactLink).where(
        ContactLink.kind == kind, ContactLink.subject_id == data["subject_id"],
        ContactLink.target_code == target))
    if existing is None:
        raise NotFound("联系关系不存在")
    s.delete(existing)
    tx.publish("contact.unlinked", f"contact/{kind}/{data['subject_id']}/{target}", data)


def list_links(session: Session, kind: str | None, subject_id: str | None,
               target_code: str | None) -> list[ContactLink]:
    query = select(ContactLink)
    if kind:
        query = query.where(ContactLink.kind == kind)
    if subject_id:
        query = query.where(ContactLink.subject_id == subject_id)
    if target_code:
        query = query.where(ContactLink.target_code == target_code)
    return list(session.scalars(query.order_by(ContactLink.kind, ContactLink.subject_id,
                                               ContactLink.target_code)))


# --- trainings ----------------------------------------------------------------------------

def record_training(tx: Transaction, actor: Actor, data: dict, upsert: bool = False) -> str:
    s = tx.session
    if data.get("township_code"):
        access.require_township_writer(actor, data["township_code"])
        if s.get(Township, data["township_code"]) is None:
            _fail({"township_code": ["乡镇不存在"]})
    else:
        access.require_district(actor)
    attendees = sorted(set(data["attendees"]))
    liaisons = set(s.scalars(select(Person.id).where(Person.id.in_(attendees),
                                                     Person.role == "liaison")))
    unknown = [pid for pid in attendees if pid not in liaisons]
    if unknown:
        _fail({"attendees": [f"不是已登记的联络员: {', '.join(unknown[:10])}"]})
    training_id = data.get("id") or new_id("TR")
    existing = s.get(Training, training_id)
    if existing is not None:
        if not upsert:
            raise Conflict(f"培训 {training_id} 已存在", {"id": ["已存在"]})
        return "unchanged"
    s.add(Training(id=training_id, held_on=data["date"], subject=data["subject"],
                   township_code=data.get("township_code")))
    s.flush()
    s.add_all(TrainingAttendee(training_id=training_id, person_id=pid) for pid in attendees)
    tx.publish("liaison.trained", f"training/{training_id}",
               {"training_id": training_id, "date": data["date"],
                "township_code": data.get("township_code"), "person_ids": attendees})
    return "created"


def list_trainings(session: Session, township: str | None, page: int, page_size: int,
                   ) -> tuple[list[tuple[Training, list[str]]], int]:
    query = select(Training)
    if township:
        query = query.where(Training.township_code == township)
    rows, total = paginate(session, query.order_by(Training.held_on, Training.id), page,
                           page_size)
    trainings = [training for (training,) in rows]
    attendees: dict[str, list[str]] = {}
    for training_id, person_id in session.execute(
            select(TrainingAttendee.training_id, TrainingAttendee.person_id)
            .where(TrainingAttendee.training_id.in_([t.id for t in trainings]))
            .order_by(TrainingAttendee.person_id)):
        attendees.setdefault(training_id, []).append(person_id)
    return [(t, attendees.get(t.id, [])) for t in trainings], total


# --- coverage -----------------------------------------------------------------------------

def coverage(session: Session) -> dict:
    """The three-level loop report, each gap with its code and name."""
    townships = dict(session.execute(select(Township.code, Township.name)
                                     .where(Township.active.is_(True))).all())
    villages = {code: (name, township) for code, name, township in session.execute(
        select(Village.code, Village.name, Village.township_code)
        .where(Village.active.is_(True)))}

    def targets(kind: str, subject_active) -> set[str]:
        return set(session.scalars(select(ContactLink.target_code).where(
            ContactLink.kind == kind, ContactLink.subject_id.in_(subject_active))))

    active_people = select(Person.id).where(Person.active.is_(True))
    active_workstations = select(Workstation.id).where(Workstation.active.is_(True))
    report = domain.coverage(
        townships=townships, villages=villages,
        member_villages=targets("member_village", active_people),
        liaison_villages=session.scalars(select(Person.village_code).where(
            Person.role == "liaison", Person.active.is_(True))),
        workstation_townships=targets("workstation_township", active_workstations),
        leader_townships=targets("leader_township", active_people),
    )

    def village_places(codes):
        return [{"code": c, "name": villages[c][0], "township_code": villages[c][1]}
                for c in codes]

    def township_places(codes):
        return [{"code": c, "name": townships[c], "township_code": c} for c in codes]

    return {
        "complete": report.complete,
        "villages_without_member": village_places(report.villages_without_member),
        "villages_without_liaison": village_places(report.villages_without_liaison),
        "townships_without_workstation": township_places(report.townships_without_workstation),
        "townships_outside_leader_area": township_places(report.townships_outside_leader_area),
    }

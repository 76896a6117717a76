"""Who may read and change which petition or dispute (object level; the gateway checks roles).

District: everything. Township officer: its township. Responsible person: petitions assigned
to them (account ``person_id``). Liaison: files and follows its villages' petitions, reads an
identity only where it filed the petition. Discipline inspector: petitions referred to
supervision, never identities. ``public``: online intake and receipts only.
"""

from sqlalchemy import false, literal, or_

from services.chassis.actor import Actor
from services.chassis.errors import Forbidden
from services.petitions.models import Dispute, Petition

ADMIN = "district_admin"
OFFICER = "township_officer"
LIAISON = "liaison"
INSPECTOR = "discipline_inspector"


def _officer_covers(actor: Actor, village_code: str) -> bool:
    return actor.has(ADMIN) or (OFFICER in actor.roles and actor.covers_village(village_code))


def _liaison_of(actor: Actor, village_code: str) -> bool:
    return LIAISON in actor.roles and village_code in actor.villages


def _responsible(actor: Actor, petition) -> bool:
    return bool(actor.person_id) and actor.person_id == petition.responsible_person_id


def can_file(actor: Actor, village_code: str) -> bool:
    return _officer_covers(actor, village_code) or _liaison_of(actor, village_code)


def require_file(actor: Actor, village_code: str) -> None:
    if not can_file(actor, village_code):
        raise Forbidden("只能登记本辖区的信访事项或矛盾纠纷")


def _reads_whole(actor: Actor, petition) -> bool:
    return (_officer_covers(actor, petition.village_code)
            or _liaison_of(actor, petition.village_code)
            or _responsible(actor, petition))


def _reads_referral(actor: Actor, petition) -> bool:
    return INSPECTOR in actor.roles and bool(petition.referred_to_supervision)


def can_read_petition(actor: Actor, petition) -> bool:
    return _reads_whole(actor, petition) or _reads_referral(actor, petition)


def reads_only_referral(actor: Actor, petition) -> bool:
    """A discipline inspector with no other reason to read: it sees what was referred to
    supervision (the reduced view), not the details, answers or history."""
    return _reads_referral(actor, petition) and not _reads_whole(actor, petition)


def require_read_petition(actor: Actor, petition) -> None:
    if not can_read_petition(actor, petition):
        raise Forbidden("无权查看该信访事项")


def can_read_identity(actor: Actor, petition) -> bool:
    if actor.is_system:
        return False  # services and timers never need a petitioner's identity
    return (_officer_covers(actor, petition.village_code) or _responsible(actor, petition)
            or (_liaison_of(actor, petition.village_code)
                and petition.filed_by == actor.username))


def require_read_identity(actor: Actor, petition) -> None:
    if not can_read_identity(actor, petition):
        raise Forbidden("无权查看信访人身份信息")


def require_manage(actor: Actor, petition) -> None:
    """Accept, assign, escalate, extend, review, close, refer: district or township."""
    if not _officer_covers(actor, petition.village_code):
        raise Forbidden("只有区或所属乡镇可以办理该信访事项")


def require_answer(actor: Actor, petition) -> None:
    if not (_officer_covers(actor, petition.village_code) or _responsible(actor, petition)):
        raise Forbidden("只有责任人或所属乡镇可以答复")


def require_on_behalf(actor: Actor, petition) -> None:
    """Requests of the petitioner relayed by staff (review, re-examination, closing)."""
    if not (_officer_covers(actor, petition.village_code)
            or _liaison_of(actor, petition.village_code)):
        raise Forbidden("无权代信访人提出申请")


def petition_filter(actor: Actor):
    """A WHERE clause limiting a list to what the actor may read."""
    if actor.has(ADMIN):
        return None
    clauses = []
    if OFFICER in actor.roles:
        clauses += [Petition.township_code.in_(actor.townships),
                    Petition.village_code.in_(actor.villages)]
    if LIAISON in actor.roles:
        clauses.append(Petition.village_code.in_(actor.villages))
    if actor.person_id:
        clauses.append(Petition.responsible_person_id == actor.person_id)
    if INSPECTOR in actor.roles:
        clauses.append(Petition.referred_to_supervision.is_(True))
    return or_(*clauses) if clauses else false()


def require_statistics(actor: Actor, township: str | None) -> None:
    if actor.has(ADMIN):
        return
    if OFFICER in actor.roles and township and actor.covers_township(township):
        return
    raise Forbidden("无权查看该范围的统计")


# --- disputes -----------------------------------------------------------------------------

def _mediator(actor: Actor, dispute) -> bool:
    return bool(actor.person_id) and actor.person_id in dispute_mediators(dispute)


def dispute_mediators(dispute) -> list[str]:
    return [m for m in (dispute.mediator_ids or "").split(",") if m]


def require_read_dispute(actor: Actor, dispute) -> None:
    if not (can_file(actor, dispute.village_code) or _mediator(actor, dispute)):
        raise Forbidden("无权查看该矛盾纠纷")


def require_mediate(actor: Actor, dispute) -> None:
    """Sessions, outcome, follow-up: district, township, the village's liaison, a mediator."""
    require_read_dispute(actor, dispute)


def require_manage_dispute(actor: Actor, dispute) -> None:
    if not _officer_covers(actor, dispute.village_code):
        raise Forbidden("只有区或所属乡镇可以指定调解员")


def require_read_parties(actor: Actor, dispute) -> None:
    if actor.is_system or not (
            _officer_covers(actor, dispute.village_code) or _mediator(actor, dispute)
            or (_liaison_of(actor, dispute.village_code) and dispute.filed_by == actor.username)):
        raise Forbidden("无权查看当事人信息")


def dispute_filter(actor: Actor):
    if actor.has(ADMIN):
        return None
    clauses = []
    if OFFICER in actor.roles:
        clauses += [Dispute.township_code.in_(actor.townships),
                    Dispute.village_code.in_(actor.villages)]
    if LIAISON in actor.roles:
        clauses.append(Dispute.village_code.in_(actor.villages))
    if actor.person_id:
        # whole ids in the comma-separated list: mediator P1 must not match P12
        mediators = literal(",") + Dispute.mediator_ids + literal(",")
        clauses.append(mediators.contains(f",{actor.person_id},", autoescape=True))
    return or_(*clauses) if clauses else false()

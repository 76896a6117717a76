"""Who may read and change what in the meetings service (object level; the gateway checks
roles first).

- manage a village's topics and meetings: the village's liaison and cadres (accounts carry
  ``villages``), and the district administrator;
- record attendance and follow resolutions (progress notes): also the members linked to the
  village (member accounts carry ``villages``);
- read: the above for their villages, township officers for their townships, the district
  administrator everywhere;
- ``public``: disclosed summaries only (checked where summaries are read);
- a villager proposer's name: only those who manage the village.
"""

from services.chassis.actor import Actor
from services.chassis.errors import Forbidden

ADMIN = "district_admin"
TOWNSHIP_OFFICER = "township_officer"
VILLAGE_MANAGERS = ("liaison", "village_cadre")
MEMBER = "cppcc_member"


def _own_village(actor: Actor, village_code: str, roles: tuple[str, ...]) -> bool:
    return any(role in actor.roles for role in roles) and village_code in actor.villages


def can_manage(actor: Actor, village_code: str) -> bool:
    return actor.is_system or ADMIN in actor.roles or _own_village(
        actor, village_code, VILLAGE_MANAGERS)


def require_manage(actor: Actor, village_code: str) -> None:
    if not can_manage(actor, village_code):
        raise Forbidden("只能管理本村的议题和会议")


def can_follow(actor: Actor, village_code: str) -> bool:
    """Attendance and resolution progress: managers and the village's linked members."""
    return can_manage(actor, village_code) or _own_village(actor, village_code, (MEMBER,))


def require_follow(actor: Actor, village_code: str) -> None:
    if not can_follow(actor, village_code):
        raise Forbidden("只有本村联络员、村干部或联系委员可以执行此操作")


def can_read(actor: Actor, village_code: str) -> bool:
    if can_follow(actor, village_code):
        return True
    return TOWNSHIP_OFFICER in actor.roles and actor.covers_village(village_code)


def require_read(actor: Actor, village_code: str) -> None:
    if not can_read(actor, village_code):
        raise Forbidden("无权查看该村的议题和会议")


def readable_scope(actor: Actor) -> tuple[bool, tuple[str, ...], tuple[str, ...]]:
    """(everything, township codes, village codes) this actor may list."""
    if actor.is_system or ADMIN in actor.roles:
        return True, (), ()
    townships = actor.townships if TOWNSHIP_OFFICER in actor.roles else ()
    villages = actor.villages if set(actor.roles) & {*VILLAGE_MANAGERS, MEMBER} else ()
    return False, tuple(townships), tuple(villages)


def can_see_proposer_name(actor: Actor, village_code: str) -> bool:
    return can_manage(actor, village_code)


def require_compliance(actor: Actor, township_code: str | None) -> None:
    """Compliance: the district everywhere, a township officer for its own township."""
    if actor.is_system or ADMIN in actor.roles:
        return
    if TOWNSHIP_OFFICER in actor.roles and (township_code is None
                                            or actor.covers_township(township_code)):
        return
    raise Forbidden("无权查看该范围的月例会开展情况")


def require_statistics(actor: Actor) -> None:
    if not (actor.is_system or ADMIN in actor.roles):
        raise Forbidden("统计查询仅限区级")

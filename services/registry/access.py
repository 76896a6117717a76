"""Who may read and change what in the registry (object level; the gateway checks roles first)."""

from services.chassis.actor import Actor
from services.chassis.errors import Forbidden
from services.registry.domain import township_of

ADMIN = "district_admin"
TOWNSHIP_OFFICER = "township_officer"


def require_district(actor: Actor) -> None:
    actor.require(ADMIN)


def require_township_writer(actor: Actor, township_code: str) -> None:
    """Writes need the district administrator or the officer of that township."""
    actor.require(ADMIN, TOWNSHIP_OFFICER)
    if not actor.covers_township(township_code):
        raise Forbidden("只能管理本乡镇的数据")


def require_village_writer(actor: Actor, village_code: str) -> None:
    require_township_writer(actor, township_of(village_code))


def can_read_people(actor: Actor, village_code: str | None) -> bool:
    """``public`` reads no people; a liaison reads its own village's people and district-wide
    roles (members, leaders, experts, departments) but no other village's people."""
    if not actor.roles or actor.roles == ("public",):
        return False
    if actor.has(ADMIN, TOWNSHIP_OFFICER, "cppcc_member", "discipline_inspector",
                 "department_officer"):
        return True
    if actor.has("liaison"):
        return village_code is None or village_code in actor.villages
    return False


def require_read_people(actor: Actor, village_code: str | None) -> None:
    if not can_read_people(actor, village_code):
        raise Forbidden("无权查看该村人员")


def can_read_contacts(actor: Actor, village_code: str | None) -> bool:
    """Phones and e-mail addresses are personal data: the district (and the platform's own
    services, e.g. notify), or the township officer of the person's village."""
    if actor.has(ADMIN):
        return True
    return bool(village_code) and actor.has(TOWNSHIP_OFFICER) and actor.covers_village(village_code)

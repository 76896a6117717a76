"""Who may read and change what in supervision (object level; the gateway checks roles first).

Clue content is for ``discipline_inspector`` alone: not the district administrator, not the
platform's own services (the system actor), not the member who referred it.
"""

from services.chassis.actor import Actor
from services.chassis.errors import Forbidden, ValidationFailed

ADMIN = "district_admin"
OFFICER = "township_officer"
LIAISON = "liaison"
MEMBER = "cppcc_member"
INSPECTOR = "discipline_inspector"


def require_admin(actor: Actor) -> None:
    actor.require(ADMIN)


def require_village_writer(actor: Actor, village_code: str) -> None:
    """Power exercises and disclosures: the district, the township officer, the village's
    liaison."""
    actor.require(ADMIN, OFFICER, LIAISON)
    if actor.has(ADMIN):
        return
    if actor.has(OFFICER) and actor.covers_village(village_code):
        return
    if actor.has(LIAISON) and village_code in actor.villages:
        return
    raise Forbidden("只能管理本辖区村的数据")


def require_local_item_writer(actor: Actor, village_code: str) -> None:
    actor.require(ADMIN, OFFICER)
    if not actor.covers_village(village_code):
        raise Forbidden("只能管理本辖区村的数据")


def require_staff(actor: Actor) -> None:
    actor.require(ADMIN, OFFICER, LIAISON, MEMBER, INSPECTOR, "department_officer")


def is_staff(actor: Actor) -> bool:
    return bool(actor.roles) and actor.roles != ("public",)


EVERYWHERE = (ADMIN, MEMBER, INSPECTOR)


def can_read(actor: Actor, village_code: str) -> bool:
    """A village's exercises, alerts and matters: the district, members and discipline
    inspection everywhere; a township officer in its townships; a liaison in its villages."""
    if actor.has(*EVERYWHERE):
        return True
    if OFFICER in actor.roles and actor.covers_village(village_code):
        return True
    return LIAISON in actor.roles and village_code in actor.villages


def require_reader(actor: Actor, village_code: str) -> None:
    if not can_read(actor, village_code):
        raise Forbidden("无权查看该村的监督数据")


def can_read_matter(actor: Actor, village_code: str, owner: str) -> bool:
    """Also the matter's owner (e.g. a department officer it was assigned to)."""
    return can_read(actor, village_code) or bool(actor.person_id and actor.person_id == owner)


def require_matter_reader(actor: Actor, village_code: str, owner: str) -> None:
    if not can_read_matter(actor, village_code, owner):
        raise Forbidden("无权查看该监督事项")


def readable_scope(actor: Actor) -> tuple[bool, tuple[str, ...], tuple[str, ...]]:
    """(everything, township codes, village codes) this actor may list."""
    if actor.has(*EVERYWHERE):
        return True, (), ()
    townships = actor.townships if OFFICER in actor.roles else ()
    villages = actor.villages if set(actor.roles) & {OFFICER, LIAISON} else ()
    return False, tuple(townships), tuple(villages)


def statistics_scope(actor: Actor, township: str | None) -> tuple[str, ...] | None:
    """Townships whose statistics the actor may see (None: all); 403 otherwise."""
    if actor.has(*EVERYWHERE):
        return None
    if OFFICER in actor.roles and actor.townships:
        if township is not None and township not in actor.townships:
            raise Forbidden("只能查看本乡镇的监督统计")
        return tuple(actor.townships)
    raise Forbidden("监督统计仅限区级、乡镇、委员和纪检监察机关")


def require_matter_raiser(actor: Actor, village_code: str) -> None:
    """Members raise matters anywhere; officers within their townships; the district."""
    actor.require(ADMIN, OFFICER, MEMBER)
    if actor.has(OFFICER) and not actor.has(ADMIN, MEMBER) \
            and not actor.covers_village(village_code):
        raise Forbidden("只能为本辖区村提出监督事项")


def require_matter_handler(actor: Actor, village_code: str, owner: str) -> None:
    """The matter's owner, the township officer of its village, or the district."""
    if actor.has(ADMIN) or (actor.person_id and actor.person_id == owner):
        return
    if actor.has(OFFICER) and actor.covers_village(village_code):
        return
    raise Forbidden("只有责任人、所在乡镇或区级可以办理该事项")


def require_clue_referrer(actor: Actor, village_code: str) -> None:
    """Members and the district refer clues about any village; an officer in its townships."""
    actor.require(ADMIN, OFFICER, MEMBER)
    if actor.has(OFFICER) and not actor.has(ADMIN, MEMBER) \
            and not actor.covers_village(village_code):
        raise Forbidden("只能移交本辖区村的问题线索")


def require_clue_metadata_reader(actor: Actor, referred_by: str) -> None:
    """Existence, reference number, state and deadlines: the district, discipline
    inspection, and whoever referred it."""
    if actor.has(ADMIN, INSPECTOR) or (actor.username and actor.username == referred_by):
        return
    raise Forbidden("无权查看该线索")


def require_clue_content_reader(actor: Actor) -> None:
    """Content and whistleblower identity: discipline inspection only (not even the system)."""
    if INSPECTOR not in actor.roles:
        raise Forbidden("线索内容仅限纪检监察机关查阅")


def require_inspector(actor: Actor) -> None:
    if INSPECTOR not in actor.roles:
        raise Forbidden("仅纪检监察机关可以办理线索")


def require_objection_signer(actor: Actor, data: dict) -> None:
    """A named objection is filed by that person, or recorded for them by village staff."""
    if data["anonymous"] or actor.has(ADMIN, OFFICER, LIAISON):
        return
    if actor.person_id != data["person_id"]:
        raise ValidationFailed("输入有误", {"person_id": ["只能以本人名义实名提出异议"]})

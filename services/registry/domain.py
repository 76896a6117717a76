"""Registry rules: division codes, what each role must carry, links, coverage. Pure functions."""

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

TOWNSHIP_CODE_LENGTH = 9
VILLAGE_CODE_LENGTH = 12

TOWNSHIP_KINDS = ("township", "street")
VILLAGE_KINDS = ("village", "community")
LIAISON_SOURCES = ("capable_local", "reserve_cadre", "grid_worker")
CADRE_POSTS = ("party_secretary", "committee_director", "committee_member")

# role → fields it must carry (beyond id, name, role)
ROLE_FIELDS: dict[str, tuple[str, ...]] = {
    "cppcc_member": ("sector", "workstation_id"),
    "cppcc_leader": (),
    "liaison": ("village_code", "source"),
    "village_cadre": ("village_code", "post"),
    "resident_cadre": ("village_code",),
    "expert": ("department", "field"),
    "department": (),
}
ROLES = tuple(ROLE_FIELDS)
CONTACT_FIELDS = ("phone", "email")  # personal data: never in events, logs or metric labels
OPTIONAL_FIELDS = ("phone", "email", "village_code", "sector", "workstation_id", "source", "post",
                   "department", "field")
# Roles tied to one village: whoever manages that village may manage them.
VILLAGE_ROLES = ("liaison", "village_cadre", "resident_cadre")

# link kind → (role or "workstation" of the subject, kind of target)
LINK_KINDS: dict[str, tuple[str, str]] = {
    "leader_township": ("cppcc_leader", "township"),
    "workstation_township": ("workstation", "township"),
    "member_village": ("cppcc_member", "village"),
}


def village_code_errors(code: str, township_code: str) -> dict[str, list[str]]:
    """A village code is 12 digits and starts with its township's 9-digit code."""
    if not (code.isdigit() and len(code) == VILLAGE_CODE_LENGTH):
        return {"code": ["村代码应为 12 位数字"]}
    if not code.startswith(township_code):
        return {"code": [f"村代码应以所属乡镇代码 {township_code} 开头"]}
    return {}


def township_of(village_code: str) -> str:
    return village_code[:TOWNSHIP_CODE_LENGTH]


def person_errors(person: dict) -> dict[str, list[str]]:
    """Each role carries its required fields and no village unless it is tied to one."""
    role = person.get("role")
    errors: dict[str, list[str]] = {}
    for name in ROLE_FIELDS.get(role, ()):
        if not person.get(name):
            errors[name] = [f"角色 {role} 必须填写此项"]
    if person.get("village_code") and role not in VILLAGE_ROLES:
        errors.setdefault("village_code", []).append(f"角色 {role} 不隶属于某个村")
    if role == "liaison" and person.get("source") not in LIAISON_SOURCES and "source" not in errors:
        errors["source"] = ["取值应为: " + ", ".join(LIAISON_SOURCES)]
    if role == "village_cadre" and person.get("post") not in CADRE_POSTS and "post" not in errors:
        errors["post"] = ["取值应为: " + ", ".join(CADRE_POSTS)]
    return errors


def merged_person(current: dict, changes: dict) -> dict:
    """The person after an update, fields the role does not use cleared."""
    person = {**current, **changes}
    used = set(ROLE_FIELDS.get(person["role"], ())) | set(CONTACT_FIELDS)
    if person["role"] in VILLAGE_ROLES:
        used.add("village_code")
    for name in OPTIONAL_FIELDS:
        if name not in used:
            person[name] = None
    return person


def link_errors(kind: str, subject_kind: str | None, target_exists: bool) -> dict[str, list[str]]:
    """``subject_kind`` is the subject person's role, ``workstation``, or None if unknown."""
    expected_subject, target_kind = LINK_KINDS[kind]
    errors: dict[str, list[str]] = {}
    if subject_kind is None:
        errors["subject_id"] = ["对象不存在或已停用"]
    elif subject_kind != expected_subject:
        errors["subject_id"] = [f"{kind} 的对象应为 {expected_subject}"]
    if not target_exists:
        errors["target_code"] = [f"{'乡镇' if target_kind == 'township' else '村'}不存在"]
    return errors


@dataclass(frozen=True)
class Coverage:
    villages_without_member: list[str]
    villages_without_liaison: list[str]
    townships_without_workstation: list[str]
    townships_outside_leader_area: list[str]

    @property
    def complete(self) -> bool:
        return not (self.villages_without_member or self.villages_without_liaison
                    or self.townships_without_workstation
                    or self.townships_outside_leader_area)


def coverage(townships: Iterable[str], villages: Iterable[str],
             member_villages: Iterable[str], liaison_villages: Iterable[str],
             workstation_townships: Iterable[str], leader_townships: Iterable[str]) -> Coverage:
    """The three-level contact loop: every gap, sorted by code."""
    townships, villages = set(townships), set(villages)
    return Coverage(
        villages_without_member=sorted(villages - set(member_villages)),
        villages_without_liaison=sorted(villages - set(liaison_villages)),
        townships_without_workstation=sorted(townships - set(workstation_townships)),
        townships_outside_leader_area=sorted(townships - set(leader_townships)),
    )


def yuan_to_fen(amount: Decimal) -> int:
    """Exact yuan (at most two decimals) to integer fen: money is never a float."""
    return int(amount.quantize(Decimal("0.01")) * 100)


def fen_to_yuan(fen: int) -> Decimal:
    return (Decimal(fen) / 100).quantize(Decimal("0.01"))

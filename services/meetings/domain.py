"""Meetings rules: state machines, calendar months, quorum, compliance. Pure functions."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from services.chassis.clock import LOCAL
from services.chassis.errors import Conflict

PLATFORMS = ("villager_voice", "consult", "mediate", "civility", "supervise")
SOURCES = ("villager", "liaison_report", "petition", "supervision", "cadre", "member")
MEETING_KINDS = ("regular", "extra")
OUTCOMES = ("agreed", "not_agreed", "deferred")
# roles people sign in with (villager representatives are counted, not named)
ATTENDEE_ROLES = ("cppcc_leader", "cppcc_member", "village_cadre", "resident_cadre",
                  "liaison", "expert", "department")
VILLAGE_STATUSES = ("held", "scheduled", "missed", "not_scheduled")

TOPIC_STATE_NAMES = {
    "proposed": "待审核", "accepted": "已采纳", "merged": "已合并", "rejected": "未采纳",
    "scheduled": "已列入议程", "discussed": "已讨论", "agreed": "已议定",
    "not_agreed": "未议定", "deferred": "暂缓",
}
TOPIC_TRANSITIONS = {
    "proposed": {"accepted", "merged", "rejected"},
    "accepted": {"scheduled"},
    "deferred": {"scheduled"},  # back among the candidates of a later month
    "scheduled": {"discussed", "accepted", "deferred"},  # taken off an agenda: back
    "discussed": set(OUTCOMES),
}
MEETING_STATE_NAMES = {"scheduled": "已安排", "held": "已召开", "cancelled": "已取消",
                       "disclosed": "已公开"}
MEETING_TRANSITIONS = {"scheduled": {"held", "cancelled"}, "held": {"disclosed"}}
RESOLUTION_STATE_NAMES = {"open": "待落实", "in_progress": "落实中", "done": "已办结",
                          "overdue": "已逾期"}
RESOLUTION_TRANSITIONS = {
    "open": {"in_progress", "done", "overdue"},
    "in_progress": {"in_progress", "done", "overdue"},
    "overdue": {"overdue", "done"},  # a late result is still recorded, and stays late
}
UNFINISHED = ("open", "in_progress")


def _require(transitions: dict, names: dict, what: str, current: str, target: str) -> None:
    if target not in transitions.get(current, set()):
        raise Conflict(f"{what}当前状态为「{names.get(current, current)}」({current}), "
                       f"不能变为 {target}", {"state": [current]})


def require_topic_transition(current: str, target: str) -> None:
    _require(TOPIC_TRANSITIONS, TOPIC_STATE_NAMES, "议题", current, target)


def require_meeting_transition(current: str, target: str) -> None:
    _require(MEETING_TRANSITIONS, MEETING_STATE_NAMES, "会议", current, target)


def require_resolution_transition(current: str, target: str) -> None:
    _require(RESOLUTION_TRANSITIONS, RESOLUTION_STATE_NAMES, "议定事项", current, target)


def state_after_unscheduling(last_deferred_month: str | None) -> str:
    """A topic taken off an agenda goes back to where it came from."""
    return "deferred" if last_deferred_month else "accepted"


# --- calendar months (Asia/Shanghai) ------------------------------------------------------

def month_of(moment: datetime | date) -> str:
    """``YYYY-MM`` of a moment (in Asia/Shanghai) or of a calendar day."""
    if isinstance(moment, datetime):
        moment = local_day(moment)
    return f"{moment.year:04d}-{moment.month:02d}"


def parse_month(month: str) -> date:
    """The first day of ``YYYY-MM``; ValueError if malformed."""
    year, _, number = month.partition("-")
    if len(year) != 4 or len(number) != 2 or not (year + number).isdigit():
        raise ValueError(month)
    return date(int(year), int(number), 1)


def next_month(month: str) -> str:
    first = parse_month(month)
    return month_of((first + timedelta(days=32)).replace(day=1))


def previous_month(month: str) -> str:
    return month_of(parse_month(month) - timedelta(days=1))


def month_ended(month: str, today: date) -> bool:
    """Whether the calendar month is over on ``today`` (a local day)."""
    return today >= parse_month(next_month(month))


def month_to_close(today: date, grace_days: int = 0) -> str:
    """The month the month-end check closes on ``today``: the one that ended at least
    ``grace_days`` days ago (a few days of grace let late records of held meetings in)."""
    return previous_month(month_of(today - timedelta(days=grace_days)))


def as_utc(moment: datetime | None) -> datetime | None:
    """Aware UTC; SQLite hands back naive values of what was stored as UTC."""
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def local_day(moment: datetime) -> date:
    return as_utc(moment).astimezone(LOCAL).date()


def local_midnight_utc(day: date) -> datetime:
    return datetime.combine(day, time(0), LOCAL).astimezone(UTC)


# --- candidates, quorum -------------------------------------------------------------------

def is_candidate(state: str, last_deferred_month: str | None, month: str) -> bool:
    """Accepted topics, and deferred ones for any month after the one that deferred them."""
    if state == "accepted":
        return True
    return state == "deferred" and last_deferred_month is not None and month > last_deferred_month


@dataclass(frozen=True)
class QuorumRule:
    min_people: int = 3
    min_villager_representatives: int = 5
    required_roles: tuple[str, ...] = ("liaison",)

    @classmethod
    def from_config(cls, config: dict | None) -> "QuorumRule":
        config = config or {}
        roles = config.get("quorum_required_roles", "liaison")
        if isinstance(roles, str):
            roles = tuple(role.strip() for role in roles.split(",") if role.strip())
        return cls(int(config.get("quorum_min_people", 3)),
                   int(config.get("quorum_min_villager_representatives", 5)),
                   tuple(roles or ()))


def registry_checked_roles(rule: QuorumRule) -> set[str]:
    """Roles an attendee may sign in with only if the registry gives the person that role:
    the ones the quorum counts on, and experts."""
    return {*rule.required_roles, "expert"}


def quorum_shortfalls(rule: QuorumRule, roles: Iterable[str],
                      villager_representatives: int) -> list[str]:
    """What is missing for the meeting to count as held; empty if the quorum is met."""
    roles = list(roles)
    missing = []
    if len(roles) < rule.min_people:
        missing.append(f"签到人员 {len(roles)} 人, 不足 {rule.min_people} 人")
    if villager_representatives < rule.min_villager_representatives:
        missing.append(f"村民代表 {villager_representatives} 人, "
                       f"不足 {rule.min_villager_representatives} 人")
    for role in rule.required_roles:
        if role not in roles:
            missing.append(f"缺少角色 {role}")
    return missing


def reminder_due(starts_at: datetime, now: datetime, days: int) -> bool:
    """From ``days`` local calendar days before the meeting's day until it starts."""
    meeting_day, today = local_day(starts_at), local_day(now)
    return now < as_utc(starts_at) and (meeting_day - today).days <= days


def is_overdue(state: str, deadline: date, today: date) -> bool:
    """Unfinished once the deadline day (Asia/Shanghai) is over."""
    return state in UNFINISHED and today > deadline


# --- monthly compliance -------------------------------------------------------------------

def village_status(held: bool, scheduled: bool, missed: bool) -> str:
    if held:
        return "held"
    if missed:
        return "missed"
    if scheduled:
        return "scheduled"
    return "not_scheduled"


def rate(part: int, whole: int) -> float:
    """A share in [0, 1] rounded to 4 places (reports, not money)."""
    return round(part / whole, 4) if whole else 0.0


def compliance(villages: Iterable[tuple[str, str]], held: set[str], scheduled: set[str],
               missed: set[str]) -> tuple[dict[str, str], dict[str, dict], dict]:
    """``villages``: (village code, township code). Returns the status per village, the counts
    and held rate per township, and the district's."""
    statuses: dict[str, str] = {}
    townships: dict[str, dict] = {}
    district = {status: 0 for status in VILLAGE_STATUSES} | {"villages": 0}
    for code, township in villages:
        status = village_status(code in held, code in scheduled, code in missed)
        statuses[code] = status
        counts = townships.setdefault(township, {s: 0 for s in VILLAGE_STATUSES}
                                      | {"villages": 0})
        for bucket in (counts, district):
            bucket[status] += 1
            bucket["villages"] += 1
    for bucket in (*townships.values(), district):
        bucket["held_rate"] = rate(bucket["held"], bucket["villages"])
    return statuses, townships, district

"""Petition and dispute rules: state machines, deadlines, receipts, statistics. Pure functions.

Deadlines are Asia/Shanghai calendar days (``date`` values); defaults follow the 2022
Regulations on Letters and Visits and are configurable (``PETITIONS`` in config.yaml).
"""

import hashlib
import re
import secrets
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, fields
from datetime import date, timedelta

from services.chassis.errors import Conflict

CHANNELS = ("visit", "letter", "phone", "online", "liaison", "meeting")
DEFAULT_CATEGORIES = ("land", "homestead", "social_security", "environment", "infrastructure",
                      "village_finance", "cadre_conduct", "other")
PLATFORMS = ("villager_voice", "consult", "mediate", "civility", "supervise")
ESCALATION_TARGETS = ("township", "department")

STATES = ("received", "accepted", "not_accepted", "assigned", "in_progress", "answered",
          "review_requested", "reviewed", "reexam_requested", "reexamined", "closed")
OPEN_HANDLING = ("accepted", "assigned", "in_progress")
FINAL = ("not_accepted", "closed")

# action → (states it may start from, state it leads to; None keeps the state)
TRANSITIONS: dict[str, tuple[tuple[str, ...], str | None]] = {
    "accept": (("received",), "accepted"),
    "not_accept": (("received",), "not_accepted"),
    "assign": (("accepted", "assigned"), "assigned"),
    "start": (("assigned",), "in_progress"),
    "extend": (OPEN_HANDLING, None),
    "escalate": (OPEN_HANDLING, None),
    "escalation_response": (OPEN_HANDLING, None),
    "answer": (("assigned", "in_progress"), "answered"),
    "request_review": (("answered",), "review_requested"),
    "review": (("review_requested",), "reviewed"),
    "request_reexam": (("reviewed",), "reexam_requested"),
    "reexamine": (("reexam_requested",), "reexamined"),
    "close": (("answered", "reviewed", "reexamined"), "closed"),
    "refer_to_meeting": (("accepted", "assigned", "in_progress", "answered"), None),
    "refer_to_supervision": (("accepted", "assigned", "in_progress", "answered"), None),
}

STATE_NAMES = {
    "received": "已登记", "accepted": "已受理", "not_accepted": "不予受理", "assigned": "已交办",
    "in_progress": "办理中", "answered": "已答复", "review_requested": "已申请复查",
    "reviewed": "已复查", "reexam_requested": "已申请复核", "reexamined": "已复核",
    "closed": "已办结",
}

RECEIPT_DIGITS = 20
RECEIPT_PATTERN = re.compile(rf"^\d{{{RECEIPT_DIGITS}}}$")

DISPUTE_TYPES = ("neighbour", "land", "family", "labour", "other")
RISK_LEVELS = ("low", "elevated", "high")
DISPUTE_STATES = ("registered", "mediating", "agreed", "referred")
REFERRALS = ("litigation", "arbitration", "higher_level")
DISPUTE_STATE_NAMES = {"registered": "已登记", "mediating": "调解中", "agreed": "已达成调解协议",
                       "referred": "调解不成已移送"}
DISPUTE_TRANSITIONS: dict[str, tuple[tuple[str, ...], str | None]] = {
    "assign_mediators": (("registered", "mediating"), None),
    "hold_session": (("registered", "mediating"), "mediating"),
    "agree": (("mediating",), "agreed"),
    "fail": (("mediating",), "referred"),
    "follow_up": (("agreed",), None),
    "change_risk": (("registered", "mediating"), None),
}


@dataclass(frozen=True)
class Rules:
    """Time limits in calendar days and the category list (config ``PETITIONS``)."""

    categories: tuple[str, ...] = DEFAULT_CATEGORIES
    accept_days: int = 15
    handle_days: int = 60
    extension_max_days: int = 30
    review_request_days: int = 30
    review_days: int = 30
    reexam_request_days: int = 30
    reexam_days: int = 30
    escalation_days: int = 15
    due_soon_days: int = 3
    judicial_confirmation_days: int = 30
    followup_days: int = 15

    @classmethod
    def from_config(cls, config: dict) -> "Rules":
        values = {**(config.get("PETITIONS") or {}), **(config.get("DISPUTES") or {})}
        known = {f.name for f in fields(cls)}
        kwargs = {k: (tuple(v) if k == "categories" else int(v))
                  for k, v in values.items() if k in known}
        return cls(**kwargs)


def transition(action: str, state: str, table=TRANSITIONS, names=STATE_NAMES) -> str:
    """The state after ``action``; 409 naming the current state when it is not allowed."""
    allowed, target = table[action]
    if state not in allowed:
        raise Conflict(f"当前状态为「{names.get(state, state)}」({state}), 不能执行此操作",
                       {"state": [state]})
    return target or state


def days_after(day: date, days: int) -> date:
    return day + timedelta(days=days)


# --- deadlines ----------------------------------------------------------------------------

@dataclass(frozen=True)
class Deadline:
    stage: str  # accept | handle | review | reexam | escalation
    due: date


def open_deadlines(petition) -> list[Deadline]:
    """The deadlines the petition is running against now (attribute access on any record)."""
    state = petition.state
    found = []
    if state == "received" and petition.accept_due:
        found.append(Deadline("accept", petition.accept_due))
    if state in OPEN_HANDLING and petition.handle_due:
        found.append(Deadline("handle", petition.handle_due))
        if petition.escalation_due:
            found.append(Deadline("escalation", petition.escalation_due))
    if state == "review_requested" and petition.review_due:
        found.append(Deadline("review", petition.review_due))
    if state == "reexam_requested" and petition.reexam_due:
        found.append(Deadline("reexam", petition.reexam_due))
    return found


def deadline_signal(deadline: Deadline, today: date, soon_days: int) -> str | None:
    """``overdue`` after the due day, ``due_soon`` within ``soon_days`` before it, else None."""
    if today > deadline.due:
        return "overdue"
    if (deadline.due - today).days <= soon_days:
        return "due_soon"
    return None


def once_key(signal: str, subject_id: str, stage: str, due: date) -> str:
    """The due day is part of the key: an extension gives a new date that fires again."""
    return f"petition.{signal}:{subject_id}:{stage}:{due.isoformat()}"


def require_escalated(escalation_due: date | None) -> None:
    """A response is recorded once, for a petition escalated and not yet answered back."""
    if escalation_due is None:
        raise Conflict("该信访事项没有待答复的上交(转办), 或答复已记录",
                       {"escalation_due": ["none"]})


def extension_errors(days: int, rules: Rules, already_extended: bool) -> dict:
    if already_extended:
        return {"days": ["办理期限只能延长一次"]}
    if not 1 <= days <= rules.extension_max_days:
        return {"days": [f"延长天数应在 1 到 {rules.extension_max_days} 之间"]}
    return {}


def request_window_errors(field: str, today: date, until: date | None) -> dict:
    if until is not None and today > until:
        return {field: [f"已超过申请期限 {until.isoformat()}"]}
    return {}


# --- receipts and rate limits -------------------------------------------------------------

def new_receipt_code() -> str:
    return "".join(secrets.choice("0123456789") for _ in range(RECEIPT_DIGITS))


def receipt_hash(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


def identity_leaks(text: str, identity: dict | None) -> list[str]:
    """Which identity fields (name, phone, ID number) appear in ``text``."""
    if not identity:
        return []
    return [key for key in ("name", "phone", "id_number")
            if identity.get(key) and len(identity[key]) >= 2 and identity[key] in text]


# --- disputes -----------------------------------------------------------------------------

def risk_raised(old: str, new: str) -> bool:
    return RISK_LEVELS.index(new) > RISK_LEVELS.index(old)


def dispute_followup_key(dispute_id: str, due: date) -> str:
    return f"dispute.followup_due:{dispute_id}:{due.isoformat()}"


# --- statistics ---------------------------------------------------------------------------

def month_bounds(period: str) -> tuple[date, date]:
    """``2026-10`` → (first day, first day of next month)."""
    year, month = (int(part) for part in period.split("-"))
    start = date(year, month, 1)
    end = date(year + (month == 12), month % 12 + 1, 1)
    return start, end


def previous_period(period: str) -> str:
    start, _ = month_bounds(period)
    last = start - timedelta(days=1)
    return f"{last.year:04d}-{last.month:02d}"


def on_time(pairs: Iterable[tuple[date | None, date | None]], cutoff: date) -> dict:
    """(done on, due) pairs of a stage: total, on time and the rate.

    A done item counts by its own dates. An unfinished one counts as late once its due day
    lies before ``cutoff`` (the earlier of the period's end and today): a body that never
    answers must not show a perfect rate."""
    done, late_open = 0, 0
    good = 0
    for finished, due in pairs:
        if due is None:
            continue
        if finished is not None:
            done += 1
            good += finished <= due
        elif due < cutoff:
            late_open += 1
    total = done + late_open
    return {"total": total, "on_time": good, "rate": round(good / total, 4) if total else None}


def petition_figures(petitions: list, categories: Iterable[str], cutoff: date) -> dict:
    """Figures for petitions received in a period (records with the petition's attributes);
    ``cutoff``: the earlier of the period's end and today (see ``on_time``)."""
    by_category = Counter(p.category for p in petitions)
    by_channel = Counter(p.channel for p in petitions)
    return {
        "received": len(petitions),
        "by_category": {c: by_category.get(c, 0) for c in categories},
        "by_channel": {c: by_channel.get(c, 0) for c in CHANNELS},
        "agri_related": sum(1 for p in petitions if p.agri_related),
        "not_accepted": sum(1 for p in petitions if p.not_accepted_on is not None),
        "answered": sum(1 for p in petitions if p.answered_on is not None),
        "closed": sum(1 for p in petitions if p.state == "closed"),
        "on_time": {
            "accept": on_time(((p.accepted_on or p.not_accepted_on, p.accept_due)
                               for p in petitions), cutoff),
            "handle": on_time(((p.answered_on, p.handle_due) for p in petitions), cutoff),
            "review": on_time(((p.reviewed_on, p.review_due) for p in petitions), cutoff),
            "reexam": on_time(((p.reexamined_on, p.reexam_due) for p in petitions), cutoff),
        },
    }


def dispute_figures(disputes: list, mediated_ids: set[str]) -> dict:
    agreed = sum(1 for d in disputes if d.state == "agreed")
    referred = sum(1 for d in disputes if d.state == "referred")
    concluded = agreed + referred
    return {
        "registered": len(disputes),
        "mediated": sum(1 for d in disputes if d.id in mediated_ids),
        "agreed": agreed,
        "referred": referred,
        "agreement_rate": round(agreed / concluded, 4) if concluded else None,
        "high_risk": sum(1 for d in disputes if d.risk_level == "high"),
    }

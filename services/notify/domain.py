"""Pure notify rules: recipients, channels, quiet hours, backoff, signatures, templates.

No nameko, no SQL. The routing table itself is ``rules.RULES``.
"""

import hashlib
import hmac
import re
import string
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from pathlib import Path

from services.chassis.clock import LOCAL

URGENT, HIGH, NORMAL, LOW = "urgent", "high", "normal", "low"
PRIORITIES = (URGENT, HIGH, NORMAL, LOW)
INBOX, EMAIL, SMS, DIGEST = "inbox", "email", "sms", "digest"
CHANNELS = (INBOX, EMAIL, SMS, DIGEST)
OUTWARD = (EMAIL, SMS)  # channels with a template besides the inbox
DISTRICT = "district"

# what a person gets when they have set no preference (config DEFAULT_CHANNELS overrides)
DEFAULT_CHANNELS = {
    URGENT: [INBOX, SMS, EMAIL],
    HIGH: [INBOX, SMS, EMAIL],
    NORMAL: [INBOX, EMAIL, SMS],
    LOW: [INBOX, DIGEST],
}

TEMPLATES = Path(__file__).parent / "templates"
MISSING = "—"


# --- recipients ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Recipients:
    """Resolves an event's ``data`` to recipient keys; ``reads`` names the fields it uses.

    Keys: ``person:<id>`` (a registry person), ``role:<role>:<township code|district>``
    (accounts that are not registry persons) and ``village:<code>:<group>`` (the village's
    liaisons, cadres or contact members, expanded to persons through the registry).
    """

    reads: tuple[str, ...]
    resolve: Callable[[dict], list[str]]


def person(field_name: str) -> Recipients:
    """The registry person whose id is in ``data[field_name]``."""
    def resolve(data):
        value = data.get(field_name)
        return [f"person:{value}"] if value else []
    return Recipients((field_name,), resolve)


def township_officer() -> Recipients:
    """The officers of the township of ``data["village_code"]`` (its first 9 digits)."""
    def resolve(data):
        code = data.get("village_code") or ""
        return [f"role:township_officer:{code[:9]}"] if len(code) == 12 else []
    return Recipients(("village_code",), resolve)


def role(role_name: str) -> Recipients:
    """Every account with a district-wide role (district administrators, inspectors)."""
    return Recipients((), lambda data: [f"role:{role_name}:{DISTRICT}"])


VILLAGE_GROUPS = ("liaisons", "cadres", "contact_members")


def village(*groups: str) -> Recipients:
    """People who serve ``data["village_code"]``: liaisons, cadres, contact members."""
    unknown = set(groups) - set(VILLAGE_GROUPS)
    if unknown:
        raise ValueError(f"unknown village groups {unknown}")

    def resolve(data):
        code = data.get("village_code")
        return [f"village:{code}:{group}" for group in groups] if code else []
    return Recipients(("village_code",), resolve)


@dataclass(frozen=True)
class Rule:
    """One routing rule: who hears of an event type, how urgently, with which template."""

    source: str
    priority: str
    recipients: tuple[Recipients, ...]
    reads: tuple[str, ...] = ()  # further payload fields the templates or condition use
    template: str = ""  # defaults to the event type with "." → "_"
    when: Callable[[dict], bool] | None = None
    when_doc: str = ""

    def fields(self) -> tuple[str, ...]:
        names = [name for r in self.recipients for name in r.reads] + list(self.reads)
        return tuple(dict.fromkeys(names))

    def recipient_keys(self, data: dict) -> list[str]:
        if self.when is not None and not self.when(data):
            return []
        keys = [key for r in self.recipients for key in r.resolve(data)]
        return list(dict.fromkeys(keys))


def template_name(event_type: str, rule: Rule) -> str:
    return rule.template or event_type.replace(".", "_")


def parse_key(key: str) -> tuple[str, ...]:
    return tuple(key.split(":"))


# --- who reads an inbox -------------------------------------------------------------------

def inbox_keys(person_id: str | None, roles: Iterable[str], townships: Iterable[str]) -> list[str]:
    """The recipient keys whose items an account sees: its person's and its roles'."""
    keys = [f"person:{person_id}"] if person_id else []
    for name in roles:
        if name == "township_officer":
            keys += [f"role:{name}:{code}" for code in townships]
        elif name in ("district_admin", "discipline_inspector"):
            keys.append(f"role:{name}:{DISTRICT}")
    return keys


# --- channels -----------------------------------------------------------------------------

def channels_for(priority: str, preference: dict | None, defaults: dict | None = None) -> list[str]:
    """The channels a person gets for ``priority``; the inbox is always one of them."""
    table = {**DEFAULT_CHANNELS, **(defaults or {})}
    chosen = list((preference or {}).get(priority) or table.get(priority) or [INBOX])
    if INBOX not in chosen:
        chosen.insert(0, INBOX)
    if priority != LOW and DIGEST in chosen:  # only low priority waits for the digest
        chosen = [c for c in chosen if c != DIGEST] + ([EMAIL] if EMAIL not in chosen else [])
    return [c for c in CHANNELS if c in chosen]


def _clock_time(text: str) -> time:
    hour, minute = text.split(":")
    return time(int(hour), int(minute))


def quiet_until(moment: datetime, quiet_start: str | None, quiet_end: str | None,
                priority: str) -> datetime | None:
    """When a non-urgent SMS due at ``moment`` inside the person's quiet hours may go
    (the end of the quiet window, UTC); None when it may go now."""
    if priority == URGENT or not quiet_start or not quiet_end:
        return None
    start, end = _clock_time(quiet_start), _clock_time(quiet_end)
    if start == end:
        return None
    local = moment.astimezone(LOCAL)
    now = local.time()
    inside = (start <= now < end) if start < end else (now >= start or now < end)
    if not inside:
        return None
    ends = datetime.combine(local.date(), end, tzinfo=LOCAL)
    if ends <= local:
        ends += timedelta(days=1)
    return ends.astimezone(moment.tzinfo)


def backoff(attempt: int, base: float, maximum: float) -> timedelta:
    """Delay before attempt ``attempt + 1`` after ``attempt`` failures: base · 2^(attempt-1)."""
    return timedelta(seconds=min(maximum, base * 2 ** max(0, attempt - 1)))


# --- webhooks -----------------------------------------------------------------------------

def sign(secret: str, timestamp: str, body: bytes) -> str:
    """HMAC-SHA256 over ``<timestamp>.<body>``, hex, as the ``X-Yuelihui-Signature`` value."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify(secret: str, timestamp: str, body: bytes, signature: str) -> bool:
    return hmac.compare_digest(sign(secret, timestamp, body), signature or "")


PATTERN = re.compile(r"^([a-z_]+|\*|#)(\.([a-z_]+|\*|#))*$")


def pattern_matches(pattern: str, event_type: str) -> bool:
    """AMQP topic semantics: ``*`` is one word, ``#`` zero or more words."""
    def match(p: list[str], w: list[str]) -> bool:
        if not p:
            return not w
        if p[0] == "#":
            return any(match(p[1:], w[i:]) for i in range(len(w) + 1))
        return bool(w) and (p[0] == "*" or p[0] == w[0]) and match(p[1:], w[1:])
    return match(pattern.split("."), event_type.split("."))


def wants(patterns: Iterable[str], event_type: str) -> bool:
    return any(pattern_matches(p, event_type) for p in patterns)


# --- templates ----------------------------------------------------------------------------

class _Values(dict):
    def __missing__(self, key):
        return MISSING


@dataclass
class Message:
    subject: str
    body: str


@dataclass
class Rendered:
    by_channel: dict[str, Message] = field(default_factory=dict)


def template_path(name: str, channel: str, root: Path = TEMPLATES) -> Path:
    return root / f"{name}.{channel}.txt"


def placeholders(text: str) -> set[str]:
    names = set()
    for match in string.Template.pattern.finditer(text):
        name = match.group("named") or match.group("braced")
        if name:
            names.add(name)
    return names


def render(text: str, values: dict) -> Message:
    """First line: subject (title); the rest: body. Missing fields render as "—"."""
    filled = string.Template(text).substitute(_Values({k: _show(v) for k, v in values.items()}))
    subject, _, body = filled.strip().partition("\n")
    return Message(subject.strip(), body.strip() or subject.strip())


# an ISO date-time with an offset, as marshmallow's DateTime field sends it (``starts_at``)
DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?([+-]\d{2}:\d{2}|Z)$")


def _show(value) -> str:
    if value is None or value == "":
        return MISSING
    if isinstance(value, str) and DATETIME.match(value):  # shown in Asia/Shanghai time
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        return moment.astimezone(LOCAL).strftime("%Y-%m-%d %H:%M")
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, list | tuple):
        return "、".join(_show(v) for v in value)
    return str(value)


def render_all(name: str, values: dict, root: Path = TEMPLATES) -> dict[str, Message]:
    """The message of each channel (inbox, email, sms) for template ``name``."""
    return {channel: render(template_path(name, channel, root).read_text("utf-8"), values)
            for channel in (INBOX, EMAIL, SMS)}

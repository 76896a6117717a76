"""Notify use cases: plan an event, record what it causes, claim and finish deliveries,
inbox, preferences, webhook subscriptions. Network I/O (RPC, SMTP, SMS, HTTP) never happens
here: the service does it between the transactions these functions run in."""

import json
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import and_, case, delete, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.chassis.errors import Conflict, Forbidden, NotFound
from services.chassis.events import event_time
from services.chassis.store import Transaction
from services.notify import domain
from services.notify.models import (
    CachedPerson,
    CachedVillage,
    Delivery,
    InboxItem,
    Preference,
    WebhookAttempt,
    WebhookDelivery,
    WebhookSubscription,
)
from services.notify.rules import RULES


def aware(moment: datetime | None) -> datetime | None:
    """SQLite gives naive datetimes back; everything stored is UTC."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Settings:
    """The delivery settings of ``config.yaml`` (DELIVERY, WEBHOOKS, DEFAULT_CHANNELS...)."""

    attempts: int = 5
    backoff: float = 30.0
    max_backoff: float = 3600.0
    lease: float = 120.0
    batch: int = 50
    webhook_attempts: int = 8
    webhook_backoff: float = 30.0
    webhook_max_backoff: float = 3600.0
    suspend_after: int = 5
    cache_ttl: float = 86400.0
    default_channels: dict = field(default_factory=dict)

    @classmethod
    def from_config(cls, config: dict) -> "Settings":
        delivery = config.get("DELIVERY") or {}
        hooks = config.get("WEBHOOKS") or {}
        return cls(
            attempts=int(delivery.get("attempts", 5)),
            backoff=float(delivery.get("backoff", 30)),
            max_backoff=float(delivery.get("max_backoff", 3600)),
            lease=float(delivery.get("lease", 120)),
            batch=int(delivery.get("batch", 50)),
            webhook_attempts=int(hooks.get("attempts", 8)),
            webhook_backoff=float(hooks.get("backoff", 30)),
            webhook_max_backoff=float(hooks.get("max_backoff", 3600)),
            suspend_after=int(hooks.get("suspend_after", 5)),
            cache_ttl=float((config.get("DIRECTORY") or {}).get("ttl_seconds", 86400)),
            default_channels=dict(config.get("DEFAULT_CHANNELS") or {}),
        )


def _insert_once(session: Session, row) -> bool:
    """Add ``row`` unless its unique key exists (a redelivered event): True if added."""
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:
        return False
    return True


# --- planning and recording an event ------------------------------------------------------

@dataclass
class Plan:
    envelope: dict
    event_type: str
    rule: domain.Rule | None
    keys: list[str]
    village_code: str | None

    @property
    def data(self) -> dict:
        return self.envelope.get("data") or {}


def plan(envelope: dict, rules: dict | None = None) -> Plan:
    """Which rule applies and the recipient keys it names (pure)."""
    rules = RULES if rules is None else rules
    event_type = envelope.get("type", "")
    data = envelope.get("data") or {}
    rule = rules.get(event_type)
    keys = rule.recipient_keys(data) if rule else []
    code = data.get("village_code") if rule else None
    return Plan(envelope, event_type, rule, keys, code if isinstance(code, str) else None)


def lookups(session: Session, the_plan: Plan, ttl: float, now: datetime
            ) -> tuple[set[str], set[str]]:
    """(person ids, village codes) to fetch from the registry: missing or stale in the cache."""
    if not the_plan.keys:
        return set(), set()
    stale = now - timedelta(seconds=ttl)
    villages: set[str] = set()
    people: set[str] = set()
    if the_plan.village_code:
        cached = session.get(CachedVillage, the_plan.village_code)
        if cached is None or aware(cached.fetched_at) < stale:
            villages.add(the_plan.village_code)
        else:
            for key in the_plan.keys:
                parts = domain.parse_key(key)
                if parts[0] == "village":
                    people.update(cached.groups.get(parts[2], []))
    people.update(domain.parse_key(k)[1] for k in the_plan.keys if k.startswith("person:"))
    fresh = set(session.scalars(select(CachedPerson.person_id).where(
        CachedPerson.person_id.in_(people), CachedPerson.fetched_at >= stale))) if people else set()
    return people - fresh, villages


def store_fetched(session: Session, people: dict, villages: dict, now: datetime) -> None:
    """Cache what the registry answered (``None``: not found, forget it)."""
    for code, village in villages.items():
        session.execute(delete(CachedVillage).where(CachedVillage.village_code == code))
        if village is None:
            continue
        groups = {g: [p["id"] for p in village.get(g) or []] for g in domain.VILLAGE_GROUPS}
        session.add(CachedVillage(village_code=code, name=village["name"],
                                  township_code=village["township_code"], groups=groups,
                                  fetched_at=now))
    for person_id, record in people.items():
        session.execute(delete(CachedPerson).where(CachedPerson.person_id == person_id))
        if record is None:
            continue
        session.add(CachedPerson(person_id=person_id, role=record.get("role") or "",
                                 village_code=record.get("village_code"),
                                 phone=record.get("phone"), email=record.get("email"),
                                 active=bool(record.get("active", True)), fetched_at=now))
    session.flush()


def forget(session: Session, envelope: dict) -> None:
    """``person.*``, ``contact.*`` and ``village.*`` events make cached entries stale."""
    event_type = envelope.get("type", "")
    data = envelope.get("data") or {}
    aggregate = event_type.partition(".")[0]
    if aggregate == "person":
        session.execute(delete(CachedPerson).where(CachedPerson.person_id == data.get("person_id")))
        if data.get("village_code"):  # the village's groups may have changed
            session.execute(delete(CachedVillage).where(
                CachedVillage.village_code == data["village_code"]))
    elif aggregate == "contact" and len(str(data.get("target_code", ""))) == 12:
        session.execute(delete(CachedVillage).where(
            CachedVillage.village_code == data["target_code"]))
    elif aggregate == "village":
        session.execute(delete(CachedVillage).where(CachedVillage.village_code == data.get("code")))


@dataclass
class Recorded:
    """What a transaction did, counted in metrics once it commits."""

    outcomes: list[tuple[str, str, str]] = field(default_factory=list)  # channel, prio, outcome
    inbox_items: int = 0
    deliveries: int = 0
    webhooks: int = 0


def record_event(tx: Transaction, the_plan: Plan, settings: Settings, now: datetime) -> Recorded:
    """Inbox items, deliveries and webhook deliveries caused by one event (idempotent)."""
    session = tx.session
    done = Recorded()
    if the_plan.rule is not None and the_plan.keys:
        _record_notifications(session, the_plan, settings, now, done)
    done.webhooks = fan_out_webhooks(session, the_plan.envelope, now)
    return done


def expand(session: Session, keys: list[str]) -> list[str]:
    """``village:<code>:<group>`` → the ``person:<id>`` keys of that group."""
    out: list[str] = []
    for key in keys:
        parts = domain.parse_key(key)
        if parts[0] == "village":
            village = session.get(CachedVillage, parts[1])
            ids = (village.groups.get(parts[2]) or []) if village else []
            out += [f"person:{person_id}" for person_id in ids]
        else:
            out.append(key)
    return list(dict.fromkeys(out))


def _record_notifications(session, the_plan: Plan, settings: Settings, now, done: Recorded):
    envelope, rule = the_plan.envelope, the_plan.rule
    village = session.get(CachedVillage, the_plan.village_code) if the_plan.village_code else None
    values = {**the_plan.data, "village_name": village.name if village else None,
              "event_type": the_plan.event_type}
    messages = domain.render_all(domain.template_name(the_plan.event_type, rule), values)
    happened = aware(event_time(envelope))
    inbox = messages[domain.INBOX]
    for key in expand(session, the_plan.keys):
        contact = None
        if key.startswith("person:"):
            contact = session.get(CachedPerson, domain.parse_key(key)[1])
            if contact is not None and not contact.active:
                continue  # no longer serves
        item = InboxItem(event_id=envelope["id"], event_type=the_plan.event_type, recipient=key,
                         priority=rule.priority, title=inbox.subject, body=inbox.body,
                         subject=str(envelope.get("subject") or "")[:200], event_time=happened,
                         created_at=now)
        if _insert_once(session, item):
            done.inbox_items += 1
            done.outcomes.append((domain.INBOX, rule.priority, "sent"))
        if contact is None:
            continue  # roles and unknown people: inbox only
        preference = session.get(Preference, contact.person_id)
        channels = domain.channels_for(rule.priority, preference.channels if preference else None,
                                       settings.default_channels)
        for channel in channels:
            if channel == domain.INBOX:
                continue
            _record_delivery(session, envelope, the_plan.event_type, key, channel, rule.priority,
                             messages, contact, preference, happened, now, done)


def _record_delivery(session, envelope, event_type, key, channel, priority, messages, contact,
                     preference, happened, now, done: Recorded):
    address = contact.phone if channel == domain.SMS else contact.email
    message = messages[domain.INBOX if channel == domain.DIGEST else channel]
    due = now
    if not address:
        status = "skipped"
    elif channel == domain.DIGEST:
        status = "digest"
    else:
        status = "pending"
        if channel == domain.SMS and preference is not None:
            due = domain.quiet_until(now, preference.quiet_start, preference.quiet_end,
                                     priority) or now
    row = Delivery(event_id=envelope["id"], event_type=event_type, recipient=key, channel=channel,
                   priority=priority, subject=message.subject[:200], body=message.body,
                   status=status, attempts=0, next_attempt_at=due, event_time=happened,
                   created_at=now, updated_at=now)
    if _insert_once(session, row):
        done.deliveries += 1
        if status in ("skipped", "digest"):
            outcome = "skipped" if status == "skipped" else "queued"
            done.outcomes.append((channel, priority, outcome))
        elif due > now:
            done.outcomes.append((channel, priority, "deferred"))


def fan_out_webhooks(session: Session, envelope: dict, now: datetime) -> int:
    event_type = envelope.get("type", "")
    count = 0
    for subscription in session.scalars(select(WebhookSubscription).where(
            WebhookSubscription.status == "active")):
        if not domain.wants(subscription.patterns, event_type):
            continue
        row = WebhookDelivery(subscription_id=subscription.id, event_id=envelope["id"],
                              event_type=event_type,
                              envelope=json.dumps(envelope, ensure_ascii=False),
                              status="pending", attempts=0, next_attempt_at=now,
                              event_time=aware(event_time(envelope)), created_at=now)
        count += _insert_once(session, row)
    return count


# --- delivering ---------------------------------------------------------------------------

@dataclass
class Job:
    id: int
    channel: str
    priority: str
    address: str | None
    subject: str
    body: str
    attempts: int
    event_time: datetime


def _due(model, now):
    return or_(and_(model.status == "pending", model.next_attempt_at <= now),
               and_(model.status == "sending", model.lease_until < now))


def claim_deliveries(tx: Transaction, settings: Settings, now: datetime) -> list[Job]:
    """Take due deliveries for this instance (leased; rows locked on PostgreSQL)."""
    session = tx.session
    query = (select(Delivery).where(_due(Delivery, now), Delivery.channel.in_(domain.OUTWARD))
             .order_by(Delivery.next_attempt_at, Delivery.id).limit(settings.batch))
    if session.bind.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    jobs = []
    for row in session.scalars(query).all():
        row.status, row.lease_until = "sending", now + timedelta(seconds=settings.lease)
        row.attempts += 1
        row.updated_at = now
        contact = session.get(CachedPerson, domain.parse_key(row.recipient)[1])
        address = None
        if contact is not None:
            address = contact.phone if row.channel == domain.SMS else contact.email
        jobs.append(Job(row.id, row.channel, row.priority, address, row.subject, row.body,
                        row.attempts, aware(row.event_time)))
    return jobs


def finish_delivery(tx: Transaction, job: Job, error: str | None, settings: Settings,
                    now: datetime) -> str:
    """sent | skipped | retry | dead."""
    row = tx.session.get(Delivery, job.id)
    row.updated_at, row.lease_until = now, None
    if error is None and job.address is None:
        row.status, row.last_error = "skipped", "no address on record"
        return "skipped"
    if error is None:
        row.status, row.sent_at, row.last_error = "sent", now, None
        return "sent"
    row.last_error = error[:500]
    if row.attempts >= settings.attempts:
        row.status = "dead"
        return "dead"
    row.status = "pending"
    row.next_attempt_at = now + domain.backoff(row.attempts, settings.backoff,
                                               settings.max_backoff)
    return "retry"


def list_failures(session: Session, page: int, page_size: int) -> tuple[list[Delivery], int]:
    where = Delivery.status == "dead"
    total = session.scalar(select(func.count()).select_from(Delivery).where(where))
    rows = session.scalars(select(Delivery).where(where).order_by(Delivery.id.desc())
                           .offset((page - 1) * page_size).limit(page_size)).all()
    return list(rows), total


def retry_failure(tx: Transaction, delivery_id: int, now: datetime) -> Delivery:
    row = tx.session.get(Delivery, delivery_id)
    if row is None:
        raise NotFound("投递记录不存在")
    if row.status != "dead":
        raise Conflict(f"只能重试已失败的投递, 当前状态为 {row.status}", {"state": row.status})
    row.status, row.attempts, row.next_attempt_at, row.updated_at = "pending", 0, now, now
    return row


# --- digest -------------------------------------------------------------------------------

def claim_digests(tx: Transaction, settings: Settings, now: datetime
                  ) -> list[tuple[str, list[int], list[tuple[str, str]]]]:
    """Per person: (e-mail address, delivery ids, [(subject, body)]) of queued low items."""
    session = tx.session
    rows = session.scalars(select(Delivery).where(Delivery.status == "digest")
                           .order_by(Delivery.recipient, Delivery.id)).all()
    by_person: dict[str, list[Delivery]] = {}
    for row in rows:
        by_person.setdefault(row.recipient, []).append(row)
    out = []
    for key, items in by_person.items():
        contact = session.get(CachedPerson, domain.parse_key(key)[1])
        for row in items:
            row.status, row.updated_at, row.attempts = "sending", now, row.attempts + 1
            row.lease_until = now + timedelta(seconds=settings.lease)
        out.append((contact.email if contact else None, [r.id for r in items],
                    [(r.subject, r.body) for r in items]))
    return out


def finish_digest(tx: Transaction, ids: list[int], error: str | None, now: datetime) -> None:
    for row in tx.session.scalars(select(Delivery).where(Delivery.id.in_(ids))):
        row.updated_at, row.lease_until = now, None
        if error is None:
            row.status, row.sent_at = "sent", now
        else:  # back in the queue for tomorrow's digest
            row.status, row.last_error = "digest", error[:500]


# --- webhooks -----------------------------------------------------------------------------

@dataclass
class HookJob:
    id: int
    subscription_id: str
    url: str
    secret: str
    event_id: str
    body: bytes
    attempts: int
    event_time: datetime


def claim_webhooks(tx: Transaction, settings: Settings, now: datetime) -> list[HookJob]:
    session = tx.session
    query = (select(WebhookDelivery, WebhookSubscription)
             .join(WebhookSubscription,
                   WebhookSubscription.id == WebhookDelivery.subscription_id)
             .where(_due(WebhookDelivery, now), WebhookSubscription.status == "active")
             .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id)
             .limit(settings.batch))
    if session.bind.dialect.name == "postgresql":
        query = query.with_for_update(of=WebhookDelivery, skip_locked=True)
    jobs = []
    for row, subscription in session.execute(query).all():
        row.status, row.lease_until = "sending", now + timedelta(seconds=settings.lease)
        row.attempts += 1
        jobs.append(HookJob(row.id, subscription.id, subscription.url, subscription.secret,
                            row.event_id, row.envelope.encode("utf-8"), row.attempts,
                            aware(row.event_time)))
    return jobs


def finish_webhook(tx: Transaction, job: HookJob, status_code: int | None, error: str | None,
                   settings: Settings, now: datetime) -> list[str]:
    """Outcomes: delivered | failed (+ dead) (+ suspended)."""
    session = tx.session
    row = session.get(WebhookDelivery, job.id)
    subscription = session.get(WebhookSubscription, job.subscription_id)
    row.lease_until = None
    session.add(WebhookAttempt(delivery_id=row.id, subscription_id=subscription.id,
                               attempt=row.attempts, at=now, status_code=status_code,
                               outcome="delivered" if error is None else "failed",
                               error=None if error is None else error[:500]))
    if error is None:
        row.status, row.delivered_at, row.last_error = "sent", now, None
        subscription.consecutive_failures = 0
        return ["delivered"]
    outcomes = ["failed"]
    row.last_error = error[:500]
    if row.attempts >= settings.webhook_attempts:
        row.status = "dead"
        outcomes.append("dead")
    else:
        row.status = "pending"
        row.next_attempt_at = now + domain.backoff(row.attempts, settings.webhook_backoff,
                                                   settings.webhook_max_backoff)
    subscription.consecutive_failures += 1
    if (subscription.status == "active"
            and subscription.consecutive_failures >= settings.suspend_after):
        subscription.status, subscription.suspended_at = "suspended", now
        outcomes.append("suspended")
    return outcomes


def create_webhook(tx: Transaction, data: dict, now: datetime) -> WebhookSubscription:
    subscription = WebhookSubscription(
        id=f"WH{secrets.token_hex(4).upper()}", agency=data["agency"], url=data["url"],
        secret=secrets.token_hex(32), patterns=list(dict.fromkeys(data["patterns"])),
        status="active", consecutive_failures=0, created_at=now)
    tx.session.add(subscription)
    return subscription


def get_webhook(session: Session, subscription_id: str) -> WebhookSubscription:
    subscription = session.get(WebhookSubscription, subscription_id)
    if subscription is None:
        raise NotFound("订阅不存在")
    return subscription


def list_webhooks(session: Session) -> list[WebhookSubscription]:
    return list(session.scalars(select(WebhookSubscription).order_by(
        WebhookSubscription.created_at, WebhookSubscription.id)))


def resume_webhook(tx: Transaction, subscription_id: str, now: datetime) -> WebhookSubscription:
    subscription = get_webhook(tx.session, subscription_id)
    if subscription.status != "suspended":
        raise Conflict(f"订阅未被暂停, 当前状态为 {subscription.status}",
                       {"state": subscription.status})
    subscription.status, subscription.suspended_at = "active", None
    subscription.consecutive_failures = 0
    for row in tx.session.scalars(select(WebhookDelivery).where(
            WebhookDelivery.subscription_id == subscription_id,
            WebhookDelivery.status.in_(("pending", "dead")))):
        row.status, row.next_attempt_at, row.attempts = "pending", now, 0
    return subscription


def webhook_deliveries(session: Session, subscription_id: str, page: int, page_size: int
                       ) -> tuple[list[tuple[WebhookDelivery, list[WebhookAttempt]]], int]:
    get_webhook(session, subscription_id)
    where = WebhookDelivery.subscription_id == subscription_id
    total = session.scalar(select(func.count()).select_from(WebhookDelivery).where(where))
    rows = session.scalars(select(WebhookDelivery).where(where)
                           .order_by(WebhookDelivery.id.desc())
                           .offset((page - 1) * page_size).limit(page_size)).all()
    out = []
    for row in rows:
        attempts = session.scalars(select(WebhookAttempt).where(
            WebhookAttempt.delivery_id == row.id).order_by(WebhookAttempt.id)).all()
        out.append((row, list(attempts)))
    return out, total


# --- inbox and preferences ----------------------------------------------------------------

def list_inbox(session: Session, keys: list[str], unread_only: bool, page: int,
               page_size: int) -> tuple[list[InboxItem], int, int]:
    """Unread first, newest first; (items, total, unread)."""
    if not keys:
        return [], 0, 0
    mine = InboxItem.recipient.in_(keys)
    unread = session.scalar(select(func.count()).select_from(InboxItem).where(
        mine, InboxItem.read_at.is_(None)))
    where = and_(mine, InboxItem.read_at.is_(None)) if unread_only else mine
    total = session.scalar(select(func.count()).select_from(InboxItem).where(where))
    rows = session.scalars(
        select(InboxItem).where(where)
        .order_by(case((InboxItem.read_at.is_(None), 0), else_=1),
                  InboxItem.created_at.desc(), InboxItem.id.desc())
        .offset((page - 1) * page_size).limit(page_size)).all()
    return list(rows), total, unread


def mark_read(tx: Transaction, keys: list[str], item_id: int, now: datetime) -> InboxItem:
    item = tx.session.get(InboxItem, item_id)
    if item is None or item.recipient not in keys:
        raise NotFound("通知不存在")
    if item.read_at is None:
        item.read_at = now
    return item


def get_preference(session: Session, person_id: str | None) -> Preference | None:
    if not person_id:
        raise Forbidden("只有登记在册的人员可以设置通知偏好")
    return session.get(Preference, person_id)


def set_preference(tx: Transaction, person_id: str | None, data: dict, now: datetime
                   ) -> Preference:
    if not person_id:
        raise Forbidden("只有登记在册的人员可以设置通知偏好")
    preference = tx.session.get(Preference, person_id)
    if preference is None:
        preference = Preference(person_id=person_id)
        tx.session.add(preference)
    preference.channels = {k: list(dict.fromkeys(v)) for k, v in data["channels"].items()}
    preference.quiet_start, preference.quiet_end = data["quiet_start"], data["quiet_end"]
    preference.updated_at = now
    return preference

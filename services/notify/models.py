"""Notify tables: the contact cache, inbox items, deliveries per channel, preferences and
agency webhook subscriptions with their delivery log."""

from datetime import datetime

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.chassis.store import add_chassis_tables


class Base(DeclarativeBase):
    pass


add_chassis_tables(Base.metadata)

When = DateTime(timezone=True)


class CachedPerson(Base):
    """A registry person's contact details, fetched by RPC; dropped by ``person.*`` events."""

    __tablename__ = "cached_person"
    person_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    role: Mapped[str] = mapped_column(String(20))
    village_code: Mapped[str | None] = mapped_column(String(12), nullable=True)
    phone: Mapped[str | None] = mapped_column(String(20), nullable=True)
    email: Mapped[str | None] = mapped_column(String(200), nullable=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    fetched_at: Mapped[datetime] = mapped_column(When)


class CachedVillage(Base):
    """A village's name and the ids of the people who serve it (``contact.*`` refreshes it)."""

    __tablename__ = "cached_village"
    village_code: Mapped[str] = mapped_column(String(12), primary_key=True)
    name: Mapped[str] = mapped_column(String(50))
    township_code: Mapped[str] = mapped_column(String(9))
    groups: Mapped[dict] = mapped_column(JSON)  # {"liaisons": [ids], "cadres": [...], ...}
    fetched_at: Mapped[datetime] = mapped_column(When)


class InboxItem(Base):
    """One in-app notification for one recipient key (``person:<id>`` or ``role:<r>:<area>``)."""

    __tablename__ = "inbox_item"
    __table_args__ = (UniqueConstraint("event_id", "recipient"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(String(36))
    event_type: Mapped[str] = mapped_column(String(80))
    recipient: Mapped[str] = mapped_column(String(80), index=True)
    priority: Mapped[str] = mapped_column(String(10))
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    subject: Mapped[str] = mapped_column(String(200))
    event_time: Mapped[datetime] = mapped_column(When)
    created_at: Mapped[datetime] = mapped_column(When)
    read_at: Mapped[datetime | None] = mapped_column(When, nullable=True, index=True)


class Delivery(Base):
    """One message on one outward channel (email, sms, digest) for one person and one event."""

    __tablename__ = "delivery"
    __table_args__ = (UniqueConstraint("event_id", "recipient", "channel"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(String(36))
    event_type: Mapped[str] = mapped_column(String(80))
    recipient: Mapped[str] = mapped_column(String(80), index=True)
    channel: Mapped[str] = mapped_column(String(10))
    priority: Mapped[str] = mapped_column(String(10))
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    # pending → sending → sent | pending (retry) | dead; skipped (no address); digest (queued)
    status: Mapped[str] = mapped_column(String(10), index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(When, index=True)
    lease_until: Mapped[datetime | None] = mapped_column(When, nullable=True)
    last_error: Mapped[str | None] = mapped_column(String(500), nullable=True)
    event_time: Mapped[datetime] = mapped_column(When)
    created_at: Mapped[datetime] = mapped_column(When)
    updated_at: Mapped[datetime] = mapped_column(When)
    sent_at: Mapped[datetime | None] = mapped_column(When, nullable=True)


class Preference(Base):
    """A person's channels per priority and quiet hours (local time) for non-urgent SMS."""

    __tablename__ = "preference"
    person_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    channels: Mapped[dict] = mapped_column(JSON)  # {"normal": ["inbox", "email"], ...}
    quiet_start: Mapped[str | None] = mapped_column(String(5), nullable=True)  # "22:00"
    quiet_end: Mapped[str | None] = mapped_column(String(5), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(When)


class WebhookSubscription(Base):
    __tablename__ = "webhook_subscription"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    agency: Mapped[str] = mapped_column(String(100))
    url: Mapped[str] = mapped_column(String(500))
    secret: Mapped[str] = mapped_column(String(100))
    patterns: Mapped[list] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(10))  # active | suspended
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(When)
    suspended_at: Mapped[datetime | None] = mapped_column(When, nullable=True)


class WebhookDelivery(Base):
    __tablename__ = "webhook_delivery"
    __table_args__ = (UniqueConstraint("subscription_id", "event_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    subscription_id: Mapped[str] = mapped_column(ForeignKey("webhook_subscription.id"),
                                                 index=True)
    event_id: Mapped[str] = mapped_column(String(36))
    event_type: Mapped[str] = mapped_column(String(80))
    envelope: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10), index=True)  # pending|sending|sent|dead
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(When, index=True)
    lease_until: Mapped[datetime | None] = mapped_column(When, nullable=True)
    last_error: Mapped[str | None] = mapped_column(String(500), nullable=True)
    event_time: Mapped[datetime] = mapped_column(When)
    created_at: Mapped[datetime] = mapped_column(When)
    delivered_at: Mapped[datetime | None] = mapped_column(When, nullable=True)


class WebhookAttempt(Base):
    """The delivery log: every POST with its answer."""

    __tablename__ = "webhook_attempt"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    delivery_id: Mapped[int] = mapped_column(ForeignKey("webhook_delivery.id"), index=True)
    subscription_id: Mapped[str] = mapped_column(String(40), index=True)
    attempt: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(When)
    status_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    outcome: Mapped[str] = mapped_column(String(10))  # delivered | failed
    error: Mapped[str | None] = mapped_column(String(500), nullable=True)

"""Meetings tables: the local copy of villages, topics, meetings, attendance, resolutions."""

from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    Date,
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


class Village(Base):
    """The registry's villages, kept current by ``village.registered`` / ``village.updated``."""

    __tablename__ = "village"
    code: Mapped[str] = mapped_column(String(12), primary_key=True)
    name: Mapped[str] = mapped_column(String(50))
    township_code: Mapped[str] = mapped_column(String(9), index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # the month the copy first knew the village: no meeting is expected before it
    since_month: Mapped[str] = mapped_column(String(7))


class Topic(Base):
    __tablename__ = "topic"
    # a petition or a supervision matter becomes at most one topic
    __table_args__ = (UniqueConstraint("source", "source_ref"),)
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    village_code: Mapped[str] = mapped_column(ForeignKey("village.code"), index=True)
    title: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(Text, default="")
    source: Mapped[str] = mapped_column(String(20))
    source_ref: Mapped[str | None] = mapped_column(String(40), nullable=True)
    platform: Mapped[str] = mapped_column(String(20))
    proposer_person_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    # a villager's name: private, shown only to the village's managers, never in events
    proposer_name: Mapped[str | None] = mapped_column(String(100), nullable=True)
    supporters: Mapped[int] = mapped_column(Integer, default=1)
    state: Mapped[str] = mapped_column(String(20), index=True)
    reject_reason: Mapped[str | None] = mapped_column(String(500), nullable=True)
    merged_into: Mapped[str | None] = mapped_column(String(40), nullable=True)
    meeting_id: Mapped[str | None] = mapped_column(String(40), nullable=True, index=True)
    last_deferred_month: Mapped[str | None] = mapped_column(String(7), nullable=True)
    proposed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Meeting(Base):
    __tablename__ = "meeting"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    village_code: Mapped[str] = mapped_column(ForeignKey("village.code"), index=True)
    month: Mapped[str] = mapped_column(String(7), index=True)  # YYYY-MM, Asia/Shanghai
    kind: Mapped[str] = mapped_column(String(10))
    # "<village>:<month>" while a regular meeting is not cancelled, else NULL: at most one
    regular_slot: Mapped[str | None] = mapped_column(String(20), nullable=True, unique=True)
    starts_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    place: Mapped[str] = mapped_column(String(100))
    convener_person_id: Mapped[str] = mapped_column(String(40))
    state: Mapped[str] = mapped_column(String(20), index=True)
    minutes: Mapped[str | None] = mapped_column(Text, nullable=True)
    villager_representatives: Mapped[int] = mapped_column(Integer, default=0)
    held_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    cancel_reason: Mapped[str | None] = mapped_column(String(500), nullable=True)
    disclosed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class AgendaItem(Base):
    __tablename__ = "agenda_item"
    meeting_id: Mapped[str] = mapped_column(ForeignKey("meeting.id"), primary_key=True)
    topic_id: Mapped[str] = mapped_column(ForeignKey("topic.id"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer)
    outcome: Mapped[str | None] = mapped_column(String(20), nullable=True)
    discussion: Mapped[str | None] = mapped_column(Text, nullable=True)


class InvitedExpert(Base):
    __tablename__ = "invited_expert"
    meeting_id: Mapped[str] = mapped_column(ForeignKey("meeting.id"), primary_key=True)
    topic_id: Mapped[str] = mapped_column(ForeignKey("topic.id"), primary_key=True)
    person_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    opinion: Mapped[str | None] = mapped_column(Text, nullable=True)


class Attendance(Base):
    __tablename__ = "attendance"
    meeting_id: Mapped[str] = mapped_column(ForeignKey("meeting.id"), primary_key=True)
    person_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    role: Mapped[str] = mapped_column(String(30))
    signed_in_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class MissedMonth(Base):
    """A village-month without a held regular meeting (reason optional)."""

    __tablename__ = "missed_month"
    village_code: Mapped[str] = mapped_column(ForeignKey("village.code"), primary_key=True)
    month: Mapped[str] = mapped_column(String(7), primary_key=True)
    reason: Mapped[str | None] = mapped_column(String(500), nullable=True)
    marked: Mapped[bool] = mapped_column(Boolean, default=False)  # by the month-end check
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Resolution(Base):
    __tablename__ = "resolution"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    meeting_id: Mapped[str] = mapped_column(ForeignKey("meeting.id"), index=True)
    topic_id: Mapped[str] = mapped_column(ForeignKey("topic.id"), index=True)
    village_code: Mapped[str] = mapped_column(String(12), index=True)
    text: Mapped[str] = mapped_column(Text)
    owner_person_id: Mapped[str] = mapped_column(String(40))
    department: Mapped[str | None] = mapped_column(String(100), nullable=True)
    deadline: Mapped[date] = mapped_column(Date)
    state: Mapped[str] = mapped_column(String(20), index=True)
    evidence: Mapped[str | None] = mapped_column(Text, nullable=True)
    satisfaction: Mapped[int | None] = mapped_column(Integer, nullable=True)
    was_overdue: Mapped[bool] = mapped_column(Boolean, default=False)
    adopted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True),
                                                          nullable=True)


class ResolutionProgress(Base):
    __tablename__ = "resolution_progress"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    resolution_id: Mapped[str] = mapped_column(ForeignKey("resolution.id"), index=True)
    note: Mapped[str] = mapped_column(Text)
    by: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

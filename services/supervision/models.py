"""Supervision tables: power items and exercises, disclosures and objections, alerts,
matters, clues (content encrypted) with their read audit, and the local copy of villages."""

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
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


class LocalVillage(Base):
    """The registry's villages, kept from its ``village.*`` events."""

    __tablename__ = "local_village"
    code: Mapped[str] = mapped_column(String(12), primary_key=True)
    name: Mapped[str] = mapped_column(String(50))
    township_code: Mapped[str] = mapped_column(String(9), index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class PowerItem(Base):
    """A micro-power item: district catalogue (``village_code`` null) or a village's own."""

    __tablename__ = "power_item"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    category: Mapped[str] = mapped_column(String(30), index=True)
    name: Mapped[str] = mapped_column(String(100))
    village_code: Mapped[str | None] = mapped_column(String(12), index=True, nullable=True)
    steps: Mapped[list] = mapped_column(JSON)  # [{"key", "name"}] in mandated order
    requires_disclosure: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Exercise(Base):
    __tablename__ = "power_exercise"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    item_id: Mapped[str] = mapped_column(ForeignKey("power_item.id"), index=True)
    village_code: Mapped[str] = mapped_column(String(12), index=True)
    township_code: Mapped[str] = mapped_column(String(9), index=True)
    title: Mapped[str] = mapped_column(String(200))
    state: Mapped[str] = mapped_column(String(20), default="in_progress")
    started_on: Mapped[date] = mapped_column(Date)
    completed_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ExerciseStep(Base):
    __tablename__ = "power_exercise_step"
    __table_args__ = (UniqueConstraint("exercise_id", "step_key"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    exercise_id: Mapped[str] = mapped_column(ForeignKey("power_exercise.id"), index=True)
    step_key: Mapped[str] = mapped_column(String(40))
    done_on: Mapped[date] = mapped_column(Date)
    responsible: Mapped[str] = mapped_column(String(100))
    evidence: Mapped[str] = mapped_column(String(2000), default="")
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Alert(Base):
    """A procedure alert (out of order, skipped, no disclosure) or a window closed with
    unanswered objections. One per (exercise, step, kind) at most."""

    __tablename__ = "alert"
    __table_args__ = (UniqueConstraint("exercise_id", "step_key"),)
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    kind: Mapped[str] = mapped_column(String(30), index=True)
    village_code: Mapped[str] = mapped_column(String(12), index=True)
    township_code: Mapped[str] = mapped_column(String(9), index=True)
    exercise_id: Mapped[str | None] = mapped_column(ForeignKey("power_exercise.id"),
                                                    nullable=True)
    disclosure_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    step_key: Mapped[str | None] = mapped_column(String(40), nullable=True)
    summary: Mapped[str] = mapped_column(String(500))
    period: Mapped[str] = mapped_column(String(7), index=True)
    raised_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    matter_id: Mapped[str | None] = mapped_column(String(40), nullable=True)


class Disclosure(Base):
    __tablename__ = "disclosure"
    __table_args__ = (Index("ix_disclosure_stats", "period", "township_code", "kind"),)
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    kind: Mapped[str] = mapped_column(String(30), index=True)
    village_code: Mapped[str] = mapped_column(String(12), index=True)
    township_code: Mapped[str] = mapped_column(String(9))
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    amount_fen: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    fund_source: Mapped[str | None] = mapped_column(String(100), nullable=True)
    beneficiaries: Mapped[int | None] = mapped_column(Integer, nullable=True)
    exercise_id: Mapped[str | None] = mapped_column(ForeignKey("power_exercise.id"),
                                                    nullable=True, index=True)
    finance_month: Mapped[str | None] = mapped_column(String(7), nullable=True)
    period: Mapped[str] = mapped_column(String(7))  # month of publication (Asia/Shanghai)
    published_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    window_ends_on: Mapped[date] = mapped_column(Date)
    state: Mapped[str] = mapped_column(String(20), default="published")  # | window_closed
    corrects_id: Mapped[str | None] = mapped_column(ForeignKey("disclosure.id"), nullable=True)
    superseded_by_id: Mapped[str | None] = mapped_column(String(40), nullable=True)


class Objection(Base):
    __tablename__ = "objection"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    disclosure_id: Mapped[str] = mapped_column(ForeignKey("disclosure.id"), index=True)
    content: Mapped[str] = mapped_column(String(2000))
    anonymous: Mapped[bool] = mapped_column(Boolean)
    person_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    filed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    state: Mapped[str] = mapped_column(String(20), default="open")  # | answered
    answer: Mapped[str | None] = mapped_column(String(2000), nullable=True)
    upheld: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    answered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class Matter(Base):
    __tablename__ = "matter"
    __table_args__ = (UniqueConstraint("source", "source_ref"),)
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    source: Mapped[str] = mapped_column(String(20))
    source_ref: Mapped[str | None] = mapped_column(String(60), nullable=True)
    village_code: Mapped[str] = mapped_column(String(12), index=True)
    township_code: Mapped[str] = mapped_column(String(9), index=True)
    title: Mapped[str] = mapped_column(String(200))
    summary: Mapped[str] = mapped_column(String(2000), default="")
    owner: Mapped[str] = mapped_column(String(60))
    deadline: Mapped[date] = mapped_column(Date)
    state: Mapped[str] = mapped_column(String(20), default="open")
    overdue: Mapped[bool] = mapped_column(Boolean, default=False)
    evidence: Mapped[str | None] = mapped_column(String(2000), nullable=True)
    period: Mapped[str] = mapped_column(String(7), index=True)
    raised_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    rectified_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    referred_topic: Mapped[bool] = mapped_column(Boolean, default=False)


class Clue(Base):
    """A clue referred to discipline inspection. ``content`` and ``whistleblower`` are
    MultiFernet tokens; only ``discipline_inspector`` reads them, every read audited."""

    __tablename__ = "clue"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    reference_no: Mapped[str] = mapped_column(String(40), unique=True)
    source: Mapped[str] = mapped_column(String(20))
    source_ref: Mapped[str | None] = mapped_column(String(60), nullable=True)
    village_code: Mapped[str] = mapped_column(String(12), index=True)
    township_code: Mapped[str] = mapped_column(String(9), index=True)
    category: Mapped[str] = mapped_column(String(40))
    content: Mapped[str] = mapped_column(Text)
    whistleblower: Mapped[str | None] = mapped_column(Text, nullable=True)
    feedback: Mapped[str | None] = mapped_column(Text, nullable=True)
    state: Mapped[str] = mapped_column(String(20), default="referred")
    outcome: Mapped[str | None] = mapped_column(String(30), nullable=True)
    referred_by: Mapped[str] = mapped_column(String(64))
    referred_on: Mapped[date] = mapped_column(Date)
    period: Mapped[str] = mapped_column(String(7), index=True)
    acknowledge_due: Mapped[date] = mapped_column(Date)
    conclude_due: Mapped[date] = mapped_column(Date)
    acknowledged_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    concluded_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    concluded_period: Mapped[str | None] = mapped_column(String(7), nullable=True, index=True)


class ClueRead(Base):
    """The audit of every read of a clue's content."""

    __tablename__ = "clue_read"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    clue_id: Mapped[str] = mapped_column(ForeignKey("clue.id"), index=True)
    reader: Mapped[str] = mapped_column(String(64))
    person_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    roles: Mapped[str] = mapped_column(String(200))
    read_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class RateCounter(Base):
    """Public objections per (salted client hash, bucket, window): shared by every instance."""

    __tablename__ = "rate_counter"
    client_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    bucket: Mapped[str] = mapped_column(String(20), primary_key=True)
    window: Mapped[int] = mapped_column(Integer, primary_key=True)
    count: Mapped[int] = mapped_column(Integer, default=0)

"""Registry tables: places, people and the links of the three-level contact loop."""

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.chassis.store import add_chassis_tables


class Base(DeclarativeBase):
    pass


add_chassis_tables(Base.metadata)


class Township(Base):
    __tablename__ = "township"
    code: Mapped[str] = mapped_column(String(9), primary_key=True)
    name: Mapped[str] = mapped_column(String(50))
    kind: Mapped[str] = mapped_column(String(10))
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Village(Base):
    __tablename__ = "village"
    code: Mapped[str] = mapped_column(String(12), primary_key=True)
    name: Mapped[str] = mapped_column(String(50), index=True)
    township_code: Mapped[str] = mapped_column(ForeignKey("township.code"), index=True)
    kind: Mapped[str] = mapped_column(String(10))
    pilot: Mapped[bool] = mapped_column(Boolean, default=False)
    consultation_room: Mapped[str] = mapped_column(String(100), default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Workstation(Base):
    __tablename__ = "workstation"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    sector: Mapped[str] = mapped_column(String(50))
    annual_budget_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Person(Base):
    """A person or, for role ``department``, an organisation. Never deleted: deactivated."""

    __tablename__ = "person"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(20), index=True)
    phone: Mapped[str | None] = mapped_column(String(20), nullable=True)
    email: Mapped[str | None] = mapped_column(String(200), nullable=True)
    village_code: Mapped[str | None] = mapped_column(ForeignKey("village.code"), index=True,
                                                     nullable=True)
    sector: Mapped[str | None] = mapped_column(String(50), nullable=True)
    workstation_id: Mapped[str | None] = mapped_column(ForeignKey("workstation.id"),
                                                       nullable=True)
    source: Mapped[str | None] = mapped_column(String(20), nullable=True)
    post: Mapped[str | None] = mapped_column(String(30), nullable=True)
    department: Mapped[str | None] = mapped_column(String(100), nullable=True)
    field: Mapped[str | None] = mapped_column(String(100), nullable=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    deactivated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True),
                                                            nullable=True)


class ContactLink(Base):
    """leader → township, workstation → township, member → village."""

    __tablename__ = "contact_link"
    __table_args__ = (UniqueConstraint("kind", "subject_id", "target_code"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(30))
    subject_id: Mapped[str] = mapped_column(String(40), index=True)
    target_code: Mapped[str] = mapped_column(String(12), index=True)


class Training(Base):
    __tablename__ = "training"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    held_on: Mapped[date] = mapped_column(Date)
    subject: Mapped[str] = mapped_column(String(200))
    township_code: Mapped[str | None] = mapped_column(ForeignKey("township.code"),
                                                      nullable=True)


class TrainingAttendee(Base):
    __tablename__ = "training_attendee"
    training_id: Mapped[str] = mapped_column(ForeignKey("training.id"), primary_key=True)
    person_id: Mapped[str] = mapped_column(ForeignKey("person.id"), primary_key=True)

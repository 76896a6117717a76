"""Petitions tables. Personal data (petitioner identity, dispute parties) only as ciphertext;
receipt codes only as SHA-256 hashes; client addresses only as salted hashes in counters."""

from datetime import date, datetime

from sqlalchemy import Boolean, Date, DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.chassis.store import add_chassis_tables


class Base(DeclarativeBase):
    pass


add_chassis_tables(Base.metadata)


class Village(Base):
    """Local copy of the registry's villages (``village.registered`` / ``village.updated``)."""

    __tablename__ = "village"
    code: Mapped[str] = mapped_column(String(12), primary_key=True)
    name: Mapped[str] = mapped_column(String(50))
    township_code: Mapped[str] = mapped_column(String(9), index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Petition(Base):
    __tablename__ = "petition"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    receipt_hash: Mapped[str | None] = mapped_column(String(64), unique=True, nullable=True)
    channel: Mapped[str] = mapped_column(String(20), index=True)
    category: Mapped[str] = mapped_column(String(40), index=True)
    agri_related: Mapped[bool] = mapped_column(Boolean, default=False)
    village_code: Mapped[str] = mapped_column(String(12), index=True)
    township_code: Mapped[str] = mapped_column(String(9), index=True)
    summary: Mapped[str] = mapped_column(Text)
    details: Mapped[str] = mapped_column(Text, default="")
    anonymous: Mapped[bool] = mapped_column(Boolean, default=False)
    identity_cipher: Mapped[str | None] = mapped_column(Text, nullable=True)
    filed_by: Mapped[str] = mapped_column(String(64))  # account name, "public" online
    state: Mapped[str] = mapped_column(String(20), index=True)
    received_on: Mapped[date] = mapped_column(Date, index=True)
    accept_due: Mapped[date] = mapped_column(Date)
    accepted_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    not_accepted_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    not_accepted_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    competent_body: Mapped[str | None] = mapped_column(String(100), nullable=True)
    handle_due: Mapped[date | None] = mapped_column(Date, nullable=True)
    extended_days: Mapped[int | None] = mapped_column(Integer, nullable=True)
    extension_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    responsible_person_id: Mapped[str | None] = mapped_column(String(40), index=True,
                                                              nullable=True)
    escalated_to_kind: Mapped[str | None] = mapped_column(String(20), nullable=True)
    escalated_to: Mapped[str | None] = mapped_column(String(100), nullable=True)
    escalation_due: Mapped[date | None] = mapped_column(Date, nullable=True)
    escalation_responded_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    escalation_response: Mapped[str | None] = mapped_column(Text, nullable=True)
    answer: Mapped[str | None] = mapped_column(Text, nullable=True)
    answered_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    review_request_until: Mapped[date | None] = mapped_column(Date, nullable=True)
    review_requested_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    review_due: Mapped[date | None] = mapped_column(Date, nullable=True)
    review_answer: Mapped[str | None] = mapped_column(Text, nullable=True)
    reviewed_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    reexam_request_until: Mapped[date | None] = mapped_column(Date, nullable=True)
    reexam_requested_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    reexam_due: Mapped[date | None] = mapped_column(Date, nullable=True)
    reexam_answer: Mapped[str | None] = mapped_column(Text, nullable=True)
    reexamined_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    satisfaction: Mapped[int | None] = mapped_column(Integer, nullable=True)
    closed_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    referred_to_meeting: Mapped[bool] = mapped_column(Boolean, default=False)
    referred_to_supervision: Mapped[bool] = mapped_column(Boolean, default=False)
    referred_to_supervision_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    supervision_summary: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class PetitionStep(Base):
    """The petition's history, as the receipt page and the detail view show it."""

    __tablename__ = "petition_step"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    petition_id: Mapped[str] = mapped_column(ForeignKey("petition.id"), index=True)
    action: Mapped[str] = mapped_column(String(30))
    state: Mapped[str] = mapped_column(String(20))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    by_role: Mapped[str] = mapped_column(String(30))
    # the petitioner's reason for a review or re-examination request (复查 / 复核)
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)


class IdentityRead(Base):
    """Audit: every decryption of personal data shown to someone."""

    __tablename__ = "identity_read"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    subject_kind: Mapped[str] = mapped_column(String(20))  # petition | dispute
    subject_id: Mapped[str] = mapped_column(String(40), index=True)
    username: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(30))
    person_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    read_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class RateCounter(Base):
    """Public requests per (salted client hash, bucket, window): shared by every instance."""

    __tablename__ = "rate_counter"
    client_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    bucket: Mapped[str] = mapped_column(String(20), primary_key=True)
    window: Mapped[int] = mapped_column(Integer, primary_key=True)
    count: Mapped[int] = mapped_column(Integer, default=0)


class Dispute(Base):
    __tablename__ = "dispute"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    type: Mapped[str] = mapped_column(String(20))
    village_code: Mapped[str] = mapped_column(String(12), index=True)
    township_code: Mapped[str] = mapped_column(String(9), index=True)
    description: Mapped[str] = mapped_column(Text)
    parties_cipher: Mapped[str] = mapped_column(Text)
    party_count: Mapped[int] = mapped_column(Integer)
    risk_level: Mapped[str] = mapped_column(String(10))
    state: Mapped[str] = mapped_column(String(20), index=True)
    mediator_ids: Mapped[str] = mapped_column(String(400), default="")  # comma-separated
    registered_on: Mapped[date] = mapped_column(Date, index=True)
    agreement: Mapped[str | None] = mapped_column(Text, nullable=True)
    resolved_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    judicial_confirmation_until: Mapped[date | None] = mapped_column(Date, nullable=True)
    referral: Mapped[str | None] = mapped_column(String(20), nullable=True)
    followup_due: Mapped[date | None] = mapped_column(Date, nullable=True)
    followed_up_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    followup_notes: Mapped[str | None] = mapped_column(Text, nullable=True)
    filed_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class MediationSession(Base):
    __tablename__ = "mediation_session"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    dispute_id: Mapped[str] = mapped_column(ForeignKey("dispute.id"), index=True)
    held_on: Mapped[date] = mapped_column(Date)
    notes: Mapped[str] = mapped_column(Text)

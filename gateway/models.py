"""The gateway's own database: local accounts (the embedded identity provider)."""

from datetime import datetime

from sqlalchemy import JSON, Boolean, DateTime, Integer, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class Account(Base):
    __tablename__ = "account"
    username: Mapped[str] = mapped_column(String(64), primary_key=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(40))
    display_name: Mapped[str] = mapped_column(String(100), default="")
    person_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    townships: Mapped[list] = mapped_column(JSON, default=list)
    villages: Mapped[list] = mapped_column(JSON, default=list)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class LoginFailure(Base):
    """Recent failed logins per username, shared by every gateway instance (throttling)."""

    __tablename__ = "login_failure"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(64), index=True)
    client: Mapped[str] = mapped_column(String(64), default="")  # salted hash of the address
    failed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)

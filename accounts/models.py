"""Regions, organizations, users, login sessions, API tokens and login attempts."""

from __future__ import annotations

import enum
from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import Boolean, ForeignKey, Index, String, column, exists, false, or_, table
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from core.access import UNASSIGNED, Scope
from core.db import Base, TZDateTime, str_enum, utcnow
from core.text import fold


class Role(enum.StrEnum):
    ENGINEER = "engineer"
    REGULATOR = "regulator"
    ADMIN = "admin"


class Region(Base):
    __tablename__ = "regions"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(8), unique=True)
    kato: Mapped[str] = mapped_column(String(4))
    name_ru: Mapped[str] = mapped_column(String(120))
    name_en: Mapped[str] = mapped_column(String(120))

    @classmethod
    def scope_clause(cls, scope: Scope):
        return cls.id.is_not(None)  # the list of regions is public reference data

    def name(self, locale: str = "ru") -> str:
        return self.name_en if locale == "en" else self.name_ru

    def __str__(self) -> str:
        return self.name_ru


# The facilities table (equipment.models.Facility) as far as scoping organizations needs it,
# named here so that accounts does not import equipment (dependencies point the other way).
_facilities = table("facilities", column("organization_id"), column("region_id"))


def _search_name_default(context) -> str:
    return fold(context.get_current_parameters().get("name"))


class Organization(Base):
    __tablename__ = "organizations"
    AUDITED = ("name", "bin", "region_id", "address", "email", "phone")

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(300))
    # the name folded (core.text.fold), kept in step with it: searched with one plain LIKE
    search_name: Mapped[str] = mapped_column(String(300), default=_search_name_default)
    bin: Mapped[str] = mapped_column(String(12), unique=True)
    region_id: Mapped[int] = mapped_column(ForeignKey("regions.id"), index=True)
    address: Mapped[str | None] = mapped_column(String(500))
    email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(60))
    created_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow)

    region: Mapped[Region] = relationship(lazy="joined")

    @property
    def region_code(self) -> str:
        return self.region.code

    @validates("name")
    def _fold_name(self, _key, value):
        self.search_name = fold(value)
        return value

    @classmethod
    def operates_facilities(cls):
        """SQL: the organization has at least one facility in the registry."""
        return exists().where(_facilities.c.organization_id == cls.id).correlate_except(_facilities)

    @classmethod
    def scope_clause(cls, scope: Scope):
        """Engineers: their own. Regional regulators: those registered in the region, and
        those operating a facility there (facilities and equipment are seen by the facility's
        region, so the regulator can look up whose they are)."""
        if scope.organization_id is not None:
            return cls.id == scope.organization_id
        if scope.region_id is not None:
            return or_(
                cls.region_id == scope.region_id,
                exists()
                .where(
                    _facilities.c.organization_id == cls.id,
                    _facilities.c.region_id == scope.region_id,
                )
                .correlate_except(_facilities),
            )
        return false()

    def __str__(self) -> str:
        return self.name


class User(UserMixin, Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    password_hash: Mapped[str] = mapped_column(String(256))
    role: Mapped[Role] = mapped_column(str_enum(Role, 16))
    organization_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id"), index=True)
    region_id: Mapped[int | None] = mapped_column(ForeignKey("regions.id"), index=True)
    locale: Mapped[str | None] = mapped_column(String(5))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow)

    organization: Mapped[Organization | None] = relationship(lazy="joined")
    region: Mapped[Region | None] = relationship(lazy="joined")

    # The key of the login session this request runs in, set by accounts.auth (not stored).
    session_key = None

    @property
    def is_active(self) -> bool:  # Flask-Login
        return self.active

    def get_session_key(self) -> str:
        """What Flask-Login keeps in the session cookie (its ``id_attribute``): the key of the
        server-side login session, never the user's id, so that the session can be ended."""
        if not self.session_key:
            raise RuntimeError("log users in with accounts.auth.log_in()")
        return self.session_key

    @property
    def is_admin(self) -> bool:
        """Administrators also see every user's background jobs (core.jobs)."""
        return self.role == Role.ADMIN

    @property
    def scope(self) -> Scope:
        if self.role == Role.ADMIN:
            return Scope(everything=True, can_edit_registry=True)
        if self.role == Role.ENGINEER:
            if self.organization_id is None:  # possible in the database: sees nothing
                return UNASSIGNED
            return Scope(organization_id=self.organization_id, can_edit_registry=True)
        if self.region_id is None:  # national regulator
            return Scope(everything=True)
        return Scope(region_id=self.region_id)

    @classmethod
    def scope_clause(cls, scope: Scope):
        return false()  # only admins (scope.everything) list users

    def __str__(self) -> str:
        return self.email


class UserSession(Base):
    """A login on the pages. The session cookie carries a random key; only its sha256 is stored.
    Live while not ended and within the idle and absolute limits (accounts.sessions)."""

    __tablename__ = "user_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow)
    ip: Mapped[str] = mapped_column(String(64))
    user_agent: Mapped[str] = mapped_column(String(400), default="")
    ended_at: Mapped[datetime | None] = mapped_column(TZDateTime)
    end_reason: Mapped[str | None] = mapped_column(String(20))

    user: Mapped[User] = relationship(lazy="joined")


class ApiToken(Base):
    """A personal bearer token; only its sha256 is stored. It works until revoked (by its owner,
    or with the password change, reset, deactivation or "end all sessions" that revokes the
    user's tokens) or until it expires."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(12))
    created_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(TZDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(TZDateTime)
    # Set at creation (API_TOKEN_DAYS or fewer); past it the token answers 401 "expired".
    expires_at: Mapped[datetime] = mapped_column(TZDateTime)

    user: Mapped[User] = relationship(lazy="joined")


class LoginAttempt(Base):
    """Failed logins, to slow down password guessing (shared by every web worker)."""

    __tablename__ = "login_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254))
    ip: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow)

    __table_args__ = (
        Index("ix_login_attempts_email_at", "email", "at"),
        Index("ix_login_attempts_ip_at", "ip", "at"),
    )

"""Login sessions of the pages: one row per login, so that a session can be ended on the server.

The session cookie (signed by Flask) carries a random key; ``user_sessions`` keeps only its
sha256, with the user, when, from which address and which browser. A request is logged in while
its row is live: not ended (logout, "end other sessions", a password change or reset, the user's
deactivation), used within SESSION_IDLE_HOURS and younger than SESSION_MAX_DAYS. Its "last
seen" is written at most every SESSION_TOUCH_SECONDS, not on every request. The API's bearer
tokens are a separate mechanism (accounts.services).
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

from accounts.models import User, UserSession
from core.access import valid_id
from core.db import as_utc, utcnow

KEY_BYTES = 32
MAX_KEY_LENGTH = 100  # a longer "key" is not one of ours: not even hashed
KEEP_DAYS = 30  # ended and expired sessions are deleted this long after, at the user's next login

# Why a session ended (user_sessions.end_reason)
LOGOUT = "logout"
ENDED_BY_USER = "ended_by_user"
PASSWORD_CHANGED = "password_changed"
PASSWORD_RESET = "password_reset"
DEACTIVATED = "deactivated"
IDLE = "idle"
EXPIRED = "expired"
PROTECTION = "protection"  # Flask-Login's session protection dropped it (accounts.auth)


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def _limits(config) -> tuple[timedelta, timedelta]:
    return timedelta(hours=config["SESSION_IDLE_HOURS"]), timedelta(days=config["SESSION_MAX_DAYS"])


def start_session(
    session: Session, user: User, ip: str, user_agent: str
) -> tuple[UserSession, str]:
    """A new login session of the user; the plain key is returned once and never stored.
    The user's sessions that ended more than KEEP_DAYS ago are deleted on the way."""
    now = utcnow()
    cutoff = now - timedelta(days=KEEP_DAYS)
    session.execute(
        delete(UserSession).where(
            UserSession.user_id == user.id,
            or_(UserSession.ended_at < cutoff, UserSession.last_seen_at < cutoff),
        )
    )
    key = secrets.token_urlsafe(KEY_BYTES)
    row = UserSession(
        user_id=user.id,
        key_hash=hash_key(key),
        created_at=now,
        last_seen_at=now,
        ip=(ip or "?")[:64],
        user_agent=(user_agent or "")[:400],
    )
    session.add(row)
    session.flush()
    return row, key


def expiry(row: UserSession, config, now: datetime) -> str | None:
    """Why a session not ended by anyone is over by now (IDLE, EXPIRED), or None if it is not."""
    idle, longest = _limits(config)
    if now - as_utc(row.created_at) >= longest:
        return EXPIRED
    if now - as_utc(row.last_seen_at) >= idle:
        return IDLE
    return None


def live_session(session: Session, key: str | None, config) -> UserSession | None:
    """The live session of a cookie's key, or None. A session found past its limits, or of a
    deactivated user, is ended on the way; "last seen" is refreshed at most every
    SESSION_TOUCH_SECONDS. Commits when it writes."""
    if not key or len(key) > MAX_KEY_LENGTH:
        return None
    row = session.execute(
        select(UserSession).where(UserSession.key_hash == hash_key(key))
    ).scalar_one_or_none()
    if row is None or row.ended_at is not None:
        return None
    now = utcnow()
    reason = expiry(row, config, now) or (None if row.user.active else DEACTIVATED)
    if reason:
        end_session(session, row, reason, now)
        session.commit()
        return None
    if now - as_utc(row.last_seen_at) >= timedelta(seconds=config["SESSION_TOUCH_SECONDS"]):
        row.last_seen_at = now
        session.commit()
    return row


def end_session(
    session: Session, row: UserSession, reason: str, now: datetime | None = None
) -> None:
    if row.ended_at is None:
        row.ended_at = now or utcnow()
        row.end_reason = reason


def end_session_by_key(session: Session, key: str | None, reason: str) -> bool:
    if not key or len(key) > MAX_KEY_LENGTH:
        return False
    result = session.execute(
        update(UserSession)
        .where(UserSession.key_hash == hash_key(key), UserSession.ended_at.is_(None))
        .values(ended_at=utcnow(), end_reason=reason)
    )
    return result.rowcount > 0


def end_user_sessions(
    session: Session, user_id: int, reason: str, keep_id: int | None = None
) -> int:
    """End every session of the user (but ``keep_id``); the number ended."""
    stmt = update(UserSession).where(UserSession.user_id == user_id, UserSession.ended_at.is_(None))
    if keep_id is not None:
        stmt = stmt.where(UserSession.id != keep_id)
    result = session.execute(stmt.values(ended_at=utcnow(), end_reason=reason))
    return result.rowcount


def end_own_session(session: Session, user: User, session_id: int) -> bool:
    """The user ends one of their sessions (from the profile page); False if it is not theirs
    or not live."""
    if not valid_id(session_id):
        return False
    row = session.execute(
        select(UserSession).where(UserSession.id == session_id, UserSession.user_id == user.id)
    ).scalar_one_or_none()
    if row is None or row.ended_at is not None:
        return False
    end_session(session, row, ENDED_BY_USER)
    return True


def active_sessions(session: Session, user_id: int, config) -> list[UserSession]:
    """The user's live sessions, the most recently used first."""
    now = utcnow()
    idle, longest = _limits(config)
    stmt = (
        select(UserSession)
        .where(
            UserSession.user_id == user_id,
            UserSession.ended_at.is_(None),
            UserSession.last_seen_at > now - idle,
            UserSession.created_at > now - longest,
        )
        .order_by(UserSession.last_seen_at.desc(), UserSession.id.desc())
    )
    return list(session.execute(stmt).scalars())

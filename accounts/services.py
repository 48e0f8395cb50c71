"""Account use cases: users, organizations, passwords, login throttling, API tokens."""

from __future__ import annotations

import functools
import hashlib
import re
import secrets
from datetime import datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, delete, func, or_, select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from accounts import sessions
from accounts.bin import is_valid_bin, normalise_bin
from accounts.models import ApiToken, LoginAttempt, Organization, Region, Role, User
from core import audit
from core.access import valid_id
from core.db import as_utc, utcnow
from core.validation import ValidationFailed

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MIN_PASSWORD = 10
MAX_PASSWORD = 200  # as the login form and the token endpoint accept
TOKEN_PREFIX = "opo_"
USER_AUDITED = ("email", "name", "role", "organization_id", "region_id", "active")


def hash_password(password: str) -> str:
    return generate_password_hash(password, method="scrypt")


def password_problem(password: str | None):
    """Why a new password cannot be used, or None."""
    if len(password or "") < MIN_PASSWORD:
        return _l("The password must be at least %(n)s characters long.", n=MIN_PASSWORD)
    if len(password) > MAX_PASSWORD:  # hashing megabytes would tie up a worker
        return _l("At most %(max)s characters.", max=MAX_PASSWORD)
    return None


def region_by_code(session: Session, code: str | None) -> Region | None:
    if not code:
        return None
    return session.execute(
        select(Region).where(func.upper(Region.code) == code.strip().upper())
    ).scalar_one_or_none()


def organization_by_bin(session: Session, bin_: str | None) -> Organization | None:
    if not bin_:
        return None
    return session.execute(
        select(Organization).where(Organization.bin == normalise_bin(bin_))
    ).scalar_one_or_none()


def create_organization(session: Session, actor, *, name, bin, region_code, **contacts):
    errors = {}
    bin_ = normalise_bin(bin)
    if not is_valid_bin(bin_):
        errors["bin"] = _l("A BIN is 12 digits with a valid check digit.")
    elif organization_by_bin(session, bin_):
        errors["bin"] = _l("An organization with this BIN already exists.")
    region = region_by_code(session, region_code)
    if region is None:
        errors["region"] = _l("Unknown region code «%(code)s».", code=region_code or "")
    if not (name or "").strip():
        errors["name"] = _l("Give the organization's name.")
    if errors:
        raise ValidationFailed(errors)
    org = Organization(name=name.strip(), bin=bin_, region_id=region.id, **contacts)
    session.add(org)
    session.flush()
    audit.record(
        session,
        actor=actor,
        entity=org,
        action="create",
        changes=audit.diff({}, {"name": org.name, "bin": org.bin, "region_id": region.id}),
        organization_id=org.id,
    )
    return org


def create_user(
    session: Session,
    actor,
    *,
    email: str,
    password: str,
    role: str,
    name: str = "",
    org_bin: str | None = None,
    region_code: str | None = None,
) -> User:
    errors: dict[str, str] = {}
    email = (email or "").strip().lower()
    if len(email) > 254 or not EMAIL_RE.match(email):  # 254: the column and RFC 5321
        errors["email"] = _l("Enter an e-mail address like name@example.kz.")
    elif session.execute(select(User.id).where(User.email == email)).first():
        errors["email"] = _l("A user with this e-mail already exists.")
    if len(name or "") > 200:  # the column's length (PostgreSQL refuses longer text)
        errors["name"] = _l("At most %(max)s characters.", max=200)
    if problem := password_problem(password):
        errors["password"] = problem
    try:
        role_ = Role(role)
    except ValueError:
        errors["role"] = _l("The role must be one of: engineer, regulator, admin.")
        role_ = None
    org = region = None
    if role_ == Role.ENGINEER:
        org = organization_by_bin(session, org_bin)
        if org is None:
            errors["org"] = _l("An engineer needs the BIN of an existing organization.")
    elif org_bin:
        errors["org"] = _l("Only engineers belong to an organization.")
    if region_code:
        region = region_by_code(session, region_code)
        if region is None:
            errors["region"] = _l("Unknown region code «%(code)s».", code=region_code)
        elif role_ != Role.REGULATOR:
            errors["region"] = _l("Only regulators are bound to a region.")
    if errors:
        raise ValidationFailed(errors)
    user = User(
        email=email,
        name=name or "",
        password_hash=hash_password(password),
        role=role_,
        organization_id=org.id if org else None,
        region_id=region.id if region else None,
    )
    session.add(user)
    session.flush()
    audit.record(
        session,
        actor=actor,
        entity=user,
        action="create",
        changes=audit.diff({}, audit.snapshot(user, USER_AUDITED)),
        organization_id=user.organization_id,
    )
    return user


def change_password(
    session: Session,
    user: User,
    current: str,
    new: str,
    ip: str,
    config,
    keep_session_id: int | None = None,
) -> None:
    """The user changes their own password. The current one is checked under the login
    throttle (a stolen session must not become a way to guess it); every other login session
    of the user ends. Raises ValidationFailed naming the field."""
    if problem := password_problem(new):
        raise ValidationFailed({"new_password": problem})
    wait = begin_attempt(session, user.email, ip, config)
    if wait:
        raise ValidationFailed(
            {"current_password": _l("Too many failed attempts. Try again in %(n)s s.", n=wait)}
        )
    ok = check_password_hash(user.password_hash, current or "")
    finish_attempt(session, user.email, ok)
    if not ok:
        raise ValidationFailed({"current_password": _l("The current password is wrong.")})
    if new == current:
        raise ValidationFailed(
            {"new_password": _l("The new password must differ from the current one.")}
        )
    _store_password(session, user, user, new, "password_changed")
    sessions.end_user_sessions(session, user.id, sessions.PASSWORD_CHANGED, keep_session_id)


def reset_password(session: Session, actor, user: User, new: str) -> None:
    """An administrator sets a user's password: every login session of the user ends."""
    if problem := password_problem(new):
        raise ValidationFailed({"password": problem})
    _store_password(session, actor, user, new, "password_reset")
    sessions.end_user_sessions(session, user.id, sessions.PASSWORD_RESET)


def _store_password(session: Session, actor, user: User, new: str, action: str) -> None:
    user.password_hash = hash_password(new)
    audit.record(
        session,
        actor=actor,
        entity=user,
        action=action,
        changes={},  # never the hashes
        organization_id=user.organization_id,
    )


def set_active(session: Session, actor, user: User, active: bool) -> bool:
    """Activate or deactivate a user (administrators); a deactivated user's login sessions end
    at once (their API tokens stop working while they are inactive). False if nothing changed.
    """
    if not active and actor is not None and actor.id == user.id:
        raise ValidationFailed({"active": _l("You cannot deactivate your own account.")})
    if user.active == active:
        return False
    user.active = active
    audit.record(
        session,
        actor=actor,
        entity=user,
        action="update",
        changes={"active": [not active, active]},
        organization_id=user.organization_id,
    )
    if not active:
        sessions.end_user_sessions(session, user.id, sessions.DEACTIVATED)
    return True


# ---------------------------------------------------------------------------- login throttle
#
# Every attempt is recorded (and committed) before its password is looked at, and then the
# attempts of the window are counted, this one included. Concurrent attempts therefore see each
# other: of N simultaneous guesses at most LOGIN_FREE_ATTEMPTS are checked, on SQLite and on
# PostgreSQL alike, with no lock held while the password hash is computed. Past the free
# attempts, one attempt is checked per LOGIN_LOCK_SECONDS: only when no other attempt for the
# e-mail or address was made in that time. A refused attempt is not a guess, so its row is
# removed again (hammering does not extend the lock); a checked failure stays; a success clears
# the failures of the e-mail.


def _attempts_clause(email: str, ip: str, since: datetime):
    return and_(LoginAttempt.at >= since, or_(LoginAttempt.email == email, LoginAttempt.ip == ip))


def begin_attempt(session: Session, email: str, ip: str, config) -> int:
    """Record an attempt for this e-mail from this address: 0 when its password may be checked
    now, else the seconds to wait (the attempt is refused). Commits."""
    email, ip, now = email[:254], (ip or "?")[:64], utcnow()
    attempt = LoginAttempt(email=email, ip=ip, at=now)
    session.add(attempt)
    session.flush()
    attempt_id = attempt.id
    session.commit()  # visible to every concurrent attempt before any of them counts
    window = now - timedelta(seconds=config["LOGIN_WINDOW_SECONDS"])
    count = session.execute(
        select(func.count()).where(_attempts_clause(email, ip, window))
    ).scalar_one()
    if count <= config["LOGIN_FREE_ATTEMPTS"]:
        return 0
    lock = timedelta(seconds=config["LOGIN_LOCK_SECONDS"])
    latest_other = session.execute(
        select(func.max(LoginAttempt.at)).where(
            _attempts_clause(email, ip, now - lock), LoginAttempt.id != attempt_id
        )
    ).scalar_one()
    if latest_other is None:
        return 0
    session.execute(delete(LoginAttempt).where(LoginAttempt.id == attempt_id))
    session.commit()
    wait = (lock - (now - as_utc(latest_other))).total_seconds()
    return max(1, int(wait + 0.999))


def finish_attempt(session: Session, email: str, succeeded: bool) -> None:
    """A checked failure keeps its row; a success clears the e-mail's failures. Commits."""
    if succeeded:
        session.execute(delete(LoginAttempt).where(LoginAttempt.email == email[:254]))
    session.commit()


@functools.cache
def _dummy_hash() -> str:
    """A hash of the same method and cost as real ones, checked when there is no user to check
    against, so that the answer takes as long for an unknown or disabled e-mail."""
    return hash_password(secrets.token_urlsafe(16))


def authenticate(session: Session, email: str, password: str, ip: str, config):
    """(user or None, seconds to wait). The same work is done whether the e-mail is unknown,
    disabled or active, so the answer's timing tells nothing about it."""
    email = (email or "").strip().lower()
    wait = begin_attempt(session, email, ip, config)
    if wait:
        return None, wait
    user = session.execute(select(User).where(User.email == email)).scalar_one_or_none()
    if user is None or not user.active:
        check_password_hash(_dummy_hash(), password)
        user = None
    elif not check_password_hash(user.password_hash, password):
        user = None
    finish_attempt(session, email, user is not None)
    return user, 0


# ---------------------------------------------------------------------------- API tokens


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(session: Session, user: User, name: str) -> tuple[ApiToken, str]:
    """Create a token; the plain value is returned once and never stored."""
    name = (name or "").strip() or "API"
    plain = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        user_id=user.id, name=name[:100], token_hash=hash_token(plain), prefix=plain[:10]
    )
    session.add(token)
    session.flush()
    audit.record(
        session,
        actor=user,
        entity=user,
        action="token_created",
        changes={"token": [None, token.prefix]},
        organization_id=user.organization_id,
    )
    return token, plain


def user_for_token(session: Session, plain: str) -> User | None:
    if not plain or not plain.startswith(TOKEN_PREFIX):
        return None
    token = session.execute(
        select(ApiToken).where(ApiToken.token_hash == hash_token(plain))
    ).scalar_one_or_none()
    if token is None or token.revoked_at is not None or not token.user.active:
        return None
    now = utcnow()
    last = token.last_used_at
    if last is not None and last.tzinfo is None:
        last = last.replace(tzinfo=now.tzinfo)
    if last is None or now - last > timedelta(minutes=5):  # avoid a write per request
        token.last_used_at = now
        session.commit()
    return token.user


def revoke_token(session: Session, user: User, token_id: int) -> bool:
    if not valid_id(token_id):  # no row has it: do not let the database overflow on it
        return False
    token = session.execute(
        select(ApiToken).where(ApiToken.id == token_id, ApiToken.user_id == user.id)
    ).scalar_one_or_none()
    if token is None or token.revoked_at is not None:
        return False
    token.revoked_at = utcnow()
    audit.record(
        session,
        actor=user,
        entity=user,
        action="token_revoked",
        changes={"token": [token.prefix, None]},
        organization_id=user.organization_id,
    )
    return True


def seed_regions(session: Session) -> int:
    from accounts.regions import REGIONS

    existing = set(session.execute(select(Region.code)).scalars())
    new = [
        Region(code=code, kato=kato, name_ru=ru, name_en=en)
        for code, kato, ru, en in REGIONS
        if code not in existing
    ]
    session.add_all(new)
    return len(new)

"""Account use cases: users, organizations, passwords, login throttling, API tokens."""

from __future__ import annotations

import functools
import hashlib
import math
import re
import secrets
from datetime import datetime, timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, distinct, func, select, update
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


# ---------------------------------------------------------------------------- organizations

ORG_LIMITS = {"name": 300, "address": 500, "phone": 60}


def one_line(value) -> str | None:
    """Text as typed into a one-line field: outer and repeated inner whitespace dropped."""
    return " ".join((value or "").split()) or None


def organization_has_facilities(session: Session, org: Organization) -> bool:
    stmt = select(Organization.id).where(
        Organization.id == org.id, Organization.operates_facilities()
    )
    return session.execute(stmt).first() is not None


def _organization_values(session: Session, data: dict, org: Organization | None) -> dict:
    """The checked column values for the fields given in ``data`` (every field when creating):
    name, bin, region (a code), address, phone, email. Raises ValidationFailed."""
    errors: dict[str, str] = {}
    values: dict = {}

    def given(key: str) -> bool:
        return org is None or key in data

    for key, limit in ORG_LIMITS.items():
        if given(key):
            text = one_line(data.get(key))
            if text is not None and len(text) > limit:
                errors[key] = _l("At most %(max)s characters.", max=limit)
            values[key] = text
    if given("name") and not values.get("name") and "name" not in errors:
        errors["name"] = _l("Give the organization's name.")
    if given("bin"):
        bin_ = normalise_bin(data.get("bin"))
        if not is_valid_bin(bin_):
            errors["bin"] = _l("A BIN is 12 digits with a valid check digit.")
        elif org is None or bin_ != org.bin:
            if organization_by_bin(session, bin_) is not None:
                errors["bin"] = _l("An organization with this BIN already exists.")
            elif org is not None and organization_has_facilities(session, org):
                errors["bin"] = _l(
                    "The BIN cannot be changed once the organization has facilities in the "
                    "registry."
                )
        values["bin"] = bin_
    if given("region"):
        code = one_line(data.get("region"))
        region = region_by_code(session, code)
        if region is None:
            errors["region"] = (
                _l("Unknown region code «%(code)s».", code=code[:20])
                if code
                else _l("Choose a region from the list.")
            )
        else:
            values["region_id"] = region.id
    if given("email"):
        email = (one_line(data.get("email")) or "").lower() or None
        if email is not None and (len(email) > 254 or not EMAIL_RE.match(email)):
            errors["email"] = _l("Enter an e-mail address like name@example.kz.")
        values["email"] = email
    if errors:
        raise ValidationFailed(errors)
    return values


def create_organization(session: Session, actor, **data) -> Organization:
    """Register an operating organization: name, bin, region (a code) and optionally address,
    phone, email. The BIN must pass its checksum and be new; audited."""
    org = Organization(**_organization_values(session, data, None))
    session.add(org)
    session.flush()
    audit.record(
        session,
        actor=actor,
        entity=org,
        action="create",
        changes=audit.diff({}, audit.snapshot(org, Organization.AUDITED)),
        organization_id=org.id,
    )
    return org


def update_organization(session: Session, actor, org: Organization, **data) -> bool:
    """Change the fields given (as for create_organization); False when nothing changed.

    The BIN may change only while the organization has no facility: it is how imports, the
    regulator and the plans name the operator, and its check digit catches a mistyped digit,
    so another valid BIN for an organization with a registry is another legal entity, not a
    typo. Every change is audited, before -> after."""
    values = _organization_values(session, data, org)
    before = audit.snapshot(org, Organization.AUDITED)
    for key, value in values.items():
        setattr(org, key, value)
    changes = audit.diff(before, audit.snapshot(org, Organization.AUDITED))
    if not changes:
        return False
    session.flush()
    audit.record(
        session, actor=actor, entity=org, action="update", changes=changes, organization_id=org.id
    )
    return True


# ---------------------------------------------------------------------------- users

PASSWORD_ALPHABET = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"


def generate_password() -> str:
    """A password to hand over once: 16 characters in four groups, no look-alike characters
    (0/O, 1/l/I), about 90 bits."""
    groups = ("".join(secrets.choice(PASSWORD_ALPHABET) for _ in range(4)) for _ in range(4))
    return "-".join(groups)


def _check_email(session: Session, email: str | None, user: User | None, errors: dict) -> str:
    email = (email or "").strip().lower()
    if len(email) > 254 or not EMAIL_RE.match(email):  # 254: the column and RFC 5321
        errors["email"] = _l("Enter an e-mail address like name@example.kz.")
    elif (user is None or email != user.email) and session.execute(
        select(User.id).where(User.email == email)
    ).first():
        errors["email"] = _l("A user with this e-mail already exists.")
    return email


def _check_links(session: Session, role_, org_bin, region_code, errors: dict):
    """(organization, region) of a user of the role: an engineer needs an organization, only
    engineers have one; only regulators have a region (none: the national level)."""
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
            errors["region"] = _l("Unknown region code «%(code)s».", code=region_code[:20])
        elif role_ is not None and role_ != Role.REGULATOR:
            errors["region"] = _l("Only regulators are bound to a region.")
    return org, region


def _role(value, errors: dict):
    try:
        return Role(value)
    except ValueError:
        errors["role"] = _l("The role must be one of: engineer, regulator, admin.")
        return None


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
    email = _check_email(session, email, None, errors)
    if len(name or "") > 200:  # the column's length (PostgreSQL refuses longer text)
        errors["name"] = _l("At most %(max)s characters.", max=200)
    if problem := password_problem(password):
        errors["password"] = problem
    role_ = _role(role, errors)
    org, region = _check_links(session, role_, org_bin, region_code, errors)
    if errors:
        raise ValidationFailed(errors)
    user = User(
        email=email,
        name=(name or "").strip(),
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


def update_user(session: Session, actor, user: User, **changes) -> bool:
    """Change a user's email, name, role, org_bin or region_code (those given; the others stay)
    under the rules of create_user, for the user as it would then be: a change of role that
    leaves an organization or a region the new role cannot have is refused, not tidied away.
    The last active administrator cannot stop being one. False when nothing changed.

    The scope follows at once (it is read from the user's row on every request); the login
    sessions and API tokens stay."""
    errors: dict[str, str] = {}
    email = user.email
    if "email" in changes:
        email = _check_email(session, changes["email"], user, errors)
    name = user.name
    if "name" in changes:
        name = (changes["name"] or "").strip()
        if len(name) > 200:
            errors["name"] = _l("At most %(max)s characters.", max=200)
    role_ = _role(changes["role"], errors) if "role" in changes else user.role
    org_bin = changes.get("org_bin", user.organization.bin if user.organization else None)
    region_code = changes.get("region_code", user.region.code if user.region else None)
    org, region = _check_links(session, role_, org_bin, region_code, errors)
    if errors:
        raise ValidationFailed(errors)
    if user.role == Role.ADMIN and role_ != Role.ADMIN and user.active:
        keep_an_active_admin(session, user, "role")
    before = audit.snapshot(user, USER_AUDITED)
    user.email, user.name, user.role = email, name, role_
    user.organization_id = org.id if org else None
    user.region_id = region.id if region else None
    changes_ = audit.diff(before, audit.snapshot(user, USER_AUDITED))
    if not changes_:
        return False
    session.flush()
    session.expire(user, ["organization", "region"])
    audit.record(
        session,
        actor=actor,
        entity=user,
        action="update",
        changes=changes_,
        organization_id=user.organization_id or before["organization_id"],
    )
    return True


def keep_an_active_admin(session: Session, user: User, field: str) -> None:
    """Refuse to take away the last active administrator (``user`` is about to stop being one).

    The active administrators' rows are written first: that takes their row locks on
    PostgreSQL and the database's write lock on SQLite, so two administrators demoting each
    other at the same moment are serialised and the second sees the first one's change."""
    active_admins = (User.role == Role.ADMIN, User.active.is_(True))
    session.execute(
        update(User).where(*active_admins).values(active=True),
        execution_options={"synchronize_session": False},
    )
    others = session.execute(
        select(func.count()).where(*active_admins, User.id != user.id)
    ).scalar_one()
    if not others:
        raise ValidationFailed({field: _l("There must remain at least one active administrator.")})


def change_password(
    session: Session,
    user: User,
    current: str,
    new: str,
    ip: str,
    config,
    keep_session_id: int | None = None,
    keep_token_ids=(),
) -> list:
    """The user changes their own password. The current one is checked under the login
    throttle (a stolen session must not become a way to guess it); every other login session
    of the user ends, and every API token but those the user chose to keep is revoked (in this
    transaction). The prefixes of the tokens revoked; raises ValidationFailed naming the field.
    """
    if problem := password_problem(new):
        raise ValidationFailed({"new_password": problem})
    wait = begin_attempt(session, user.email, ip, config)
    if wait:
        raise ValidationFailed(
            {"current_password": _l("Too many failed attempts. Try again in %(n)s s.", n=wait)}
        )
    ok = check_password_hash(user.password_hash, current or "")
    finish_attempt(session, user.email, ip, ok)
    if not ok:
        raise ValidationFailed({"current_password": _l("The current password is wrong.")})
    if new == current:
        raise ValidationFailed(
            {"new_password": _l("The new password must differ from the current one.")}
        )
    _store_password(session, user, user, new, "password_changed")
    sessions.end_user_sessions(session, user.id, sessions.PASSWORD_CHANGED, keep_session_id)
    return revoke_user_tokens(session, user, user, sessions.PASSWORD_CHANGED, keep_token_ids)


def reset_password(session: Session, actor, user: User, new: str) -> None:
    """An administrator sets a user's password: every login session of the user ends and every
    API token is revoked (whoever knew the old password may have made one)."""
    if problem := password_problem(new):
        raise ValidationFailed({"password": problem})
    _store_password(session, actor, user, new, "password_reset")
    sessions.end_user_sessions(session, user.id, sessions.PASSWORD_RESET)
    revoke_user_tokens(session, actor, user, sessions.PASSWORD_RESET)


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
    and their API tokens are revoked at once, so activating them again brings back neither.
    False if nothing changed."""
    if not active and actor is not None and actor.id == user.id:
        raise ValidationFailed({"active": _l("You cannot deactivate your own account.")})
    if user.active == active:
        return False
    if not active and user.role == Role.ADMIN:
        keep_an_active_admin(session, user, "active")
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
        revoke_user_tokens(session, actor, user, sessions.DEACTIVATED)
    return True


# ---------------------------------------------------------------------------- login throttle
#
# Failures are counted per pair of e-mail and address, and per address (core.settings explains
# the numbers). A delay applies only to the pair or the address that earned it: the owner of an
# account being guessed logs in from their own address as usual, and a few typos of colleagues
# behind one office address delay nobody. Nothing refuses the right password from elsewhere.
#
# Every attempt is recorded (and committed) before its password is looked at, and then the other
# attempts of the window are counted. Concurrent attempts therefore see each other: the k-th to
# commit sees at least k - 1 others, so of N simultaneous guesses at most LOGIN_FREE_ATTEMPTS
# are checked, on SQLite and PostgreSQL alike, with no lock held while the hash is computed. An
# attempt that must wait is refused and its row removed again (it was not a guess: hammering
# does not extend the delay); a checked failure stays; a success clears the pair's failures.


def _delay_seconds(config, failures: int, free: int) -> int:
    """How long after the latest failure the next attempt waits: 0 while fewer than ``free``
    failures were made, then LOGIN_DELAY_SECONDS doubled for each failure past ``free``, at most
    LOGIN_MAX_DELAY_SECONDS."""
    if failures < free:
        return 0
    doubling = min(failures - free, 30)  # 2**30 s is past any cap: no need for larger numbers
    return min(config["LOGIN_DELAY_SECONDS"] * 2**doubling, config["LOGIN_MAX_DELAY_SECONDS"])


def _seconds_left(delay: int, latest: datetime | None, now: datetime) -> int:
    if not delay or latest is None:
        return 0
    # An attempt that started a moment before the latest one it sees (concurrent requests)
    # waits the delay, not more.
    elapsed = max(0.0, (now - as_utc(latest)).total_seconds())
    return max(0, math.ceil(delay - elapsed))


def _attempt_wait(
    session: Session, attempt_id: int, email: str, ip: str, now: datetime, config
) -> int:
    """Seconds the attempt must wait, from the other attempts of its address in the window (one
    query: the pair's rows are the address's rows of the same e-mail)."""
    pair = LoginAttempt.email == email
    pair_failures, pair_latest, accounts, address_latest = session.execute(
        select(
            func.count().filter(pair),
            func.max(LoginAttempt.at).filter(pair),
            func.count(distinct(LoginAttempt.email)),
            func.max(LoginAttempt.at),
        ).where(
            LoginAttempt.ip == ip,
            LoginAttempt.at >= now - timedelta(seconds=config["LOGIN_WINDOW_SECONDS"]),
            LoginAttempt.id != attempt_id,
        )
    ).one()
    pair_delay = _delay_seconds(config, pair_failures, config["LOGIN_FREE_ATTEMPTS"])
    address_delay = _delay_seconds(config, accounts, config["LOGIN_ADDRESS_FREE_ACCOUNTS"])
    return max(
        _seconds_left(pair_delay, pair_latest, now),
        _seconds_left(address_delay, address_latest, now),
    )


def begin_attempt(session: Session, email: str, ip: str, config) -> int:
    """Record an attempt for this e-mail from this address: 0 when its password may be checked
    now, else the seconds to wait (the attempt is refused). Commits."""
    email, ip, now = email[:254], (ip or "?")[:64], utcnow()
    attempt = LoginAttempt(email=email, ip=ip, at=now)
    session.add(attempt)
    session.flush()
    attempt_id = attempt.id
    session.commit()  # visible to every concurrent attempt before any of them counts
    wait = _attempt_wait(session, attempt_id, email, ip, now, config)
    if wait:
        session.execute(delete(LoginAttempt).where(LoginAttempt.id == attempt_id))
        session.commit()
    return wait


def finish_attempt(session: Session, email: str, ip: str, succeeded: bool) -> None:
    """A checked failure keeps its row; a success clears the failures of this e-mail from this
    address (a guesser's failures from elsewhere stay theirs). Commits."""
    if succeeded:
        session.execute(
            delete(LoginAttempt).where(
                LoginAttempt.email == email[:254], LoginAttempt.ip == (ip or "?")[:64]
            )
        )
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
    finish_attempt(session, email, ip, user is not None)
    return user, 0


# ---------------------------------------------------------------------------- API tokens


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class TokenExpired(Exception):
    """A token past its expiry: the API answers 401 saying so (accounts.auth), unlike an unknown
    or revoked one, so that its owner knows to make a new one."""

    def __init__(self, expired_at: datetime):
        super().__init__(expired_at)
        self.expired_at = expired_at


def token_days(requested: int | None, config) -> int:
    """The lifetime of a new token in days: API_TOKEN_DAYS, or fewer if asked for. Raises
    ValidationFailed naming ``days``."""
    longest = config["API_TOKEN_DAYS"]
    if requested is None:
        return longest
    if not 1 <= requested <= longest:
        raise ValidationFailed({"days": _l("From 1 to %(max)s days.", max=longest)})
    return requested


def issue_token(
    session: Session, user: User, name: str, days: int | None = None
) -> tuple[ApiToken, str]:
    """Create a token living ``days`` (default API_TOKEN_DAYS; see token_days); the plain value
    is returned once and never stored."""
    name = (name or "").strip() or "API"
    plain = TOKEN_PREFIX + secrets.token_urlsafe(32)
    now = utcnow()
    lifetime = timedelta(days=token_days(days, current_app.config))
    token = ApiToken(
        user_id=user.id,
        name=name[:100],
        token_hash=hash_token(plain),
        prefix=plain[:10],
        created_at=now,
        expires_at=now + lifetime,
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
    """The active user of a live token, or None. Raises TokenExpired for a token of an active
    user that is neither revoked nor unknown but past its expiry."""
    if not plain or not plain.startswith(TOKEN_PREFIX):
        return None
    token = session.execute(
        select(ApiToken).where(ApiToken.token_hash == hash_token(plain))
    ).scalar_one_or_none()
    if token is None or token.revoked_at is not None or not token.user.active:
        return None
    now = utcnow()
    if as_utc(token.expires_at) <= now:
        raise TokenExpired(as_utc(token.expires_at))
    last = token.last_used_at
    if last is None or now - as_utc(last) > timedelta(minutes=5):  # avoid a write per request
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


def revoke_user_tokens(session: Session, actor, user: User, reason: str, keep_ids=()) -> list:
    """Revoke every live token of the user but those of ``keep_ids`` (ids of other users'
    tokens keep nothing), in one UPDATE of the caller's transaction, and record one audit event
    listing the prefixes revoked and why (a sessions.* end reason). The prefixes revoked."""
    now = utcnow()
    stmt = update(ApiToken).where(
        ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None), ApiToken.expires_at > now
    )
    keep = [i for i in keep_ids if valid_id(i)]
    if keep:
        stmt = stmt.where(ApiToken.id.not_in(keep))
    prefixes = list(
        session.execute(
            stmt.values(revoked_at=now).returning(ApiToken.prefix),
            execution_options={"synchronize_session": False},
        ).scalars()
    )
    if prefixes:
        audit.record(
            session,
            actor=actor,
            entity=user,
            action="tokens_revoked",
            changes={"tokens": [sorted(prefixes), None], "reason": [None, reason]},
            organization_id=user.organization_id,
        )
    return prefixes


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

"""Who may see what: one Scope per user, one helper that applies it to any scoped model.

A scoped model declares ``scope_clause(scope)`` (a SQL condition). Lists go through
``scoped()`` and single objects through ``get_visible_or_404()``, so no view filters by hand
(``get_or_404()`` is the administrators' unscoped lookup, ``get_owned_or_404()`` the one for
rows that belong to a user).
Objects outside the scope answer 404, never 403, so ids do not leak. So do ids no row can
have (beyond the INTEGER id columns): they never reach the database, where PostgreSQL would
refuse them with an error ("integer out of range") and SQLite overflow above 2**63. A change
by a user who may only read answers 403 (``require_editor()``)."""

from __future__ import annotations

from dataclasses import dataclass

from flask import abort
from flask_babel import gettext as _
from sqlalchemy import Select, select, true


@dataclass(frozen=True)
class Scope:
    """What a user may see. ``everything`` for admins and national regulators; ``unassigned``
    for an engineer whose account has no organization: sees nothing, may change nothing."""

    organization_id: int | None = None
    region_id: int | None = None
    everything: bool = False
    can_edit_registry: bool = False
    unassigned: bool = False

    def clause(self, model):
        if self.everything:
            return true()
        return model.scope_clause(self)


NOTHING = Scope()
UNASSIGNED = Scope(unassigned=True)

MAX_ID = 2**31 - 1  # every id column is a 32-bit INTEGER on both databases


def valid_id(value) -> bool:
    """True for an int some row could have as its id (1 .. MAX_ID)."""
    return isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= MAX_ID


def require_editor(scope: Scope) -> None:
    """403 unless the scope may change the registry; the unassigned engineer is told why."""
    if scope.can_edit_registry:
        return
    if scope.unassigned:
        abort(
            403,
            description=_(
                "Your account is not linked to an organization, so you cannot change the "
                "registry. Ask an administrator to link it."
            ),
        )
    abort(403)


def scoped(model, scope: Scope, stmt: Select | None = None) -> Select:
    stmt = select(model) if stmt is None else stmt
    return stmt.where(scope.clause(model))


def _found_or_404(session, stmt: Select, model, obj_id):
    if not valid_id(obj_id):
        abort(404)
    obj = session.execute(stmt.where(model.id == obj_id)).scalar_one_or_none()
    if obj is None:
        abort(404)
    return obj


def get_visible_or_404(session, model, obj_id, scope: Scope):
    return _found_or_404(session, scoped(model, scope), model, obj_id)


def get_or_404(session, model, obj_id):
    """For administrators' pages and API only (callers have checked the role): any row."""
    return _found_or_404(session, select(model), model, obj_id)


def owned(model, user_id: int, sees_all: bool, stmt: Select | None = None) -> Select:
    """Rows that belong to one user (background jobs and their files), not to an organization:
    each user sees their own; ``sees_all`` (administrators) everyone's. The model declares
    ``owned_clause(user_id)``."""
    stmt = select(model) if stmt is None else stmt
    return stmt if sees_all else stmt.where(model.owned_clause(user_id))


def get_owned_or_404(session, model, obj_id, user_id: int, sees_all: bool):
    return _found_or_404(session, owned(model, user_id, sees_all), model, obj_id)

"""API: tokens, regions, organizations, users (admin)."""

from __future__ import annotations

import functools

from flask import abort, current_app, request
from flask.views import MethodView
from flask_smorest import Blueprint
from sqlalchemy import select

from accounts.auth import acting_user, authenticate_api_request, current_scope
from accounts.models import Organization, Region, Role, User
from accounts.schemas import (
    OrganizationSchema,
    RegionSchema,
    TokenRequestSchema,
    TokenSchema,
    UserSchema,
)
from accounts.services import authenticate, create_user, issue_token
from core.access import get_visible_or_404, scoped
from core.extensions import db

blp = Blueprint("accounts_api", __name__, url_prefix="/api/v1", description="Accounts")
blp.before_request(authenticate_api_request)


@blp.route("/auth/token", methods=["POST"], endpoint="issue_token")
@blp.arguments(TokenRequestSchema)
@blp.response(201, TokenSchema)
def issue_token_view(args):
    """Exchange an e-mail and password for a personal bearer token."""
    user, wait = authenticate(
        db.session,
        args["email"],
        args["password"],
        request.remote_addr or "?",
        current_app.config,
    )
    if wait:
        abort(429)
    if user is None:
        abort(401)
    _token, plain = issue_token(db.session, user, args["name"])
    db.session.commit()
    return {"token": plain, "name": args["name"]}


@blp.route("/regions")
@blp.response(200, RegionSchema(many=True))
def regions():
    return db.session.execute(select(Region).order_by(Region.code)).scalars().all()


@blp.route("/organizations")
@blp.response(200, OrganizationSchema(many=True))
def organizations():
    stmt = scoped(Organization, current_scope()).order_by(Organization.name)
    return db.session.execute(stmt).scalars().all()


@blp.route("/organizations/<int:org_id>")
@blp.response(200, OrganizationSchema)
def organization(org_id: int):
    return get_visible_or_404(db.session, Organization, org_id, current_scope())


def admins_only(view):
    """404 for everyone but administrators, before anything else (the body is not even read:
    a non-admin learns nothing from the answer, whatever they send)."""

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        user = acting_user()
        if user is None or user.role != Role.ADMIN:
            abort(404)
        return view(*args, **kwargs)

    return wrapper


@blp.route("/users")
class Users(MethodView):
    # MethodView.decorators wrap the whole dispatch, so they run before @blp.arguments
    # parses and validates the body of any method.
    decorators = [admins_only]

    @blp.response(200, UserSchema(many=True))
    def get(self):
        """Users (administrators only)."""
        return db.session.execute(select(User).order_by(User.email)).scalars().all()

    @blp.arguments(UserSchema)
    @blp.response(201, UserSchema)
    def post(self, args):
        """Create a user (administrators only)."""
        user = create_user(db.session, acting_user(), **args)
        db.session.commit()
        return user

"""API: tokens, regions, organizations, users (admin)."""

from __future__ import annotations

from flask import abort, current_app, request
from flask.views import MethodView
from sqlalchemy import select

from accounts import services
from accounts.auth import (
    acting_user,
    admins_only,
    current_scope,
    too_many_attempts,
)
from accounts.models import Organization, Region, User
from accounts.schemas import (
    OrganizationSchema,
    RegionSchema,
    TokenRequestSchema,
    TokenSchema,
    UserSchema,
    UserUpdateSchema,
)
from accounts.services import authenticate, create_user, issue_token
from core.access import get_or_404, get_visible_or_404, scoped
from core.api_blueprint import Blueprint, found_before_the_body
from core.extensions import db
from core.validation import ValidationFailed

blp = Blueprint("accounts_api", __name__, url_prefix="/api/v1", description="Accounts")


@blp.route("/auth/token", methods=["POST"], endpoint="issue_token")
@blp.errors(400, 401, 413, 422, 429)  # 401: a wrong e-mail or password, 429: too many
@blp.arguments(TokenRequestSchema)
@blp.response(201, TokenSchema)
@blp.alt_response(429, description="Too many failed attempts: see the Retry-After header.")
def issue_token_view(args):
    """Exchange an e-mail and password for a personal bearer token (valid ``days``, by default
    and at most API_TOKEN_DAYS)."""
    days = services.token_days(args["days"], current_app.config)
    user, wait = authenticate(
        db.session,
        args["email"],
        args["password"],
        request.remote_addr or "?",
        current_app.config,
    )
    if wait:
        return too_many_attempts(wait)
    if user is None:
        abort(401)
    token, plain = issue_token(db.session, user, args["name"], days)
    db.session.commit()
    return {"token": plain, "name": token.name, "expires_at": token.expires_at}


@blp.route("/regions")
@blp.response(200, RegionSchema(many=True))
def regions():
    return db.session.execute(select(Region).order_by(Region.code)).scalars().all()


def _organization_or_404(org_id: int) -> Organization:
    return get_or_404(db.session, Organization, org_id)


@blp.route("/organizations")
class Organizations(MethodView):
    @blp.response(200, OrganizationSchema(many=True))
    def get(self):
        """Organizations the caller can see."""
        stmt = scoped(Organization, current_scope()).order_by(Organization.search_name)
        return db.session.execute(stmt).scalars().all()

    @admins_only
    @blp.arguments(OrganizationSchema)
    @blp.response(201, OrganizationSchema)
    def post(self, args):
        """Register an organization (administrators only; others: 404)."""
        args["region"] = args.pop("region_code")
        org = services.create_organization(db.session, acting_user(), **args)
        db.session.commit()
        return org


@blp.route("/organizations/<int:org_id>")
class OrganizationItem(MethodView):
    @blp.response(200, OrganizationSchema)
    def get(self, org_id: int):
        return get_visible_or_404(db.session, Organization, org_id, current_scope())

    @admins_only
    @found_before_the_body(lambda org_id: _organization_or_404(org_id), "org_id")
    @blp.arguments(OrganizationSchema(partial=True))
    @blp.response(200, OrganizationSchema)
    def patch(self, args, org_id: int):
        """Change an organization (administrators only; others: 404). The BIN can change
        only while the organization has no facility."""
        org = _organization_or_404(org_id)
        if "region_code" in args:
            args["region"] = args.pop("region_code")
        services.update_organization(db.session, acting_user(), org, **args)
        db.session.commit()
        return org


# The use cases name the links of a user "org" and "region"; the API's fields are these.
USER_FIELDS = {"org": "org_bin", "region": "region_code"}


def _user_errors(err: ValidationFailed) -> ValidationFailed:
    return ValidationFailed({USER_FIELDS.get(k, k): v for k, v in err.errors.items()})


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
        try:
            user = create_user(db.session, acting_user(), **args)
        except ValidationFailed as err:
            raise _user_errors(err) from None
        db.session.commit()
        return user


@blp.route("/users/<int:user_id>")
class UserItem(MethodView):
    decorators = [admins_only]

    @blp.response(200, UserSchema)
    def get(self, user_id: int):
        """A user (administrators only)."""
        return _user_or_404(user_id)

    @found_before_the_body(lambda user_id: _user_or_404(user_id), "user_id")
    @blp.arguments(UserUpdateSchema)
    @blp.response(200, UserSchema)
    def patch(self, args, user_id: int):
        """Change a user (administrators only): the fields sent. ``active: false`` ends the
        user's login sessions; the last active administrator stays one."""
        user = _user_or_404(user_id)
        active = args.pop("active", None)
        try:
            services.update_user(db.session, acting_user(), user, **args)
            if active is not None:
                services.set_active(db.session, acting_user(), user, active)
        except ValidationFailed as err:
            raise _user_errors(err) from None
        db.session.commit()
        return user


def _user_or_404(user_id: int) -> User:
    return get_or_404(db.session, User, user_id)

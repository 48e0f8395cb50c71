from __future__ import annotations

from marshmallow import Schema, fields, validate


class TokenRequestSchema(Schema):
    email = fields.Email(required=True)
    password = fields.String(required=True, validate=validate.Length(min=1, max=200))
    name = fields.String(load_default="API", validate=validate.Length(max=100))
    days = fields.Integer(
        strict=True,  # 7.5 or "7" is an error, never truncated
        load_default=None,
        metadata={"description": "Lifetime in days, at most API_TOKEN_DAYS (the default)."},
    )


class TokenSchema(Schema):
    token = fields.String()
    name = fields.String()
    expires_at = fields.DateTime()


class RegionSchema(Schema):
    id = fields.Integer()
    code = fields.String()
    kato = fields.String()
    name_ru = fields.String()
    name_en = fields.String()


class OrganizationSchema(Schema):
    """An operating organization. Created and changed by administrators only; ``region`` is
    the region's code (GET /api/v1/regions), ``bin`` the 12-digit BIN (check digit verified;
    spaces and dashes ignored). A PATCH changes the fields it sends. The text is trimmed by
    accounts.services, which checks the lengths."""

    id = fields.Integer(dump_only=True)
    name = fields.String(required=True)
    bin = fields.String(required=True)
    region_code = fields.String(data_key="region", required=True)
    region_id = fields.Integer(dump_only=True)
    address = fields.String(allow_none=True, load_default=None)
    email = fields.String(allow_none=True, load_default=None)
    phone = fields.String(allow_none=True, load_default=None)


class UserSchema(Schema):
    id = fields.Integer(dump_only=True)
    email = fields.Email(required=True)
    name = fields.String(load_default="")
    role = fields.Function(lambda u: u.role.value, deserialize=str, required=True)
    organization_id = fields.Integer(dump_only=True, allow_none=True)
    region_id = fields.Integer(dump_only=True, allow_none=True)
    active = fields.Boolean(dump_only=True)
    password = fields.String(load_only=True, required=True)
    org_bin = fields.String(load_only=True, load_default=None)
    region_code = fields.String(load_only=True, load_default=None)


class UserUpdateSchema(Schema):
    """The fields of a user an administrator changes (those sent; the others stay). The
    result must obey the rules of a new user: e.g. a regulator made an engineer needs
    ``org_bin`` and ``region_code: null`` in the same request."""

    email = fields.Email()
    name = fields.String()
    role = fields.String()
    org_bin = fields.String(allow_none=True)
    region_code = fields.String(allow_none=True)
    active = fields.Boolean()

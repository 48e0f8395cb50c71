from __future__ import annotations

from marshmallow import Schema, fields, validate


class TokenRequestSchema(Schema):
    email = fields.Email(required=True)
    password = fields.String(required=True, validate=validate.Length(min=1, max=200))
    name = fields.String(load_default="API", validate=validate.Length(max=100))


class TokenSchema(Schema):
    token = fields.String()
    name = fields.String()


class RegionSchema(Schema):
    id = fields.Integer()
    code = fields.String()
    kato = fields.String()
    name_ru = fields.String()
    name_en = fields.String()


class OrganizationSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    bin = fields.String()
    region_id = fields.Integer()
    address = fields.String(allow_none=True)
    email = fields.String(allow_none=True)
    phone = fields.String(allow_none=True)


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

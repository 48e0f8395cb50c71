"""Marshmallow schemas of the registry API (validation messages are translated by the app)."""

from __future__ import annotations

from datetime import date

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from core import clock
from core.access import MAX_ID
from equipment import glossary
from equipment.catalog import (
    AssessmentMethod,
    Band,
    Condition,
    DeviceType,
    EquipmentStatus,
    FacilityStatus,
    HazardClass,
    InspectionKind,
    InspectionResult,
    LifeSource,
    Sector,
)


class Text(fields.String):
    """Text as a person means it: surrounding whitespace dropped and, on one-line fields,
    runs of inner whitespace made one space (so « ИН-16 » is ИН-16, a duplicate if taken).
    A blank optional field is null; a blank required one is an error, as on the forms."""

    default_error_messages = {"blank": "Field may not be blank."}

    def __init__(self, *, multiline: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.multiline = multiline

    def deserialize(self, value, *args, **kwargs):
        if isinstance(value, str) and not value.strip() and self.allow_none:
            return None  # before the validators, which take no None
        return super().deserialize(value, *args, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        text = text.strip() if self.multiline else " ".join(text.split())
        if not text:
            raise self.make_error("blank")
        return text


def whole(**kw):
    """A JSON whole number: 2000.7 or "2000" are errors, never truncated."""
    return fields.Integer(strict=True, **kw)


def enum_field(enum_cls, **kw):
    return fields.Enum(enum_cls, by_value=True, **kw)


def id_field(**kw):
    """A reference to another row: a whole number some row could have (1 .. MAX_ID), so an
    id beyond the INTEGER column is a field error, never a database error."""
    return whole(validate=validate.Range(1, MAX_ID), **kw)


def count_field(lo: int, **kw):
    """A count stored in an INTEGER column."""
    return whole(allow_none=True, validate=validate.Range(lo, MAX_ID), **kw)


def not_future(value: date):
    if value > clock.today():
        raise ValidationError("The date cannot be in the future.")
    not_before_1900(value)


def not_before_1900(value: date):
    if value.year < 1900:
        raise ValidationError("Must be greater than or equal to 1900-01-01.")


def up_to_this_year(value: int):
    """1900 to the current year, evaluated on every load (a long-running worker sees the new
    year), with marshmallow's own range message (translated in core.api_messages)."""
    validate.Range(1900, clock.today().year)(value)


def whole_years(value: float):
    """A normative service life: whole years from 1 to 100, as in the forms and the Excel
    import (stored as a float, so the API still answers 20.0 for 20)."""
    if not (value.is_integer() and 1 <= value <= 100):
        raise ValidationError("Expected a whole number of years from 1 to 100.")


class FacilitySchema(Schema):
    id = fields.Integer(dump_only=True)
    organization_id = id_field(load_default=None)
    code = Text(required=True, validate=validate.Length(min=1, max=40))
    name = Text(required=True, validate=validate.Length(min=1, max=300))
    region_id = id_field(required=True)
    address = Text(allow_none=True, multiline=True, validate=validate.Length(max=500))
    sector = enum_field(Sector, load_default=Sector.OTHER)
    hazard_class = enum_field(HazardClass, allow_none=True, load_default=None)
    status = enum_field(FacilityStatus, load_default=FacilityStatus.OPERATING)


class IndicatorsSchema(Schema):
    as_of = fields.Date()
    wear_pct = fields.Float(allow_none=True)
    band = enum_field(Band)
    life_end = fields.Date(allow_none=True)
    life_expired = fields.Boolean()
    inspection_overdue = fields.Boolean()
    warning = fields.Boolean()
    critical = fields.Boolean()
    must_plan = fields.Boolean()
    critical_forecast = fields.Date(allow_none=True)
    next_inspection_due = fields.Date(allow_none=True)
    reasons = fields.List(fields.String())


class EquipmentSchema(Schema):
    id = fields.Integer(dump_only=True)
    organization_id = fields.Integer(dump_only=True)
    facility_id = id_field(required=True)
    inventory_no = Text(required=True, validate=validate.Length(min=1, max=60))
    name = Text(required=True, validate=validate.Length(min=1, max=300))
    device_type = enum_field(DeviceType, required=True)
    model = Text(allow_none=True, validate=validate.Length(max=120))
    manufacturer = Text(allow_none=True, validate=validate.Length(max=200))
    factory_no = Text(allow_none=True, validate=validate.Length(max=60))
    registration_no = Text(allow_none=True, validate=validate.Length(max=60))
    manufacture_year = whole(allow_none=True, validate=up_to_this_year)
    commissioned_on = fields.Date(allow_none=True, validate=not_future)
    service_life_years = fields.Float(allow_none=True, validate=whole_years)
    service_life_source = enum_field(LifeSource, load_default=LifeSource.UNKNOWN)
    cycle_limit = count_field(1)
    cycle_count = count_field(0)
    pressure_mpa = fields.Float(allow_none=True, validate=validate.Range(0, 1000))
    temperature_c = fields.Float(allow_none=True, validate=validate.Range(-273, 2000))
    medium = Text(allow_none=True, validate=validate.Length(max=120))
    capacity = Text(allow_none=True, validate=validate.Length(max=120))
    status = enum_field(EquipmentStatus, load_default=EquipmentStatus.IN_SERVICE)
    notes = Text(allow_none=True, multiline=True, validate=validate.Length(max=4000))
    indicators = fields.Nested(IndicatorsSchema, dump_only=True)


class EquipmentPageSchema(Schema):
    items = fields.List(fields.Nested(EquipmentSchema))
    total = fields.Integer()
    page = fields.Integer()
    per_page = fields.Integer()
    pages = fields.Integer()


class AssessmentSchema(Schema):
    id = fields.Integer(dump_only=True)
    equipment_id = fields.Integer(dump_only=True)
    assessed_on = fields.Date(required=True, validate=not_future)
    wear_pct = fields.Float(required=True, validate=validate.Range(0, 100))
    method = enum_field(AssessmentMethod, required=True)
    condition = enum_field(Condition, allow_none=True, load_default=None)
    residual_life_years = fields.Float(allow_none=True, validate=validate.Range(0, 100))
    document_ref = Text(allow_none=True, validate=validate.Length(max=200))
    notes = Text(allow_none=True, multiline=True, validate=validate.Length(max=4000))


class InspectionSchema(Schema):
    id = fields.Integer(dump_only=True)
    equipment_id = fields.Integer(dump_only=True)
    kind = enum_field(InspectionKind, required=True)
    done_on = fields.Date(required=True, validate=not_future)
    next_due_on = fields.Date(allow_none=True, validate=not_before_1900)
    result = enum_field(InspectionResult, required=True)
    extended_until = fields.Date(allow_none=True, validate=not_before_1900)
    document_no = Text(allow_none=True, validate=validate.Length(max=120))
    organization_name = Text(allow_none=True, validate=validate.Length(max=300))
    notes = Text(allow_none=True, multiline=True, validate=validate.Length(max=4000))

    @validates_schema
    def _dates(self, data, **kwargs):
        if (
            data.get("next_due_on")
            and data.get("done_on")
            and data["next_due_on"] <= data["done_on"]
        ):
            raise ValidationError("Must be after done_on.", "next_due_on")


def _describe(schema_cls, renamed: dict[str, str] | None = None) -> None:
    """The API's field descriptions: the glossary's labels (English), so that the API names a
    field as the pages, the forms and the workbooks do."""
    renamed = renamed or {}
    for name, field in schema_cls._declared_fields.items():
        term = renamed.get(name, name)
        if term in glossary.LABELS:
            field.metadata.setdefault("description", glossary.english(term))


_describe(FacilitySchema, {"code": "facility_code", "name": "facility_name"})
_describe(IndicatorsSchema, {"critical_forecast": "critical_on"})
_describe(EquipmentSchema)
_describe(AssessmentSchema)
_describe(InspectionSchema)

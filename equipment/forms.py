"""HTML forms of the registry (Flask-WTF: CSRF, field-level errors in the user's language)."""

from __future__ import annotations

import math
from datetime import date

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, FloatField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    ValidationError,
)

from equipment import labels


def not_in_future(form, field):
    if field.data and field.data > date.today():
        raise ValidationError(_l("The date cannot be in the future."))


INT_MAX = 2_147_483_647  # the INTEGER columns of both databases
WHOLE_FROM_0 = _l("Enter a whole number from 0 to 2 147 483 647.")
WHOLE_FROM_1 = _l("Enter a whole number from 1 to 2 147 483 647.")


def not_before_1900(form, field):
    if field.data and field.data.year < 1900:
        raise ValidationError(_l("Enter a date from 1900 on."))


def year_range(form, field):
    """1900 to the current year, evaluated on every check (a long-running worker sees new year)."""
    this_year = date.today().year
    if field.data is not None and not 1900 <= field.data <= this_year:
        raise ValidationError(_l("Enter a year from 1900 to %(y)s.", y=this_year))


class DecimalField(FloatField):
    """A float that also accepts what Russian users type: «1,6», «1 250,5» (spaces, NBSP)."""

    def process_formdata(self, valuelist):
        if valuelist:
            raw = valuelist[0] or ""
            valuelist = [
                raw.replace("\u00a0", "").replace("\u202f", "").replace(" ", "").replace(",", ".")
            ]
        super().process_formdata(valuelist)
        if self.data is not None and not math.isfinite(self.data):
            self.data = None
            raise ValueError(self.gettext("Not a valid float value."))


def _opt_float(lo, hi, message):
    return [Optional(), NumberRange(lo, hi, message=message)]


class EquipmentForm(FlaskForm):
    facility_id = SelectField(_l("Facility"), coerce=int, validators=[DataRequired()])
    inventory_no = StringField(_l("Inventory number"), validators=[DataRequired(), Length(max=60)])
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=300)])
    device_type = SelectField(
        _l("Device type"), choices=labels.choices(labels.DEVICE_TYPES), validators=[DataRequired()]
    )
    model = StringField(_l("Model"), validators=[Optional(), Length(max=120)])
    manufacturer = StringField(_l("Manufacturer"), validators=[Optional(), Length(max=200)])
    factory_no = StringField(_l("Factory number"), validators=[Optional(), Length(max=60)])
    registration_no = StringField(
        _l("Registration number"), validators=[Optional(), Length(max=60)]
    )
    manufacture_year = IntegerField(_l("Manufacture year"), validators=[Optional(), year_range])
    commissioned_on = DateField(
        _l("Commissioning date"), validators=[Optional(), not_before_1900, not_in_future]
    )
    service_life_years = DecimalField(
        _l("Normative service life, years"),
        validators=_opt_float(0.5, 100, _l("Enter a service life from 0.5 to 100 years.")),
    )
    service_life_source = SelectField(
        _l("Source of the service life"), choices=labels.choices(labels.LIFE_SOURCES)
    )
    cycle_limit = IntegerField(
        _l("Load-cycle limit"),
        validators=[
            Optional(),
            NumberRange(1, INT_MAX, message=_l("Enter a whole number from 1 to 2 147 483 647.")),
        ],
    )
    cycle_count = IntegerField(
        _l("Load cycles so far"),
        validators=[
            Optional(),
            NumberRange(0, INT_MAX, message=_l("Enter a whole number from 0 to 2 147 483 647.")),
        ],
    )
    pressure_mpa = DecimalField(
        _l("Working pressure, MPa"),
        validators=_opt_float(0, 1000, _l("Enter a pressure from 0 to 1000 MPa.")),
    )
    temperature_c = DecimalField(
        _l("Working temperature, °C"),
        validators=_opt_float(-273, 2000, _l("Enter a temperature from −273 to 2000 °C.")),
    )
    medium = StringField(_l("Working medium"), validators=[Optional(), Length(max=120)])
    capacity = StringField(_l("Capacity / load"), validators=[Optional(), Length(max=120)])
    status = SelectField(_l("Status"), choices=labels.choices(labels.EQUIPMENT_STATUSES))
    notes = TextAreaField(_l("Notes"), validators=[Optional(), Length(max=4000)])

    def data_for_service(self) -> dict:
        out = {k: v for k, v in self.data.items() if k != "csrf_token"}
        for key in (
            "model",
            "manufacturer",
            "factory_no",
            "registration_no",
            "medium",
            "capacity",
            "notes",
        ):
            out[key] = (out.get(key) or "").strip() or None
        out["inventory_no"] = out["inventory_no"].strip()
        out["name"] = out["name"].strip()
        return out


class AssessmentForm(FlaskForm):
    assessed_on = DateField(
        _l("Assessment date"), validators=[DataRequired(), not_before_1900, not_in_future]
    )
    wear_pct = DecimalField(
        _l("Physical wear, %"),
        validators=[
            InputRequired(),
            NumberRange(0, 100, message=_l("Enter wear from 0 to 100 %%.")),
        ],
    )
    method = SelectField(_l("Method"), choices=labels.choices(labels.METHODS))
    condition = SelectField(
        _l("Technical condition"), choices=labels.choices(labels.CONDITIONS, blank="—")
    )
    residual_life_years = DecimalField(
        _l("Residual life, years"),
        validators=_opt_float(0, 100, _l("Enter a residual life from 0 to 100 years.")),
    )
    document_ref = StringField(_l("Document"), validators=[Optional(), Length(max=200)])
    notes = TextAreaField(_l("Notes"), validators=[Optional(), Length(max=4000)])

    def data_for_service(self) -> dict:
        out = {k: v for k, v in self.data.items() if k != "csrf_token"}
        out["condition"] = out["condition"] or None
        out["document_ref"] = (out["document_ref"] or "").strip() or None
        out["notes"] = (out["notes"] or "").strip() or None
        return out


class InspectionForm(FlaskForm):
    kind = SelectField(_l("Kind"), choices=labels.choices(labels.INSPECTION_KINDS))
    done_on = DateField(_l("Date"), validators=[DataRequired(), not_before_1900, not_in_future])
    result = SelectField(_l("Result"), choices=labels.choices(labels.INSPECTION_RESULTS))
    next_due_on = DateField(_l("Next due date"), validators=[Optional(), not_before_1900])
    extended_until = DateField(
        _l("Service life extended until"), validators=[Optional(), not_before_1900]
    )
    document_no = StringField(_l("Document number"), validators=[Optional(), Length(max=120)])
    organization_name = StringField(_l("Performed by"), validators=[Optional(), Length(max=300)])
    notes = TextAreaField(_l("Notes"), validators=[Optional(), Length(max=4000)])

    def data_for_service(self) -> dict:
        out = {k: v for k, v in self.data.items() if k != "csrf_token"}
        for key in ("document_no", "organization_name", "notes"):
            out[key] = (out[key] or "").strip() or None
        return out


class FacilityForm(FlaskForm):
    organization_id = SelectField(_l("Organization"), coerce=int, validate_choice=False)
    code = StringField(_l("Code"), validators=[DataRequired(), Length(max=40)])
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=300)])
    region_id = SelectField(_l("Region"), coerce=int, validators=[DataRequired()])
    address = StringField(_l("Address"), validators=[Optional(), Length(max=500)])
    sector = SelectField(_l("Sector"), choices=labels.choices(labels.SECTORS))
    hazard_class = SelectField(
        _l("Hazard class"),
        choices=[SelectChoice("", "—")] + [SelectChoice(c) for c in ("I", "II", "III", "IV")],
    )
    status = SelectField(_l("Status"), choices=labels.choices(labels.FACILITY_STATUSES))

    def data_for_service(self) -> dict:
        out = {k: v for k, v in self.data.items() if k != "csrf_token"}
        out["hazard_class"] = out["hazard_class"] or None
        out["address"] = (out["address"] or "").strip() or None
        out["code"] = out["code"].strip()
        out["name"] = out["name"].strip()
        return out

"""HTML forms of the registry (Flask-WTF: CSRF, field-level errors in the user's language)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from core import clock
from core.form_fields import ChoiceField, DateField, DecimalField, WholeNumberField
from equipment import glossary, labels
from equipment.catalog import LifeSource


def not_in_future(form, field):
    if field.data and field.data > clock.today():
        raise ValidationError(_l("The date cannot be in the future."))


INT_MAX = 2_147_483_647  # the INTEGER columns of both databases
WHOLE_FROM_0 = _l("Enter a whole number from 0 to 2 147 483 647.")
WHOLE_FROM_1 = _l("Enter a whole number from 1 to 2 147 483 647.")
# The same rule as the Excel import (equipment.imports.excel.validate): whole years, 1 to 100.
SERVICE_LIFE_MIN, SERVICE_LIFE_MAX = 1, 100


def not_before_1900(form, field):
    if field.data and field.data.year < 1900:
        raise ValidationError(_l("Enter a date from 1900 on."))


def _this_year() -> int:
    """Evaluated on every check: a long-running worker sees the new year."""
    return clock.today().year


def _year_message():
    return _l("Enter a year from 1900 to %(y)s.", y=_this_year())


class EquipmentForm(FlaskForm):
    facility_id = ChoiceField(
        glossary.label("facility"),
        coerce=int,
        required_message=_l("Choose the facility."),
        invalid_message=_l("Choose one of your facilities from the list."),
    )
    inventory_no = StringField(
        glossary.label("inventory_no"), validators=[DataRequired(), Length(max=60)]
    )
    name = StringField(glossary.label("name"), validators=[DataRequired(), Length(max=300)])
    device_type = ChoiceField(
        glossary.label("device_type"),
        choices=labels.choices(labels.DEVICE_TYPES),
        required_message=_l("Choose the device type."),
    )
    model = StringField(glossary.label("model"), validators=[Optional(), Length(max=120)])
    manufacturer = StringField(
        glossary.label("manufacturer"), validators=[Optional(), Length(max=200)]
    )
    factory_no = StringField(glossary.label("factory_no"), validators=[Optional(), Length(max=60)])
    registration_no = StringField(
        glossary.label("registration_no"), validators=[Optional(), Length(max=60)]
    )
    manufacture_year = WholeNumberField(
        glossary.label("manufacture_year"), lo=1900, hi=_this_year, message=_year_message
    )
    commissioned_on = DateField(
        glossary.label("commissioned_on"), validators=[Optional(), not_before_1900, not_in_future]
    )
    service_life_years = WholeNumberField(
        glossary.label("service_life_years"),
        lo=SERVICE_LIFE_MIN,
        hi=SERVICE_LIFE_MAX,
        message=_l("Enter the service life in whole years, from 1 to 100."),
    )
    service_life_source = SelectField(
        glossary.label("service_life_source"),
        choices=labels.choices(labels.LIFE_SOURCES),
        default=LifeSource.UNKNOWN.value,
    )
    cycle_limit = WholeNumberField(
        glossary.label("cycle_limit"), lo=1, hi=INT_MAX, message=WHOLE_FROM_1
    )
    cycle_count = WholeNumberField(
        glossary.label("cycle_count"), lo=0, hi=INT_MAX, message=WHOLE_FROM_0
    )
    pressure_mpa = DecimalField(
        glossary.label("pressure_mpa"),
        lo=0,
        hi=1000,
        message=_l("Enter the pressure as a number from 0 to 1000 MPa, e.g. 1,6."),
    )
    temperature_c = DecimalField(
        glossary.label("temperature_c"),
        lo=-273,
        hi=2000,
        message=_l("Enter the temperature as a number from −273 to 2000 °C."),
    )
    medium = StringField(glossary.label("medium"), validators=[Optional(), Length(max=120)])
    capacity = StringField(glossary.label("capacity"), validators=[Optional(), Length(max=120)])
    status = SelectField(
        glossary.label("status"), choices=labels.choices(labels.EQUIPMENT_STATUSES)
    )
    notes = TextAreaField(glossary.label("notes"), validators=[Optional(), Length(max=4000)])

    def validate_service_life_source(self, field):
        """A source says where the life comes from: without a life there is none to name."""
        life = self.service_life_years
        if field.data != LifeSource.UNKNOWN.value and life.data is None and not life.errors:
            raise ValidationError(
                _l(
                    "Enter the service life, or choose «%(unknown)s».",
                    unknown=labels.LIFE_SOURCES[LifeSource.UNKNOWN],
                )
            )

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
        if out["service_life_years"] is not None:
            out["service_life_years"] = float(out["service_life_years"])
        return out


class AssessmentForm(FlaskForm):
    assessed_on = DateField(
        glossary.label("assessed_on"), validators=[DataRequired(), not_before_1900, not_in_future]
    )
    wear_pct = DecimalField(
        glossary.label("wear_pct"),
        lo=0,
        hi=100,
        required=True,
        message=_l("Enter the wear as a number from 0 to 100 (percent), e.g. 47,5."),
    )
    method = ChoiceField(
        glossary.label("method"),
        choices=labels.choices(labels.METHODS),
        required_message=_l("Choose the method of the assessment."),
    )
    condition = SelectField(
        glossary.label("condition"), choices=labels.choices(labels.CONDITIONS, blank="—")
    )
    residual_life_years = DecimalField(
        glossary.label("residual_life_years"),
        lo=0,
        hi=100,
        message=_l("Enter the residual life as a number of years from 0 to 100, e.g. 2,5."),
    )
    document_ref = StringField(
        glossary.label("document_ref"), validators=[Optional(), Length(max=200)]
    )
    notes = TextAreaField(glossary.label("notes"), validators=[Optional(), Length(max=4000)])

    def data_for_service(self) -> dict:
        out = {k: v for k, v in self.data.items() if k != "csrf_token"}
        out["condition"] = out["condition"] or None
        out["document_ref"] = (out["document_ref"] or "").strip() or None
        out["notes"] = (out["notes"] or "").strip() or None
        return out


class InspectionForm(FlaskForm):
    kind = ChoiceField(
        glossary.label("kind"),
        choices=labels.choices(labels.INSPECTION_KINDS),
        required_message=_l("Choose the kind of the event."),
    )
    done_on = DateField(
        glossary.label("done_on"), validators=[DataRequired(), not_before_1900, not_in_future]
    )
    result = ChoiceField(
        glossary.label("result"),
        choices=labels.choices(labels.INSPECTION_RESULTS),
        required_message=_l("Choose the result."),
    )
    next_due_on = DateField(glossary.label("next_due_on"), validators=[Optional(), not_before_1900])
    extended_until = DateField(
        glossary.label("extended_until"), validators=[Optional(), not_before_1900]
    )
    document_no = StringField(
        glossary.label("document_no"), validators=[Optional(), Length(max=120)]
    )
    organization_name = StringField(
        glossary.label("organization_name"), validators=[Optional(), Length(max=300)]
    )
    notes = TextAreaField(glossary.label("notes"), validators=[Optional(), Length(max=4000)])

    def data_for_service(self) -> dict:
        out = {k: v for k, v in self.data.items() if k != "csrf_token"}
        for key in ("document_no", "organization_name", "notes"):
            out[key] = (out[key] or "").strip() or None
        return out


class FacilityForm(FlaskForm):
    organization_id = ChoiceField(
        _l("Organization"),
        coerce=int,
        required_message=_l("Choose the organization."),
        invalid_message=_l("Choose the organization from the list."),
    )
    code = StringField(_l("Code"), validators=[DataRequired(), Length(max=40)])
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=300)])
    region_id = ChoiceField(
        _l("Region"),
        coerce=int,
        required_message=_l("Choose the region."),
        invalid_message=_l("Choose a region from the list."),
    )
    address = StringField(_l("Address"), validators=[Optional(), Length(max=500)])
    sector = ChoiceField(
        _l("Sector"),
        choices=labels.choices(labels.SECTORS),
        required_message=_l("Choose the sector."),
    )
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

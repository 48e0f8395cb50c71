"""Registry pages: dashboard, facilities, the card and forms (the equipment list: registry.views).
Thin: parse, call a service, render."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import func, select
from wtforms.fields.choices import SelectChoice

from accounts.auth import current_scope, editable_scope
from accounts.models import Organization, Region
from core import clock
from core.access import get_visible_or_404, scoped, valid_id
from core.audit import AuditEvent
from core.extensions import db
from core.form_fields import apply_errors
from core.validation import ValidationFailed
from equipment import dashboard, labels, services
from equipment.catalog import EquipmentStatus
from equipment.explain import explain
from equipment.forms import AssessmentForm, EquipmentForm, FacilityForm, InspectionForm
from equipment.imports.models import ImportBatch
from equipment.models import ConditionAssessment, Equipment, Facility, Inspection
from equipment.registry.counts import any_equipment, dashboard_counts
from equipment.registry.query import curve_of, facility_choices
from equipment.settings import wear_thresholds
from equipment.wear import indicators, thresholds_for

bp = Blueprint("equipment", __name__, template_folder="templates")


@bp.before_request
@login_required
def _login_first():
    return None


@bp.context_processor
def _labels():
    return {"labels": labels.for_templates()}


# ---------------------------------------------------------------------------- dashboard


def dashboard_section() -> str:
    """The fleet's condition on core's dashboard (added through core.hooks)."""
    scope = current_scope()
    counts = dashboard_counts(db.session, scope, clock.today())
    empty = counts["total"] == 0 and not any_equipment(db.session, scope)
    has_facilities = bool(empty and facility_choices(db.session, scope))
    return render_template(
        "equipment/_dashboard.html",
        labels=labels.for_templates(),
        counts=counts,
        figures=dashboard.figures(db.session, scope, clock.today(), counts),
        deadline_labels=dashboard.DEADLINE_LABELS,
        thresholds=thresholds_for(None, wear_thresholds()),
        today=clock.today(),
        empty=empty,
        has_facilities=has_facilities,
        can_edit=scope.can_edit_registry,
    )


# ---------------------------------------------------------------------------- facilities


@bp.get("/facilities")
def facilities():
    scope = current_scope()
    counts = (
        select(Equipment.facility_id, func.count().label("n"))
        .where(scope.clause(Equipment), Equipment.status != EquipmentStatus.DECOMMISSIONED)
        .group_by(Equipment.facility_id)
        .subquery()
    )
    stmt = (
        scoped(Facility, scope, select(Facility, func.coalesce(counts.c.n, 0)))
        .outerjoin(counts, counts.c.facility_id == Facility.id)
        .order_by(Facility.organization_id, Facility.code)
    )
    rows = db.session.execute(stmt).all()
    return render_template("equipment/facilities.html", rows=rows)


def _facility_form(facility: Facility | None) -> FacilityForm:
    scope = current_scope()
    form = FacilityForm(obj=facility)
    form.region_id.choices = [
        SelectChoice(r.id, r.name(str(get_locale())))
        for r in db.session.execute(select(Region).order_by(Region.name_ru)).scalars()
    ]
    if facility is not None or scope.organization_id is not None:
        del form.organization_id  # fixed: the facility's own, or the engineer's
    else:
        orgs = db.session.execute(scoped(Organization, scope).order_by(Organization.name))
        form.organization_id.choices = [
            SelectChoice(o.id, f"{o.name} ({o.bin})") for o in orgs.scalars()
        ]
    return form


@bp.route("/facilities/new", methods=["GET", "POST"])
@bp.route("/facilities/<int:facility_id>/edit", methods=["GET", "POST"])
def facility_form(facility_id: int | None = None):
    scope = current_scope()
    facility = (
        get_visible_or_404(db.session, Facility, facility_id, scope)
        if facility_id is not None
        else None
    )
    editable_scope()
    form = _facility_form(facility)
    if facility is None and request.method == "GET" and current_user.organization:
        form.region_id.data = current_user.organization.region_id
    if form.validate_on_submit():
        data = form.data_for_service()
        if scope.organization_id is not None:  # the field is not on an engineer's form
            data.pop("organization_id", None)
        if facility is None and scope.organization_id is None:
            allowed = {c.value for c in form.organization_id.choices}
            if data.get("organization_id") not in allowed:
                form.organization_id.errors = [_("Choose the organization.")]
                return render_template(
                    "equipment/facility_form.html", form=form, facility=facility
                ), 400
        try:
            saved = services.save_facility(db.session, current_user, scope, data, facility)
            db.session.commit()
        except ValidationFailed as err:
            db.session.rollback()
            apply_errors(form, err)
        else:
            flash(_("Facility saved."), "success")
            return redirect(url_for("equipment.registry.index", facility_id=saved.id))
    status = 400 if request.method == "POST" else 200
    return render_template("equipment/facility_form.html", form=form, facility=facility), status


# ---------------------------------------------------------------------------- card


@bp.get("/equipment/<int:item_id>")
def equipment_card(item_id: int):
    scope = current_scope()
    item = get_visible_or_404(db.session, Equipment, item_id, scope)
    today = clock.today()
    ind = indicators(curve_of(item), today)
    thresholds = thresholds_for(item.device_type, wear_thresholds())
    inputs, latest, documented = services.card_facts(db.session, item)
    assessments = db.session.execute(
        select(ConditionAssessment)
        .where(ConditionAssessment.equipment_id == item.id)
        .order_by(ConditionAssessment.assessed_on.desc(), ConditionAssessment.id.desc())
    ).scalars()
    inspections = db.session.execute(
        select(Inspection)
        .where(Inspection.equipment_id == item.id)
        .order_by(Inspection.done_on.desc(), Inspection.id.desc())
    ).scalars()
    events = list(
        db.session.execute(
            select(AuditEvent)
            .where(
                AuditEvent.entity_type == Equipment.__tablename__, AuditEvent.entity_id == item.id
            )
            .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
            .limit(100)
        ).scalars()
    )
    return render_template(
        "equipment/card.html",
        item=item,
        ind=ind,
        assessments=list(assessments),
        inspections=list(inspections),
        events=events,
        batches=_visible_batches(events, scope),
        can_edit=scope.can_edit_registry,
        explanation=explain(inputs, ind, thresholds, latest, documented),
        facility_codes={f.id: f.code for f in facility_choices(db.session, scope)},
    )


def _visible_batches(events, scope) -> dict[int, ImportBatch]:
    """The import batches the events name that the viewer may open (by id)."""
    ids = {
        pair[1]
        for ev in events
        for pair in [(ev.changes or {}).get("import_batch")]
        if pair and valid_id(pair[1])
    }
    if not ids:
        return {}
    stmt = scoped(ImportBatch, scope).where(ImportBatch.id.in_(ids))
    return {b.id: b for b in db.session.execute(stmt).scalars()}


# ---------------------------------------------------------------------------- forms


@bp.route("/equipment/new", methods=["GET", "POST"])
@bp.route("/equipment/<int:item_id>/edit", methods=["GET", "POST"])
def equipment_form(item_id: int | None = None):
    scope = current_scope()
    item = (
        get_visible_or_404(db.session, Equipment, item_id, scope) if item_id is not None else None
    )
    editable_scope()
    form = EquipmentForm(obj=item)
    facilities = [
        f
        for f in facility_choices(db.session, scope)
        if item is None or f.organization_id == item.organization_id
    ]
    if not facilities:  # equipment belongs to a facility: there is none to put it in yet
        return render_template("equipment/equipment_form.html", form=None, item=None)
    several_orgs = len({f.organization_id for f in facilities}) > 1
    form.facility_id.choices = [
        SelectChoice(f.id, f"{f} ({f.organization.name})" if several_orgs else str(f))
        for f in facilities
    ]
    preselect = request.args.get("facility_id", type=int)  # None unless a whole number
    if item is None and request.method == "GET":
        if preselect is not None:
            form.facility_id.data = preselect
        elif len(facilities) == 1:  # the only facility there is: nothing to choose
            form.facility_id.data = facilities[0].id
    if form.validate_on_submit():
        try:
            saved = services.save_equipment(
                db.session, current_user, scope, form.data_for_service(), wear_thresholds(), item
            )
            db.session.commit()
        except ValidationFailed as err:
            db.session.rollback()
            apply_errors(form, err)
        else:
            flash(_("Equipment saved."), "success")
            return redirect(url_for("equipment.equipment_card", item_id=saved.id))
    status = 400 if request.method == "POST" else 200
    return render_template("equipment/equipment_form.html", form=form, item=item), status


def _child_form(item_id: int, form_cls, service, template: str, saved_message: str):
    item = get_visible_or_404(db.session, Equipment, item_id, current_scope())
    editable_scope()
    form = form_cls()
    if form.validate_on_submit():
        try:
            service(db.session, current_user, item, form.data_for_service(), wear_thresholds())
            db.session.commit()
        except ValidationFailed as err:
            db.session.rollback()
            apply_errors(form, err)
        else:
            flash(saved_message, "success")
            return redirect(url_for("equipment.equipment_card", item_id=item.id))
    status = 400 if request.method == "POST" else 200
    return render_template(template, form=form, item=item), status


@bp.route("/equipment/<int:item_id>/assessments/new", methods=["GET", "POST"])
def assessment_form(item_id: int):
    return _child_form(
        item_id,
        AssessmentForm,
        services.add_assessment,
        "equipment/assessment_form.html",
        _("Assessment saved."),
    )


@bp.route("/equipment/<int:item_id>/inspections/new", methods=["GET", "POST"])
def inspection_form(item_id: int):
    return _child_form(
        item_id,
        InspectionForm,
        services.add_inspection,
        "equipment/inspection_form.html",
        _("Inspection saved."),
    )

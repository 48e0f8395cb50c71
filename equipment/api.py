"""API of the registry: facilities, equipment (with computed indicators), assessments,
inspections. Every object is looked up through the caller's scope: others' ids answer 404."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date

from flask import abort, current_app, request
from flask.views import MethodView
from sqlalchemy import select

from accounts.auth import acting_user, current_scope, editable_scope, editor_before_the_body
from core import clock
from core.access import get_visible_or_404, scoped
from core.api_blueprint import Blueprint
from core.extensions import db
from equipment import services
from equipment.models import ConditionAssessment, Equipment, Facility, Inspection
from equipment.registry.query import RegistryQuery, curve_of, fetch_page
from equipment.schemas import (
    AssessmentSchema,
    EquipmentPageSchema,
    EquipmentSchema,
    FacilitySchema,
    InspectionSchema,
)
from equipment.settings import wear_thresholds
from equipment.wear import indicators

blp = Blueprint("equipment_api", __name__, url_prefix="/api/v1", description="Registry")


def _with_indicators(item: Equipment, today: date) -> Equipment:
    item.indicators = asdict(indicators(curve_of(item), today))
    return item


# ---------------------------------------------------------------------------- facilities


@blp.route("/facilities")
class Facilities(MethodView):
    @blp.response(200, FacilitySchema(many=True))
    def get(self):
        """Facilities the caller can see."""
        stmt = scoped(Facility, current_scope()).order_by(Facility.code)
        return db.session.execute(stmt).scalars().all()

    @editor_before_the_body()
    @blp.arguments(FacilitySchema)
    @blp.response(201, FacilitySchema)
    def post(self, data):
        """Create a facility (engineers: in their organization)."""
        scope = editable_scope()
        facility = services.save_facility(db.session, acting_user(), scope, data)
        db.session.commit()
        return facility


@blp.route("/facilities/<int:facility_id>")
class FacilityItem(MethodView):
    @blp.response(200, FacilitySchema)
    def get(self, facility_id: int):
        return get_visible_or_404(db.session, Facility, facility_id, current_scope())

    @editor_before_the_body(Facility, "facility_id")
    @blp.arguments(FacilitySchema(partial=True))
    @blp.response(200, FacilitySchema)
    def patch(self, data, facility_id: int):
        scope = current_scope()
        facility = get_visible_or_404(db.session, Facility, facility_id, scope)
        if not scope.can_edit_registry:
            abort(403)
        data.pop("organization_id", None)
        merged = {name: getattr(facility, name) for name in Facility.AUDITED}
        merged.update(data)
        facility = services.save_facility(db.session, acting_user(), scope, merged, facility)
        db.session.commit()
        return facility


# ---------------------------------------------------------------------------- equipment


@blp.route("/equipment")
class EquipmentCollection(MethodView):
    @blp.response(200, EquipmentPageSchema)
    def get(self):
        """Equipment list with the registry's filters, sorting and paging.

        Query: q, facility_id, organization_id, region_id (the facility's region),
        device_type, status, band, flag (repeatable:
        critical, warning, life_expired, inspection_overdue, must_plan), sort (prefix - for
        descending): inventory_no, name, device_type (by its label in the request's
        language), facility (by code, then name), organization (by name), manufacture_year,
        commissioned_on, wear, life_end, next_inspection_due, critical_on, status (in service,
        suspended, conserved, decommissioned); empty values come last either way. page,
        per_page.

        q searches the inventory, factory and registration numbers, name, model and
        manufacturer (case and «ё» ignored; numbers also without separators) and facility
        codes (the facility's items); without a sort the matches come by rank: a number
        typed whole or its beginning, then the name, a number's middle, the model, the
        manufacturer, a facility code (sort=relevance asks for it explicitly).

        Deadlines: due = overdue | 30 | 60 | 90 | none, due_kind = examination | hydraulic |
        expertise | life. An event kind's deadline is the date its latest event left (a
        failed one: overdue at once); life is the end of service life. overdue: the date has
        passed (a life end: reached); 30/60/90: not overdue and due within that many days,
        today + N included (90 includes 30); none: no event of the kind recorded (life: no
        life end known). Without due_kind a horizon matches any of the four deadlines, and
        none the items with no examination, hydraulic test or expertise at all. With a
        due_kind and no sort the items come by that deadline (sort=due_date).
        """
        query = RegistryQuery.from_args(
            request.args, current_app.config["MAX_PAGE_SIZE"], current_app.config["PAGE_SIZE"]
        )
        today = clock.today()
        items, total = fetch_page(db.session, query, current_scope(), today)
        return {
            "items": [_with_indicators(i, today) for i in items],
            "total": total,
            "page": query.page,
            "per_page": query.per_page,
            "pages": max(1, -(-total // query.per_page)),
        }

    @editor_before_the_body()
    @blp.arguments(EquipmentSchema)
    @blp.response(201, EquipmentSchema)
    def post(self, data):
        """Create an equipment item in one of the caller's facilities."""
        scope = editable_scope()
        item = services.save_equipment(db.session, acting_user(), scope, data, wear_thresholds())
        db.session.commit()
        return _with_indicators(item, clock.today())


@blp.route("/equipment/<int:item_id>")
class EquipmentItem(MethodView):
    @blp.response(200, EquipmentSchema)
    def get(self, item_id: int):
        item = get_visible_or_404(db.session, Equipment, item_id, current_scope())
        return _with_indicators(item, clock.today())

    @editor_before_the_body(Equipment, "item_id")
    @blp.arguments(EquipmentSchema(partial=True))
    @blp.response(200, EquipmentSchema)
    def patch(self, data, item_id: int):
        scope = current_scope()
        item = get_visible_or_404(db.session, Equipment, item_id, scope)
        if not scope.can_edit_registry:
            abort(403)
        # the fields the PATCH leaves alone are kept as the last writer left them
        services.lock_item(db.session, item)
        merged = {name: getattr(item, name) for name in Equipment.AUDITED}
        merged.update(data)
        item = services.save_equipment(
            db.session, acting_user(), scope, merged, wear_thresholds(), item
        )
        db.session.commit()
        return _with_indicators(item, clock.today())


def _child_collection(model, schema, service, path: str, order_by):
    class Collection(MethodView):
        @blp.response(200, schema(many=True))
        def get(self, item_id: int):
            item = get_visible_or_404(db.session, Equipment, item_id, current_scope())
            stmt = select(model).where(model.equipment_id == item.id).order_by(*order_by)
            return db.session.execute(stmt).scalars().all()

        @editor_before_the_body(Equipment, "item_id")
        @blp.arguments(schema)
        @blp.response(201, schema)
        def post(self, data, item_id: int):
            scope = current_scope()
            item = get_visible_or_404(db.session, Equipment, item_id, scope)
            if not scope.can_edit_registry:
                abort(403)
            created = service(db.session, acting_user(), item, data, wear_thresholds())
            db.session.commit()
            return created

    Collection.__name__ = f"{model.__name__}Collection"
    blp.route(path)(Collection)


_child_collection(
    ConditionAssessment,
    AssessmentSchema,
    services.add_assessment,
    "/equipment/<int:item_id>/assessments",
    (ConditionAssessment.assessed_on.desc(), ConditionAssessment.id.desc()),
)
_child_collection(
    Inspection,
    InspectionSchema,
    services.add_inspection,
    "/equipment/<int:item_id>/inspections",
    (Inspection.done_on.desc(), Inspection.id.desc()),
)

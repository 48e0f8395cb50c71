"""API of the registry: facilities, equipment (with computed indicators), assessments,
inspections. Every object is looked up through the caller's scope: others' ids answer 404."""

from __future__ import annotations

import functools
import json
from dataclasses import asdict
from datetime import date

from flask import abort, current_app, jsonify, request, url_for
from flask.views import MethodView
from flask_babel import gettext as _
from marshmallow import Schema, fields
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from accounts.auth import acting_user, current_scope
from accounts.models import Organization
from accounts.services import organization_by_bin
from core import clock
from core.access import get_visible_or_404, require_editor, scoped
from core.api_blueprint import Blueprint
from core.extensions import db
from core.jobs.api import JobSchema, api_url, job_document
from equipment import registry, services
from equipment.importing import (
    ImportOptions,
    ImportRefused,
    MissingColumns,
    commit_batch,
    default_facility_of,
    import_now,
    limits_from_config,
    preview_batch,
    preview_unmapped_batch,
    report_json,
)
from equipment.imports.excel import FIELDS, FileRejected, read_upload
from equipment.models import ConditionAssessment, Equipment, Facility, ImportBatch, Inspection
from equipment.registry_export import enqueue_export
from equipment.schemas import (
    AssessmentSchema,
    EquipmentPageSchema,
    EquipmentSchema,
    FacilitySchema,
    InspectionSchema,
)
from equipment.wear import indicators

blp = Blueprint("equipment_api", __name__, url_prefix="/api/v1", description="Registry")


def _thresholds():
    return current_app.config["WEAR_THRESHOLDS"]


def _editable_scope():
    scope = current_scope()
    require_editor(scope)
    return scope


def _checked_before_the_body(model=None, arg: str | None = None):
    """For changes: what the URL addresses must be visible (else 404, as for a missing id) and
    the caller an editor (else 403) before the body is read, so the answer never depends on
    the body. Put it above @blp.arguments, which parses the body first."""

    def decorator(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            scope = current_scope()
            if model is not None:
                get_visible_or_404(db.session, model, kwargs[arg], scope)
            require_editor(scope)
            return view(*args, **kwargs)

        return wrapper

    return decorator


def _with_indicators(item: Equipment, today: date) -> Equipment:
    item.indicators = asdict(indicators(registry.curve_of(item), today))
    return item


# ---------------------------------------------------------------------------- facilities


@blp.route("/facilities")
class Facilities(MethodView):
    @blp.response(200, FacilitySchema(many=True))
    def get(self):
        """Facilities the caller can see."""
        stmt = scoped(Facility, current_scope()).order_by(Facility.code)
        return db.session.execute(stmt).scalars().all()

    @_checked_before_the_body()
    @blp.arguments(FacilitySchema)
    @blp.response(201, FacilitySchema)
    def post(self, data):
        """Create a facility (engineers: in their organization)."""
        scope = _editable_scope()
        facility = services.save_facility(db.session, acting_user(), scope, data)
        db.session.commit()
        return facility


@blp.route("/facilities/<int:facility_id>")
class FacilityItem(MethodView):
    @blp.response(200, FacilitySchema)
    def get(self, facility_id: int):
        return get_visible_or_404(db.session, Facility, facility_id, current_scope())

    @_checked_before_the_body(Facility, "facility_id")
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

        Query: q, facility_id, organization_id, device_type, status, band, flag (repeatable:
        critical, warning, life_expired, inspection_overdue, must_plan), sort (prefix - for
        descending): inventory_no, name, device_type (by its label in the request's
        language), facility (by code, then name), organization (by name), manufacture_year,
        commissioned_on, wear, life_end, next_inspection_due, critical_on, status (in service,
        suspended, conserved, decommissioned); empty values come last either way. page,
        per_page.
        """
        query = registry.RegistryQuery.from_args(
            request.args, current_app.config["MAX_PAGE_SIZE"], current_app.config["PAGE_SIZE"]
        )
        today = clock.today()
        items, total = registry.fetch_page(db.session, query, current_scope(), today)
        return {
            "items": [_with_indicators(i, today) for i in items],
            "total": total,
            "page": query.page,
            "per_page": query.per_page,
            "pages": max(1, -(-total // query.per_page)),
        }

    @_checked_before_the_body()
    @blp.arguments(EquipmentSchema)
    @blp.response(201, EquipmentSchema)
    def post(self, data):
        """Create an equipment item in one of the caller's facilities."""
        scope = _editable_scope()
        item = services.save_equipment(db.session, acting_user(), scope, data, _thresholds())
        db.session.commit()
        return _with_indicators(item, clock.today())


@blp.route("/equipment/<int:item_id>")
class EquipmentItem(MethodView):
    @blp.response(200, EquipmentSchema)
    def get(self, item_id: int):
        item = get_visible_or_404(db.session, Equipment, item_id, current_scope())
        return _with_indicators(item, clock.today())

    @_checked_before_the_body(Equipment, "item_id")
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
            db.session, acting_user(), scope, merged, _thresholds(), item
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

        @_checked_before_the_body(Equipment, "item_id")
        @blp.arguments(schema)
        @blp.response(201, schema)
        def post(self, data, item_id: int):
            scope = current_scope()
            item = get_visible_or_404(db.session, Equipment, item_id, scope)
            if not scope.can_edit_registry:
                abort(403)
            created = service(db.session, acting_user(), item, data, _thresholds())
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


# ---------------------------------------------------------------------------- imports


TRUE_WORDS = ("1", "true", "yes", "on")
FALSE_WORDS = ("0", "false", "no", "off")


def _flag(form, name: str, default: bool) -> bool:
    """A yes/no form field; anything but the words it may be is a 422 naming the field, so a
    typo in ``dry_run`` never loads a file for real."""
    raw = form.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in TRUE_WORDS:
        return True
    if value in FALSE_WORDS:
        return False
    abort_json(
        422,
        {name: [_("Expected true or false (or 1 / 0), not «%(value)s».", value=raw[:40])]},
    )


def _import_options(form, organization_id: int) -> ImportOptions:
    try:
        default_facility = default_facility_of(
            db.session, organization_id, form.get("default_facility_id")
        )
    except ImportRefused as err:
        abort_json(422, {"default_facility_id": [err.message]}, err.message)
    return ImportOptions(
        create_facilities=_flag(form, "create_facilities", False),
        decommission_missing=_flag(form, "decommission_missing", False),
        commit_valid_only=_flag(form, "commit_valid_only", False),
        confirm_warnings=_flag(form, "confirm_warnings", False),
        default_facility_id=default_facility,
        mapping=_column_mapping(form.get("mapping")),
    )


def _column_mapping(raw: str | None) -> dict | None:
    """``mapping``: a JSON object {column title: field or null}, as the preview page's form."""
    if not raw:
        return None
    try:
        mapping = json.loads(raw)
    except ValueError:
        mapping = None
    valid = isinstance(mapping, dict) and all(
        isinstance(title, str) and "\x00" not in title and (value is None or value in FIELDS)
        for title, value in mapping.items()
    )
    if not valid:
        abort_json(
            422,
            {
                "mapping": [
                    _(
                        "Expected a JSON object {column title: field or null}; fields: %(fields)s.",
                        fields=", ".join(FIELDS),
                    )
                ]
            },
        )
    return mapping


def _import_organization(scope):
    """Engineers import into their organization; admins name one by ``organization`` (BIN)."""
    if scope.organization_id is not None:
        return db.session.get(Organization, scope.organization_id)
    org = organization_by_bin(db.session, request.form.get("organization"))
    if org is None:
        abort_json(422, {"organization": ["Укажите БИН организации, чей это список."]})
    return org


def abort_json(code: int, errors: dict, message: str | None = None):
    from flask_smorest import abort as smorest_abort

    smorest_abort(code, errors={"json": errors}, message=message)


def _registry_changed_meanwhile():
    """Another commit took an inventory number after the plan was checked: nothing stored."""
    db.session.rollback()
    message = _("The registry changed while the file was being loaded. Upload it again.")
    abort_json(409, {"batch": [message]}, message)


def _unmapped_answer(batch: ImportBatch, err: MissingColumns):
    """422 naming the missing and unrecognised columns, with the batch kept for a mapping."""
    body = {
        "code": 422,
        "status": err.message,
        "message": err.message,
        "errors": {"json": {"file": [err.message]}},
        "batch": report_json(batch),
        "preview_url": url_for("equipment.imports.import_batch", batch_id=batch.id, _external=True),
    }
    response = jsonify(body)
    response.status_code = 422
    return response


@blp.route("/imports", methods=["POST"])
@blp.doc(
    summary="Upload an equipment list (multipart: file, dry_run, options)",
    description="Form fields: `file` (.xlsx/.xlsm/.xls/.ods), `dry_run` (default true: only "
    "preview; the batch can be committed later), `create_facilities`, `decommission_missing`, "
    "`commit_valid_only`, `confirm_warnings`, `default_facility_id`, `mapping` (a JSON "
    "object {column title: field or null} for columns the file names its own way; "
    "remembered for the organization on commit), and for admins `organization` (BIN).",
)
@blp.response(201)
@blp.alt_response(
    422,
    description="The file cannot be read or the import is refused (`message`). When only the "
    "required columns (inventory number, name) are not recognised, the file is still stored: "
    "`batch` is its report (`id`, `missing_columns`, `ignored_columns`, `mapping`) and "
    "`preview_url` the page where its columns can be mapped by hand; until then the batch "
    "cannot be committed.",
)
@blp.alt_response(
    409,
    description="dry_run=false only: another import took an inventory number of the file "
    "meanwhile; nothing was stored, upload the file again.",
)
def upload_import():
    scope = _editable_scope()
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        abort_json(422, {"file": ["Приложите файл Excel (.xlsx, .xlsm, .xls или .ods)."]})
    org = _import_organization(scope)
    limits = limits_from_config(current_app.config)
    options = _import_options(request.form, org.id)
    dry_run = _flag(request.form, "dry_run", True)
    try:
        data = read_upload(upload.stream, limits)
    except FileRejected as err:
        abort_json(422, {"file": [err.message]}, err.message)
    try:
        if dry_run:
            batch, _plan = preview_batch(
                db.session, acting_user(), org, data, upload.filename, options, limits
            )
            counts = None
        else:
            batch, counts = import_now(
                db.session,
                acting_user(),
                org,
                data,
                upload.filename,
                options,
                _thresholds(),
                limits,
            )
        db.session.commit()
    except MissingColumns as err:
        db.session.rollback()
        batch = preview_unmapped_batch(
            db.session, acting_user(), org, data, upload.filename, options, err
        )
        db.session.commit()
        return _unmapped_answer(batch, err)
    except (FileRejected, ImportRefused) as err:
        db.session.rollback()
        abort_json(422, {"file": [err.message]}, err.message)
    except IntegrityError:
        _registry_changed_meanwhile()
    return report_json(batch, counts)


class ImportCommitSchema(Schema):
    """Options of a commit; each is false when left out."""

    create_facilities = fields.Boolean(
        load_default=False, metadata={"description": "Create the facilities the file names."}
    )
    decommission_missing = fields.Boolean(
        load_default=False,
        metadata={"description": "Decommission items of the file's facilities it no longer lists."},
    )
    commit_valid_only = fields.Boolean(
        load_default=False,
        metadata={"description": "Load the valid rows even if some rows are invalid."},
    )
    confirm_warnings = fields.Boolean(
        load_default=False,
        metadata={
            "description": "Load although the preview warned (`warnings`: the file's title "
            "names the BIN of another organization)."
        },
    )


def _json_object_or_no_body() -> None:
    """webargs reads an empty or non-JSON body as no body; here only no body at all is."""
    from flask_smorest import abort as smorest_abort

    # Content-Length too: a form body may have been read already (request.form)
    if request.content_length or request.get_data(cache=True):
        if not request.is_json:
            smorest_abort(
                415, message=_("Send the options as a JSON object, or send no body at all.")
            )
    elif request.is_json:
        smorest_abort(400, message=_("The JSON body is empty: send {} or no body at all."))


@blp.route("/imports/<int:batch_id>/commit", methods=["POST"])
@_checked_before_the_body(ImportBatch, "batch_id")
@blp.arguments(
    ImportCommitSchema,
    required=False,
    description="Optional: no body at all means every option false.",
)
@blp.response(200)
@blp.alt_response(
    409,
    description="Refused: the batch was committed already, has invalid rows or new facilities "
    "not allowed by the options, its required columns are not mapped, or the registry changed "
    "since the preview (`message` says which); nothing is stored.",
)
def commit_import(body: dict, batch_id: int):
    """Commit a previewed batch (JSON body: create_facilities, decommission_missing,
    commit_valid_only). Refused with 409 if the registry changed since the preview."""
    _json_object_or_no_body()
    batch = get_visible_or_404(db.session, ImportBatch, batch_id, current_scope())
    options = ImportOptions(**body)
    try:
        counts = commit_batch(
            db.session,
            acting_user(),
            batch,
            options,
            _thresholds(),
            limits_from_config(current_app.config),
        )
        db.session.commit()
    except (ImportRefused, FileRejected) as err:
        db.session.rollback()
        abort_json(409, {"batch": [err.message]}, err.message)
    except IntegrityError:
        _registry_changed_meanwhile()
    db.session.refresh(batch)
    return report_json(batch, counts)


@blp.route("/imports", methods=["GET"])
@blp.response(200)
def list_imports():
    stmt = scoped(ImportBatch, current_scope()).order_by(ImportBatch.created_at.desc()).limit(200)
    return [
        {
            "id": b.id,
            "status": b.status,
            "filename": b.filename,
            "created_at": b.created_at,
            "organization_id": b.organization_id,
            "counts": b.counts,
        }
        for b in db.session.execute(stmt).scalars()
    ]


@blp.route("/imports/<int:batch_id>", methods=["GET"])
@blp.response(200)
def get_import(batch_id: int):
    batch = get_visible_or_404(db.session, ImportBatch, batch_id, current_scope())
    return report_json(batch)


# ---------------------------------------------------------------------------- export


@blp.route("/equipment/exports", methods=["POST"])
@blp.response(202, JobSchema, headers={"Location": {"description": "the job", "schema": {}}})
def export_equipment():
    """Export the registry's filter (the query of ``GET /equipment``, without paging) to .xlsx
    as a background job: answers 202 with the job; poll ``GET /jobs/<id>`` until its
    ``status`` is ``done``, then download ``file.url``. The job runs with the caller's scope
    when it runs. The same request while its job is queued or running gives that job."""
    registry.RegistryQuery.from_args(request.args)  # a bad filter: 422 naming it, now
    job = enqueue_export(acting_user(), request.args, clock.today())
    return job_document(job), 202, {"Location": api_url(job)}

"""API of the Excel import: upload (preview or load at once), commit a previewed batch, the
history and a batch's report. Batches are looked up through the caller's scope: others'
ids answer 404."""

from __future__ import annotations

import json

from flask import current_app, jsonify, request, url_for
from flask_babel import gettext as _
from flask_smorest import abort as smorest_abort
from marshmallow import Schema, fields, validate
from sqlalchemy.exc import IntegrityError

from accounts.auth import acting_user, current_scope, editable_scope, editor_before_the_body
from accounts.models import Organization
from accounts.services import organization_by_bin
from core.access import get_visible_or_404, scoped
from core.api_blueprint import Blueprint
from core.extensions import db
from equipment.imports.batches import (
    REGISTRY_CHANGED,
    commit_batch,
    default_facility_of,
    import_now,
    limits_from_config,
    preview_batch,
    preview_unmapped_batch,
    report_json,
)
from equipment.imports.excel import FIELDS, FileRejected, MissingColumns, read_upload
from equipment.imports.models import ImportBatch
from equipment.imports.planner import ImportOptions
from equipment.imports.refused import DecommissionNotConfirmed, ImportRefused
from equipment.imports.revert import RevertRefused, discard_batch, revert_batch
from equipment.settings import wear_thresholds

blp = Blueprint("imports_api", __name__, url_prefix="/api/v1", description="Excel import")

TRUE_WORDS = ("1", "true", "yes", "on")
FALSE_WORDS = ("0", "false", "no", "off")


def abort_json(code: int, errors: dict, message: str | None = None):
    smorest_abort(code, errors={"json": errors}, message=message)


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
        confirm_decommission=_count(form, "confirm_decommission"),
        default_facility_id=default_facility,
        mapping=_column_mapping(form.get("mapping")),
    )


def _count(form, name: str) -> int | None:
    """A number of items (``confirm_decommission``): blank for none, else a whole number."""
    raw = (form.get(name) or "").strip()
    if not raw:
        return None
    if not (raw.isdecimal() and len(raw) <= 9):
        abort_json(422, {name: [_("Expected a whole number, not «%(value)s».", value=raw[:40])]})
    return int(raw)


def _decommission_refused(err: DecommissionNotConfirmed):
    """422 naming ``confirm_decommission``: nothing was stored."""
    db.session.rollback()
    abort_json(422, {"confirm_decommission": [err.message]}, err.message)


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
        message = _(
            "Expected a JSON object {column title: field or null}; fields: %(fields)s.",
            fields=", ".join(FIELDS),
        )
        abort_json(422, {"mapping": [message]})
    return mapping


def _import_organization(scope):
    """Engineers import into their organization; admins name one by ``organization`` (BIN)."""
    if scope.organization_id is not None:
        return db.session.get(Organization, scope.organization_id)
    org = organization_by_bin(db.session, request.form.get("organization"))
    if org is None:
        abort_json(
            422, {"organization": [_("Give the BIN of the organization whose list this is.")]}
        )
    return org


def _registry_changed_meanwhile():
    """Another commit took an inventory number after the plan was checked: nothing stored."""
    db.session.rollback()
    message = str(REGISTRY_CHANGED)
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
    "`commit_valid_only`, `confirm_warnings`, `confirm_decommission` (with "
    "`decommission_missing` and dry_run=false: the number of items it will decommission, "
    "`missing` of the preview; any other number is refused), `default_facility_id`, "
    "`mapping` (a JSON "
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
    scope = editable_scope()
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        abort_json(422, {"file": [_("Attach an Excel file (.xlsx, .xlsm, .xls or .ods).")]})
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
                wear_thresholds(),
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
    except DecommissionNotConfirmed as err:
        _decommission_refused(err)
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
        metadata={
            "description": "Decommission items of the file's facilities it no longer lists; "
            "needs `confirm_decommission`."
        },
    )
    confirm_decommission = fields.Integer(
        load_default=None,
        allow_none=True,
        validate=validate.Range(min=0, max=999_999_999),
        metadata={
            "description": "With `decommission_missing`: the number of items it will "
            "decommission (`missing` of the preview). Without it, or with another number "
            "(a typo, or the registry changed since the preview), the commit is refused "
            "with 422 naming this field; nothing changes."
        },
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
    # Content-Length too: a form body may have been read already (request.form)
    if request.content_length or request.get_data(cache=True):
        if not request.is_json:
            smorest_abort(
                415, message=_("Send the options as a JSON object, or send no body at all.")
            )
    elif request.is_json:
        smorest_abort(400, message=_("The JSON body is empty: send {} or no body at all."))


@blp.route("/imports/<int:batch_id>/commit", methods=["POST"])
@editor_before_the_body(ImportBatch, "batch_id")
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
            wear_thresholds(),
            limits_from_config(current_app.config),
        )
        db.session.commit()
    except DecommissionNotConfirmed as err:
        _decommission_refused(err)
    except (ImportRefused, FileRejected) as err:
        db.session.rollback()
        abort_json(409, {"batch": [err.message]}, err.message)
    except IntegrityError:
        _registry_changed_meanwhile()
    db.session.refresh(batch)
    return report_json(batch, counts)


class RevertedSchema(Schema):
    removed = fields.Integer(metadata={"description": "Items the batch created, removed."})
    restored = fields.Integer(
        metadata={"description": "Items the batch updated, their fields given back."}
    )
    recommissioned = fields.Integer(
        metadata={"description": "Items the batch decommissioned, their status given back."}
    )
    facilities_removed = fields.Integer(
        metadata={"description": "Facilities the batch created, removed."}
    )


class ImportBatchSchema(Schema):
    """A batch after a revert or a discard."""

    id = fields.Integer()
    status = fields.String(
        metadata={
            "description": "previewed, committing, committed, reverted, discarded or superseded."
        }
    )
    filename = fields.String()
    sha256 = fields.String()
    rows = fields.Integer()
    created = fields.Integer()
    updated = fields.Integer()
    unchanged = fields.Integer()
    invalid = fields.Integer()
    missing = fields.Integer()
    decommissioned = fields.Integer()
    reverted = fields.Nested(
        RevertedSchema, metadata={"description": "What the revert did (revert only)."}
    )


class RevertBlockerSchema(Schema):
    entity_type = fields.String(metadata={"description": "equipment or facilities."})
    entity_id = fields.Integer()
    item = fields.String(metadata={"description": "Inventory number — name (or code — name)."})
    action = fields.String(metadata={"description": "The audit action of the later change."})
    fields_ = fields.List(
        fields.String(), data_key="fields", metadata={"description": "Fields it changed."}
    )
    by = fields.String(allow_none=True, metadata={"description": "Who changed it (e-mail)."})
    at = fields.DateTime(allow_none=True, metadata={"description": "When."})


class RevertConflictSchema(Schema):
    code = fields.Integer()
    status = fields.String()
    message = fields.String()
    changes = fields.List(
        fields.Nested(RevertBlockerSchema),
        metadata={"description": "What changed since the batch, on what it touched."},
    )


def _batch_answer(batch: ImportBatch, reverted: dict | None = None) -> dict:
    db.session.refresh(batch)
    answer = report_json(batch)
    if reverted is not None:
        answer["reverted"] = reverted
    return answer


@blp.route("/imports/<int:batch_id>/revert", methods=["POST"])
@editor_before_the_body(ImportBatch, "batch_id")
@blp.response(200, ImportBatchSchema)
@blp.alt_response(
    409,
    schema=RevertConflictSchema,
    description="Refused, nothing changed: something the batch touched changed since "
    "(`changes` lists each item, what, who and when), or the batch is not a committed one "
    "(`changes` empty).",
)
def revert_import(batch_id: int):
    """Revert a committed batch: the items it created removed, the fields it updated and the
    statuses it decommissioned given back, in one transaction, recorded in the audit trail.
    The organization's engineers and administrators only (regulators: 403)."""
    _json_object_or_no_body()
    batch = get_visible_or_404(db.session, ImportBatch, batch_id, current_scope())
    try:
        counts = revert_batch(db.session, acting_user(), batch, wear_thresholds())
        db.session.commit()
    except RevertRefused as err:
        db.session.rollback()
        body = {
            "code": 409,
            "status": "Conflict",
            "message": err.message,
            "changes": [b.as_json() for b in err.blockers],
        }
        response = jsonify(body)
        response.status_code = 409
        return response
    return _batch_answer(batch, counts)


@blp.route("/imports/<int:batch_id>/discard", methods=["POST"])
@editor_before_the_body(ImportBatch, "batch_id")
@blp.response(200, ImportBatchSchema)
@blp.alt_response(409, description="Refused: only a previewed batch can be discarded.")
def discard_import(batch_id: int):
    """Discard a previewed batch: its stored file and parse are deleted, it can no longer be
    committed; the registry does not change."""
    _json_object_or_no_body()
    batch = get_visible_or_404(db.session, ImportBatch, batch_id, current_scope())
    try:
        discard_batch(db.session, batch)
        db.session.commit()
    except ImportRefused as err:
        db.session.rollback()
        abort_json(409, {"batch": [err.message]}, err.message)
    return _batch_answer(batch)


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

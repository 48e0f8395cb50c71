"""API of the Excel import: upload (preview or load at once), commit a previewed batch, the
history and a batch's report. Batches are looked up through the caller's scope: others'
ids answer 404."""

from __future__ import annotations

import json

from flask import current_app, jsonify, request, url_for
from flask_babel import gettext as _
from flask_smorest import abort as smorest_abort
from marshmallow import Schema, fields
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
from equipment.imports.refused import ImportRefused
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

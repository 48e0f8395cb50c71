"""Import batches: preview (a plan stored with its file), commit, import in one go, dry run;
the column mappings remembered per organization; a batch's report for the API and the CLI.

``commit_batch`` plans again, from the file as the preview parsed it
(``equipment.imports.excel.snapshot``) against the registry as it is then, and applies the plan only
if it is still exactly the previewed one."""

from __future__ import annotations

import hashlib

from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from core.db import claim, utcnow
from core.memory import paused_gc
from equipment.imports.apply import apply_plan, check_can_apply
from equipment.imports.excel import (
    Limits,
    Message,
    MissingColumns,
    ParseResult,
    parse_asset_list,
    snapshot,
)
from equipment.imports.matching import _Facilities
from equipment.imports.models import ColumnMapping, ImportBatch, ImportStatus
from equipment.imports.planner import ImportOptions, ImportPlan, plan_parsed, read_and_plan
from equipment.imports.refused import ImportRefused
from equipment.services import lock_registry

# what the pages, the API and the CLI say when another commit took an inventory number of
# the file after its plan was checked (the unique key refused the insert): nothing is stored
REGISTRY_CHANGED = _l("The registry changed while the file was being loaded. Upload it again.")


def limits_from_config(config) -> Limits:
    return Limits(max_bytes=config["IMPORT_MAX_BYTES"], max_rows=config["IMPORT_MAX_ROWS"])


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def default_facility_of(session: Session, organization_id: int, raw) -> int | None:
    """The facility chosen for rows that name none: blank for none, else the id of one of the
    organization's facilities. Raises ImportRefused for anything else."""
    text = "" if raw is None else str(raw).strip()
    if not text:
        return None
    facility_id = int(text) if text.isdecimal() and len(text) <= 10 else None
    if facility_id is None or facility_id not in _Facilities(session, organization_id).ids:
        raise ImportRefused(
            _l(
                "The default facility «%(value)s» is not one of the organization's facilities: "
                "choose a facility from the list or leave the field blank.",
                value=text[:40],
            )
        )
    return facility_id


def remembered_mapping(session: Session, organization_id: int) -> dict | None:
    row = session.execute(
        select(ColumnMapping.mapping).where(ColumnMapping.organization_id == organization_id)
    ).scalar_one_or_none()
    return row or None


def _remember_mapping(session: Session, organization_id: int, mapping: dict) -> None:
    row = session.execute(
        select(ColumnMapping).where(ColumnMapping.organization_id == organization_id)
    ).scalar_one_or_none()
    if row is None:
        session.add(ColumnMapping(organization_id=organization_id, mapping=mapping))
    else:
        row.mapping = mapping


def _plan_upload(session, organization, data, filename, options, limits):
    """Read and plan an upload, with the organization's remembered mapping unless the
    options name one."""
    if options.mapping is None:
        options.mapping = remembered_mapping(session, organization.id)
    return read_and_plan(session, organization.id, data, filename, options, limits)


def _new_batch(organization, actor, data: bytes, filename: str, options, **fields) -> ImportBatch:
    """A stored upload: the original file and who sent it, with the plan's ``fields``."""
    return ImportBatch(
        organization_id=organization.id,
        user_id=getattr(actor, "id", None),
        filename=filename[:255] or "file.xlsx",
        sha256=sha256(data),
        size=len(data),
        content=data,
        options=options.as_dict(),
        **fields,
    )


def preview_batch(
    session: Session,
    actor,
    organization,
    data: bytes,
    filename: str,
    options: ImportOptions,
    limits: Limits | None = None,
) -> tuple[ImportBatch, ImportPlan]:
    """Dry run: plan the change and store the batch (file included) as previewed."""
    with paused_gc():
        parsed, plan = _plan_upload(session, organization, data, filename, options, limits)
        batch = _new_batch(
            organization,
            actor,
            data,
            filename,
            options,
            parsed=snapshot.dump(parsed),
            plan_digest=plan.digest(),
            counts=plan.counts(),
            report=plan.report(),
        )
        del parsed
        session.add(batch)
        session.flush()
    return batch, plan


def preview_unmapped_batch(
    session: Session,
    actor,
    organization,
    data: bytes,
    filename: str,
    options: ImportOptions,
    rejected: MissingColumns,
) -> ImportBatch:
    """Store a file whose required columns were not recognised, with the header that was found,
    so the columns can be mapped by hand on its preview. It cannot be committed as it is: the
    commit reads the file again with the same mapping and is refused with the same message."""
    header = rejected.header
    counts = dict.fromkeys(
        ("rows", "created", "updated", "unchanged", "invalid", "missing", "new_facilities"), 0
    )
    batch = _new_batch(
        organization,
        actor,
        data,
        filename,
        options,
        plan_digest=None,
        counts=counts,
        report={
            "sheet": rejected.sheet_name,
            "header_row": header.header_row,
            "mapping": header.mapping,
            "ignored_columns": list(header.ignored),
            "counts": counts,
            "errors": [],
            "changes": [],
            "missing": [],
            "new_facilities": [],
            "missing_columns": list(rejected.missing),
            "message": rejected.message,
        },
    )
    session.add(batch)
    session.flush()
    return batch


def commit_batch(
    session: Session,
    actor,
    batch: ImportBatch,
    options: ImportOptions,
    thresholds_config,
    limits: Limits | None = None,
) -> dict[str, int]:
    """Apply a previewed batch exactly as previewed, in the caller's transaction.

    The organization's registry lock comes first (``lock_registry``): a second commit of the
    same organization waits for the first, then plans against what the first committed, so
    its digest check refuses a plan that the first one moved (and no audit «before» is stale).
    The batch itself is claimed (previewed → committing): a batch is committed once."""
    lock_registry(session, batch.organization_id)
    previewed = {"status": ImportStatus.PREVIEWED}
    if not claim(session, ImportBatch, batch.id, previewed, status=ImportStatus.COMMITTING):
        raise ImportRefused(_l("This file has been loaded already or is being loaded now."))
    stored = ImportOptions.from_dict(batch.options)
    options.mapping = stored.mapping
    options.default_facility_id = stored.default_facility_id
    with paused_gc():
        plan = plan_parsed(
            session, batch.organization_id, _parsed_of(batch, options, limits), options
        )
        if plan.digest() != batch.plan_digest:
            raise ImportRefused(
                _l(
                    "The registry changed after the preview (someone edited the equipment or "
                    "loaded another file). Upload the file again and check the changes."
                )
            )
        counts = apply_plan(
            session, actor, batch.organization, plan, options, thresholds_config, batch.id
        )
        mapped = bool(plan.mapping)
        del plan
    session.execute(
        update(ImportBatch)
        .where(ImportBatch.id == batch.id)
        .values(
            status=ImportStatus.COMMITTED,
            committed_at=utcnow(),
            counts=counts,
            options=options.as_dict(),
            parsed=None,
        )
        .execution_options(synchronize_session=False)
    )
    if mapped and stored.mapping:
        _remember_mapping(session, batch.organization_id, stored.mapping)
    return counts


def _parsed_of(batch: ImportBatch, options: ImportOptions, limits: Limits | None) -> ParseResult:
    """The batch's file as the preview parsed it: from its stored snapshot, or read again
    (a batch previewed before snapshots were kept, or a snapshot that does not load)."""
    if batch.parsed is not None:
        try:
            return snapshot.load(batch.parsed)
        except ValueError:
            pass  # read the file again: the digest still guards the plan
    return parse_asset_list(
        batch.content, batch.filename, limits=limits or Limits(), mapping=options.mapping
    )


def import_now(
    session: Session,
    actor,
    organization,
    data: bytes,
    filename: str,
    options: ImportOptions,
    thresholds_config,
    limits: Limits | None = None,
) -> tuple[ImportBatch, dict[str, int]]:
    """Preview and commit in one go (CLI and API without a dry run)."""
    commit_options = ImportOptions(
        create_facilities=options.create_facilities,
        decommission_missing=options.decommission_missing,
        commit_valid_only=options.commit_valid_only,
        confirm_warnings=options.confirm_warnings,
        confirm_decommission=options.confirm_decommission,
    )
    batch, plan = preview_batch(session, actor, organization, data, filename, options, limits)
    check_can_apply(plan, commit_options)
    counts = commit_batch(session, actor, batch, commit_options, thresholds_config, limits)
    return batch, counts


def dry_run_batch(
    session: Session,
    organization,
    data: bytes,
    filename: str,
    options: ImportOptions,
    limits: Limits | None = None,
) -> tuple[ImportBatch, dict[str, int]]:
    """Plan only; the returned batch is not stored (nothing is written)."""
    with paused_gc():
        _parsed, plan = _plan_upload(session, organization, data, filename, options, limits)
    batch = ImportBatch(
        status=ImportStatus.DRY_RUN,
        filename=filename,
        sha256=sha256(data),
        size=len(data),
        organization_id=organization.id,
        counts=plan.counts(),
        report=plan.report(),
    )
    return batch, plan.counts()


def rendered_errors(report: dict) -> list[dict]:
    """The stored row errors with each message in the current locale (the stored ``message_id``
    rendered again; ``message`` as stored for reports older than it), without the id."""
    return [
        {k: v for k, v in e.items() if k != "message_id"}
        | ({"message": str(Message.from_json(e["message_id"]))} if "message_id" in e else {})
        for e in report.get("errors", [])
    ]


def report_json(batch: ImportBatch, counts: dict | None = None) -> dict:
    """The report of a batch for the API and the CLI's --json."""
    report = batch.report or {}
    counts = counts or batch.counts or {}
    return {
        "id": batch.id,
        "status": batch.status,
        "filename": batch.filename,
        "sha256": batch.sha256,
        **{
            k: counts.get(k, 0)
            for k in ("rows", "created", "updated", "unchanged", "invalid", "missing")
        },
        "decommissioned": counts.get("decommissioned", 0),
        "new_facilities": report.get("new_facilities", []),
        "ignored_columns": report.get("ignored_columns", []),
        "missing_columns": report.get("missing_columns", []),
        "mapping": report.get("mapping", {}),
        "errors": rendered_errors(report),
        "changes": report.get("changes", []),
        "missing_items": report.get("missing", []),
        "new_facility_plan": report.get("new_facility_plan", []),
        "sheets": report.get("sheets", []),
        "skipped_rows": report.get("skipped_rows", []),
        "skipped_count": report.get("skipped_count", 0),
        "notes": report.get("notes", []),
        "warnings": report.get("warnings", []),
        "as_of": report.get("as_of"),
        "ignored_reasons": report.get("ignored_reasons", {}),
    }

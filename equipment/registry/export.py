"""The registry export: the equipment list's filter as .xlsx with today's indicators, in the
request when it is small, else as a background job (core.jobs) that the user follows on its
page.

A synchronous export of 100,000 rows takes about 28 s here, at gunicorn's default worker
timeout; above EXPORT_SYNC_MAX_ROWS the request only enqueues a job with the filter (the
query string) and the day, and ``flask worker`` writes the same file. The job runs as the
user who asked, with that user's scope when it runs: a user deactivated or moved meanwhile
gets what they may see then, or nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import IO

from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from werkzeug.datastructures import MultiDict

from accounts.models import User
from core.extensions import db
from core.jobs import Job, JobContext, JobRefused, enqueue, register_kind
from core.validation import ValidationFailed
from core.xlsx import CONTENT_TYPE, SheetWriter, finish, new_workbook
from equipment import glossary, labels
from equipment.registry.query import RegistryQuery, build, curve_of
from equipment.wear import indicators

KIND = "equipment.export"
# the list's paging and the page's language say nothing about which rows are exported
NOT_FILTERS = ("page", "per_page", "lang")
PROGRESS_EVERY = 1000  # rows between two progress reports of a background export


def register_job_kind(app) -> None:
    register_kind(
        app, KIND, run_export_job, _l("Registry export (.xlsx)"), _l("%(done)s of %(total)s rows")
    )


class ExportLabels:
    """Column titles and value labels of the registry export, in the user's language."""

    # the glossary's labels (equipment.glossary); the facility column holds its code
    TITLES = {
        "inventory_no": glossary.label("inventory_no"),
        "name": glossary.label("name"),
        "device_type": glossary.label("device_type"),
        "facility": glossary.label("facility_code"),
        "organization": glossary.label("organization"),
        "bin": glossary.label("bin"),
        "model": glossary.label("model"),
        "factory_no": glossary.label("factory_no"),
        "registration_no": glossary.label("registration_no"),
        "manufacture_year": glossary.label("manufacture_year"),
        "commissioned_on": glossary.label("commissioned_on"),
        "service_life_years": glossary.label("service_life_years"),
        # computed from the registry on the day of the export: titled so that the import
        # knows them as computed and never reads them back as data (a wear assessment…)
        "wear_pct": glossary.computed("wear_pct"),
        "band": glossary.computed("band"),
        "life_end": glossary.computed("life_end"),
        "next_inspection_due": glossary.computed("next_inspection_due"),
        "critical_on": glossary.computed("critical_on"),
        "flags": glossary.computed("flags"),
        "status": glossary.label("status"),
        "sheet": _l("Equipment"),
    }

    def get(self, key: str) -> str:
        return str(self.TITLES[key])

    @staticmethod
    def flag(name: str) -> str:
        return str(labels.FLAGS[name])

    @staticmethod
    def device_type(code) -> str:
        return str(labels.DEVICE_TYPES[code])

    @staticmethod
    def band(code) -> str:
        return str(labels.BANDS[code])

    @staticmethod
    def status(code) -> str:
        return str(labels.EQUIPMENT_STATUSES[code])


# (column, width): the workbook's columns in order
COLUMNS = (
    ("inventory_no", 16),
    ("name", 36),
    ("device_type", 24),
    ("facility", 14),
    ("organization", 30),
    ("bin", 14),
    ("model", 14),
    ("factory_no", 12),
    ("registration_no", 12),
    ("manufacture_year", 8),
    ("commissioned_on", 12),
    ("service_life_years", 9),
    ("wear_pct", 9),
    ("band", 18),
    ("life_end", 12),
    ("next_inspection_due", 12),
    ("critical_on", 12),
    ("flags", 40),
    ("status", 14),
)


def _row(item, as_of: date, titles: ExportLabels) -> tuple:
    """One item's cells, in the order of COLUMNS."""
    ind = indicators(curve_of(item), as_of)
    flags = [
        titles.flag(name)
        for name in ("critical", "life_expired", "inspection_overdue", "must_plan")
        if getattr(ind, name)
    ]
    return (
        item.inventory_no,
        item.name,
        titles.device_type(item.device_type),
        item.facility.code,
        item.facility.organization.name,
        item.facility.organization.bin,  # text: 12 digits with leading zeros
        item.model,
        item.factory_no,
        item.registration_no,
        item.manufacture_year,
        item.commissioned_on,
        item.service_life_years,
        None if ind.wear_pct is None else round(ind.wear_pct, 1),
        titles.band(ind.band),
        ind.life_end,
        ind.next_inspection_due,
        ind.critical_forecast,
        ", ".join(flags),
        titles.status(item.status),
    )


def export_registry(
    session,
    statement,
    as_of: date,
    titles: ExportLabels,
    out: IO[bytes] | None = None,
    progress: Callable[[int], None] | None = None,
) -> IO[bytes]:
    """The equipment of ``statement`` (already filtered and scoped) with today's indicators,
    titled by ``titles``, into ``out`` or a temporary file; ``progress(rows written)`` every
    PROGRESS_EVERY rows and once at the end (a background job reports and beats with it)."""
    workbook, out = new_workbook(out)
    sheet = SheetWriter(
        workbook,
        titles.get("sheet"),
        [titles.get(name) for name, _width in COLUMNS],
        [width for _name, width in COLUMNS],
    )
    for item in session.scalars(statement.execution_options(yield_per=2000)):
        sheet.write_row(_row(item, as_of, titles))
        if progress is not None and (sheet.row - 1) % PROGRESS_EVERY == 0:
            progress(sheet.row - 1)
    sheet.ws.autofilter(0, 0, max(sheet.row - 1, 1), len(COLUMNS) - 1)
    if progress is not None:
        progress(sheet.row - 1)  # every row is written
    return finish(workbook, out)


def download_name(as_of: date) -> str:
    return f"реестр-ТУ-{as_of:%Y-%m-%d}.xlsx"


def parameters_of(args: MultiDict, as_of: date) -> dict:
    """What the job needs to export the same rows: the filter as given, and the day."""
    pairs = [[k, v] for k, v in args.items(multi=True) if k not in NOT_FILTERS]
    return {"args": pairs, "as_of": as_of.isoformat()}


def enqueue_export(user, args: MultiDict, as_of: date) -> Job:
    job = enqueue(db.session, KIND, parameters_of(args, as_of), user, str(get_locale()))
    db.session.commit()
    return job


def run_export_job(job: Job, context: JobContext):
    """The worker's side: the file of the filter, as its asker may see the registry now."""
    user = db.session.get(User, job.requested_by_id)
    if user is None or not user.active:
        raise JobRefused(_("The account that asked for this export is no longer active."))
    try:
        query = RegistryQuery.from_args(MultiDict(job.parameters["args"]), for_people=True)
    except ValidationFailed as err:  # checked when asked; only a changed app gets here
        raise JobRefused("; ".join(f"{k}: {v}" for k, v in err.as_strings().items())) from err
    as_of = date.fromisoformat(job.parameters["as_of"])
    statement, count = build(query, user.scope, as_of, paged=False)
    total = db.session.scalar(count)
    context.progress(0, total, force=True)
    path = context.directory / "export.xlsx"
    written = 0

    def report(rows: int) -> None:
        nonlocal written
        written = rows
        context.progress(rows, max(total, rows))

    with open(path, "wb") as out:
        export_registry(db.session, statement, as_of, ExportLabels(), out, report)
    # the registry may have changed between the count and the last row: the file's rows count
    context.progress(written, written, force=True)
    return context.result(path, download_name(as_of), CONTENT_TYPE)

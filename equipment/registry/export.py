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
from sqlalchemy import func, select
from werkzeug.datastructures import MultiDict

from accounts.models import User
from core.extensions import db
from core.jobs import Job, JobContext, JobRefused, enqueue, register_kind
from core.validation import ValidationFailed
from core.xlsx import CONTENT_TYPE, SheetWriter, finish, new_workbook
from equipment import glossary, labels
from equipment.catalog import InspectionKind
from equipment.models import ConditionAssessment, Equipment, Inspection
from equipment.registry.describe import filter_text
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
        "facility_name": glossary.label("facility_name"),
        "organization": glossary.label("organization"),
        "bin": glossary.label("bin"),
        "region": glossary.label("region"),
        "model": glossary.label("model"),
        "manufacturer": glossary.label("manufacturer"),
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
        # the registry's own records: the latest of each (not read back by the import either)
        "last_examined_on": glossary.recorded("last_examined_on"),
        "last_assessed_on": glossary.recorded("last_assessed_on"),
        "critical_on": glossary.computed("critical_on"),
        "flags": glossary.computed("flags"),
        "status": glossary.label("status"),
        "sheet": _l("Equipment"),
        "title": _l("Registry of technical devices of hazardous production facilities"),
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


# (column, width): the workbook's columns in order (a user may choose some: ``columns``)
COLUMNS = (
    ("inventory_no", 16),
    ("name", 36),
    ("device_type", 24),
    ("facility", 14),
    ("organization", 30),
    ("bin", 14),
    ("facility_name", 30),
    ("region", 22),
    ("model", 14),
    ("manufacturer", 24),
    ("factory_no", 12),
    ("registration_no", 12),
    ("manufacture_year", 8),
    ("commissioned_on", 12),
    ("service_life_years", 9),
    ("wear_pct", 9),
    ("band", 18),
    ("life_end", 12),
    ("next_inspection_due", 12),
    ("last_examined_on", 12),
    ("last_assessed_on", 12),
    ("critical_on", 12),
    ("flags", 40),
    ("status", 14),
)


COLUMN_KEYS = tuple(name for name, _width in COLUMNS)
LAST_DATES = ("last_examined_on", "last_assessed_on")  # joined only when chosen


def parse_columns(args, for_people: bool = False) -> list[str]:
    """The ``columns`` chosen (repeated, or separated by commas), in the workbook's order;
    none: every column. An unknown one raises ValidationFailed naming it."""
    raw = args.getlist("columns") if hasattr(args, "getlist") else args.get("columns") or []
    if isinstance(raw, str):
        raw = [raw]
    names = [n.strip() for chunk in raw for n in str(chunk).split(",") if n.strip()]
    if not names:
        return list(COLUMN_KEYS)
    bad = [n for n in names if n not in COLUMN_KEYS]
    if bad:
        titles = ExportLabels()
        allowed = ", ".join(titles.get(k) if for_people else k for k in COLUMN_KEYS)
        raise ValidationFailed(
            {
                "columns": _l(
                    "Unknown column «%(value)s»; expected one of: %(allowed)s.",
                    value=bad[0],
                    allowed=allowed,
                )
            }
        )
    return [k for k in COLUMN_KEYS if k in names]


def _whole(value):
    """20.0 as 20: a service life in whole years reads as the user typed it."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


def _row(item, last: dict, as_of: date, titles: ExportLabels, locale: str) -> dict:
    """One item's cells by column."""
    ind = indicators(curve_of(item), as_of)
    flags = [
        titles.flag(name)
        for name in ("critical", "life_expired", "inspection_overdue", "must_plan")
        if getattr(ind, name)
    ]
    facility = item.facility
    return {
        "inventory_no": item.inventory_no,
        "name": item.name,
        "device_type": titles.device_type(item.device_type),
        "facility": facility.code,
        "facility_name": facility.name,
        "organization": facility.organization.name,
        "bin": facility.organization.bin,  # text: 12 digits with leading zeros
        "region": facility.region.name(locale),
        "model": item.model,
        "manufacturer": item.manufacturer,
        "factory_no": item.factory_no,
        "registration_no": item.registration_no,
        "manufacture_year": item.manufacture_year,
        "commissioned_on": item.commissioned_on,
        "service_life_years": _whole(item.service_life_years),
        "wear_pct": None if ind.wear_pct is None else round(ind.wear_pct, 1),
        "band": titles.band(ind.band),
        "life_end": ind.life_end,
        "next_inspection_due": ind.next_inspection_due,
        "last_examined_on": last.get("last_examined_on"),
        "last_assessed_on": last.get("last_assessed_on"),
        "critical_on": ind.critical_forecast,
        "flags": ", ".join(flags),
        "status": titles.status(item.status),
    }


def _with_last_dates(statement, columns: list[str]):
    """The statement with each item's latest examination and assessment dates (one grouped
    subquery each, joined), when those columns are chosen."""
    wanted = [c for c in LAST_DATES if c in columns]
    if not wanted:
        return statement, []
    subqueries = {
        "last_examined_on": select(
            Inspection.equipment_id.label("equipment_id"), func.max(Inspection.done_on).label("d")
        )
        .where(Inspection.kind == InspectionKind.EXAMINATION)
        .group_by(Inspection.equipment_id),
        "last_assessed_on": select(
            ConditionAssessment.equipment_id.label("equipment_id"),
            func.max(ConditionAssessment.assessed_on).label("d"),
        ).group_by(ConditionAssessment.equipment_id),
    }
    for name in wanted:
        sub = subqueries[name].subquery(name)
        statement = statement.outerjoin(sub, sub.c.equipment_id == Equipment.id).add_columns(
            sub.c.d.label(name)
        )
    return statement, wanted


def title_lines(titles: ExportLabels, as_of: date, filter_description: str) -> list[str]:
    """The rows above the header: what the file is, on which day, and the filter."""
    return [
        _("%(what)s as of %(d)s", what=titles.get("title"), d=f"{as_of:%d.%m.%Y}"),
        _("Filter: %(f)s", f=filter_description),
    ]


def export_registry(
    session,
    statement,
    as_of: date,
    titles: ExportLabels,
    out: IO[bytes] | None = None,
    progress: Callable[[int], None] | None = None,
    columns: list[str] | None = None,
    title: list[str] = (),
) -> IO[bytes]:
    """The equipment of ``statement`` (already filtered and scoped) with today's indicators,
    titled by ``titles``, its ``columns`` (default: all) under the ``title`` rows, into
    ``out`` or a temporary file; ``progress(rows written)`` every PROGRESS_EVERY rows and
    once at the end (a background job reports and beats with it)."""
    columns = list(columns or COLUMN_KEYS)
    widths = dict(COLUMNS)
    workbook, out = new_workbook(out)
    sheet = SheetWriter(
        workbook,
        titles.get("sheet"),
        [titles.get(name) for name in columns],
        [widths[name] for name in columns],
        title_lines=title,
    )
    statement, joined = _with_last_dates(statement, columns)
    locale = str(get_locale())
    first = sheet.row
    for row in session.execute(statement.execution_options(yield_per=2000)):
        item = row[0]
        last = dict(zip(joined, row[1:], strict=True))
        cells = _row(item, last, as_of, titles, locale)
        sheet.write_row(cells[name] for name in columns)
        if progress is not None and (sheet.row - first) % PROGRESS_EVERY == 0:
            progress(sheet.row - first)
    sheet.ws.autofilter(
        sheet.header_row, 0, max(sheet.row - 1, sheet.header_row + 1), len(columns) - 1
    )
    if progress is not None:
        progress(sheet.row - first)  # every row is written
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
    try:
        columns = parse_columns(MultiDict(job.parameters["args"]), for_people=True)
    except ValidationFailed as err:
        raise JobRefused("; ".join(f"{k}: {v}" for k, v in err.as_strings().items())) from err
    as_of = date.fromisoformat(job.parameters["as_of"])
    statement, count = build(query, user.scope, as_of, paged=False)
    title = title_lines(ExportLabels(), as_of, filter_text(db.session, query, user.scope))
    total = db.session.scalar(count)
    context.progress(0, total, force=True)
    path = context.directory / "export.xlsx"
    written = 0

    def report(rows: int) -> None:
        nonlocal written
        written = rows
        context.progress(rows, max(total, rows))

    with open(path, "wb") as out:
        export_registry(db.session, statement, as_of, ExportLabels(), out, report, columns, title)
    # the registry may have changed between the count and the last row: the file's rows count
    context.progress(written, written, force=True)
    return context.result(path, download_name(as_of), CONTENT_TYPE)

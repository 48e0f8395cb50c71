"""The equipment list page and its export (endpoints ``equipment.registry.*``; nested in the
equipment blueprint, whose login check and template labels apply)."""

from __future__ import annotations

from dataclasses import dataclass

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_login import current_user
from markupsafe import Markup

from accounts.auth import current_scope
from core import clock
from core.extensions import db
from core.template_helpers import fmt_date, fmt_number
from core.validation import ValidationFailed
from core.xlsx import CONTENT_TYPE
from equipment import labels
from equipment.models import Equipment
from equipment.registry import deadlines
from equipment.registry.counts import any_equipment
from equipment.registry.describe import filter_text
from equipment.registry.export import (
    COLUMN_KEYS,
    ExportLabels,
    download_name,
    enqueue_export,
    export_registry,
    parse_columns,
    title_lines,
)
from equipment.registry.query import (
    RegistryQuery,
    build,
    curve_of,
    facility_choices,
    fetch_page,
    organization_choices,
    region_choices,
)
from equipment.search import SEARCHED, matched_field
from equipment.wear import indicators

bp = Blueprint("registry", __name__)


@dataclass(frozen=True, slots=True)
class ListRow:
    """One line of the list with its computed cells already formatted: the template only
    places them. A macro call per cell (the band, the flags) and a number format per row
    were about half of the page's rendering time."""

    item: Equipment
    wear: str
    band: Markup
    life_end: str
    next_inspection_due: Markup  # in its deadline state (_ui.due_badge): overdue is red
    critical_on: str
    flags: Markup
    matched: str | None = None  # a search: the field it found the item by (labels key)


def list_rows(items, today, q: str = "") -> list[ListRow]:
    """The page's rows. The band and the flags are rendered by the same macros as on the
    card, once per distinct value (a handful per page) instead of once per row."""
    macros = current_app.jinja_env.get_template("equipment/_macros.html").make_module(
        {"labels": labels.for_templates()}
    )
    ui = current_app.jinja_env.get_template("_ui.html").make_module({})
    bands: dict = {}
    flag_sets: dict = {}
    dues: dict = {}
    rows = []
    for item in items:
        ind = indicators(curve_of(item), today)
        if ind.band not in bands:
            bands[ind.band] = macros.band(ind, short=True)
        flags = (ind.critical, ind.life_expired, ind.must_plan, ind.warning, ind.inspection_overdue)
        if flags not in flag_sets:
            flag_sets[flags] = macros.flags(ind, short=True)
        if ind.next_inspection_due not in dues:
            dues[ind.next_inspection_due] = ui.due_badge(ind.next_inspection_due, today, short=True)
        rows.append(
            ListRow(
                item=item,
                wear=fmt_number(ind.wear_pct, 1, fixed=True),
                band=bands[ind.band],
                life_end=fmt_date(ind.life_end),
                next_inspection_due=dues[ind.next_inspection_due],
                critical_on=fmt_date(ind.critical_forecast),
                flags=flag_sets[flags],
                matched=matched_field(
                    {name: getattr(item, name) for name in SEARCHED}, q, item.facility.code
                )
                if q
                else None,
            )
        )
    return rows


def _query_or_flash(**options) -> RegistryQuery | None:
    """The list's query from the request, or None with each bad field flashed (by the name
    the page gives it)."""
    try:
        return RegistryQuery.from_args(request.args, for_people=True, **options)
    except ValidationFailed as err:
        for name, message in err.as_strings().items():
            flash(f"{labels.LIST_ARGS.get(name, name)}: {message}", "error")
        return None


@bp.get("/equipment")
def index():
    scope = current_scope()
    page_size = current_app.config["PAGE_SIZE"]
    query = _query_or_flash(
        max_per_page=current_app.config["MAX_PAGE_SIZE"], default_per_page=page_size
    ) or RegistryQuery(per_page=page_size)
    today = clock.today()
    items, total = fetch_page(db.session, query, scope, today)
    rows = list_rows(items, today, query.q)
    # region -> organization -> facility: each list holds what the choices before it allow
    regions = region_choices(db.session, scope)
    organizations = organization_choices(db.session, scope, query.region_id)
    facilities = facility_choices(db.session, scope, query.region_id, query.organization_id)
    all_organizations = organizations
    if query.region_id:
        all_organizations = organization_choices(db.session, scope)
    return render_template(
        "equipment/list.html",
        rows=rows,
        total=total,
        query=query,
        pages=max(1, -(-total // query.per_page)),
        facilities=facilities,
        organizations=organizations,
        regions=regions,
        # who sees several operators (regulators, admins) needs to tell whose a row is
        show_organization=len(all_organizations) > 1,
        # the national users (admins, national regulators) see the whole country
        show_region=scope.everything,
        today=today,
        # an empty list without a filter: say there is no equipment yet, and how to add it
        registry_empty=total == 0
        and not query.has_filter()
        and not any_equipment(db.session, scope),
        has_facilities=bool(facilities),
        can_edit=scope.can_edit_registry,
        filter_text=filter_text(db.session, query, scope),
        export_columns=[(key, ExportLabels().get(key)) for key in COLUMN_KEYS],
    )


@bp.get("/equipment/export.xlsx")
def export():
    """The filter's rows as .xlsx: in this request up to EXPORT_SYNC_MAX_ROWS rows, else as a
    background job whose page the user is sent to (a large export would outlast the web
    worker's timeout)."""
    query = _query_or_flash()
    try:
        columns = parse_columns(request.args, for_people=True)
    except ValidationFailed as err:
        flash(f"{labels.LIST_ARGS['columns']}: {err.as_strings()['columns']}", "error")
        columns = None
    if query is None or columns is None:
        return redirect(url_for("equipment.registry.index", **(query.as_args() if query else {})))
    today = clock.today()
    scope = current_scope()
    statement, count = build(query, scope, today, paged=False)
    if db.session.scalar(count) > current_app.config["EXPORT_SYNC_MAX_ROWS"]:
        job = enqueue_export(current_user, request.args, today)
        return redirect(url_for("jobs.job_page", job_id=job.id))
    titles = ExportLabels()
    title = title_lines(titles, today, filter_text(db.session, query, scope))
    out = export_registry(db.session, statement, today, titles, columns=columns, title=title)
    return send_file(
        out, download_name=download_name(today), as_attachment=True, mimetype=CONTENT_TYPE
    )


@bp.get("/equipment/deadlines")
def deadlines_page():
    """What falls due in 30 / 60 / 90 days and what is overdue, per deadline kind, and the
    items with no examination recorded; each count links to the list filtered alike."""
    scope = current_scope()
    today = clock.today()
    where = deadlines.visible(scope)
    counts = deadlines.summary(db.session, where, today)
    nearest = {kind: deadlines.nearest(db.session, where, kind, today) for kind in counts}
    return render_template(
        "equipment/deadlines.html",
        counts=counts,
        nearest=nearest,
        horizons=deadlines.HORIZONS,
        today=today,
    )

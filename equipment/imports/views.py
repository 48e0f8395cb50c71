"""The import pages: upload with preview, the columns mapped by hand, commit, history, the
original file, the failed rows and the template. Nested in the equipment blueprint (its
login check applies): endpoints equipment.imports.*"""

from __future__ import annotations

import io

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from markupsafe import escape
from sqlalchemy.exc import IntegrityError

from accounts.auth import current_scope, editable_scope
from accounts.models import Organization
from core.access import get_visible_or_404, scoped
from core.extensions import db
from core.template_helpers import fmt_number
from core.xlsx import CONTENT_TYPE
from equipment import labels
from equipment.imports.batches import (
    REGISTRY_CHANGED,
    commit_batch,
    default_facility_of,
    limits_from_config,
    preview_batch,
    preview_unmapped_batch,
    rendered_errors,
)
from equipment.imports.excel import (
    FIELD_LABELS,
    FIELDS,
    FileRejected,
    Limits,
    MissingColumns,
    read_upload,
)
from equipment.imports.excel.headers import carries_no_field
from equipment.imports.failed_rows import added_columns, failed_rows_workbook
from equipment.imports.models import ImportBatch, ImportStatus
from equipment.imports.planner import ImportOptions, read_and_plan
from equipment.imports.refused import DecommissionNotConfirmed, ImportRefused
from equipment.imports.revert import (
    RevertRefused,
    discard_batch,
    revert_batch,
    revert_info,
)
from equipment.imports.template import import_template
from equipment.registry import query as registry
from equipment.settings import wear_thresholds

bp = Blueprint("imports", __name__, template_folder="templates")


IMPORT_STATUSES = {
    ImportStatus.PREVIEWED: _l("checked, not loaded"),
    ImportStatus.COMMITTING: _l("loading"),
    ImportStatus.COMMITTED: _l("loaded"),
    ImportStatus.SUPERSEDED: _l("re-checked with another mapping"),
    ImportStatus.REVERTED: _l("reverted"),
    ImportStatus.DISCARDED: _l("discarded, not loaded"),
}
MISSING_SHOWN = 500  # items of the decommission block's list, by facility


@bp.context_processor
def _statuses():
    return {"ImportStatus": ImportStatus, "import_status": lambda s: IMPORT_STATUSES.get(s, s)}


def import_limits() -> Limits:
    return limits_from_config(current_app.config)


def _upload_organizations() -> list[Organization]:
    scope = current_scope()
    if not scope.can_edit_registry:
        return []
    stmt = scoped(Organization, scope).order_by(Organization.name)
    return list(db.session.execute(stmt).scalars())


def _flag(name: str) -> bool:
    return request.form.get(name) in ("1", "on", "true", "yes")


def _to_batch(batch_id: int, note: str | None = None):
    """Redirect to a batch's preview; ``note`` also goes into the redirect's own short page."""
    url = url_for("equipment.imports.import_batch", batch_id=batch_id)
    response = redirect(url)
    if note:
        response.set_data(
            f'<!doctype html>\n<html lang="{get_locale()}">\n'
            f"<title>{escape(_('Excel import'))}</title>\n"
            f'<p>{escape(note)}</p>\n<p><a href="{escape(url)}">{escape(url)}</a></p>\n'
        )
    return response


def _refused(batch_id: int, message: str):
    flash(message, "error")
    return _to_batch(batch_id)


def _imports_page(organizations: list[Organization]) -> str:
    scope = current_scope()
    batches = db.session.execute(
        scoped(ImportBatch, scope).order_by(ImportBatch.created_at.desc()).limit(200)
    ).scalars()
    return render_template(
        "imports/index.html",
        batches=list(batches),
        organizations=organizations,
        facilities=registry.facility_choices(db.session, scope),
    )


def _unmapped(org, data: bytes, filename: str, options: ImportOptions, err: MissingColumns):
    """Keep a file whose required columns were not recognised, for the mapping form (in the
    caller's transaction, after what the failed preview did is rolled back)."""
    db.session.rollback()
    return preview_unmapped_batch(db.session, current_user, org, data, filename, options, err)


def _missing_columns_note(missing: list[str]) -> str:
    return _(
        "Required columns were not recognised: %(names)s. Choose which columns of the file "
        "hold them and check the file again; until then it cannot be loaded.",
        names=", ".join(f"«{name}»" for name in missing),
    )


@bp.get("/imports")
def index():
    return _imports_page(_upload_organizations())


@bp.post("/imports")
def upload():
    editable_scope()
    organizations = _upload_organizations()
    if not organizations:
        abort(403)

    def again(message: str):
        flash(message, "error")
        return _imports_page(organizations), 400

    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return again(_("Choose an Excel file (.xlsx, .xlsm, .xls or .ods) to upload."))
    org = organizations[0]
    if len(organizations) > 1:
        wanted = request.form.get("organization_id", "")
        org = next((o for o in organizations if str(o.id) == wanted), None)
        if org is None:
            return again(_("Choose the organization whose list this is."))
    limits = import_limits()
    try:
        default_facility = default_facility_of(
            db.session, org.id, request.form.get("default_facility_id")
        )
        data = read_upload(upload.stream, limits)
    except (ImportRefused, FileRejected) as err:
        return again(err.message)
    options = ImportOptions(default_facility_id=default_facility)
    try:
        batch, _plan = preview_batch(
            db.session, current_user, org, data, upload.filename, options, limits
        )
        db.session.commit()
    except MissingColumns as err:
        batch = _unmapped(org, data, upload.filename, options, err)
        db.session.commit()
        return _to_batch(batch.id, _missing_columns_note(err.missing))
    except FileRejected as err:
        db.session.rollback()
        return again(err.message)
    return _to_batch(batch.id)


@bp.get("/imports/<int:batch_id>")
def import_batch(batch_id: int):
    batch = get_visible_or_404(db.session, ImportBatch, batch_id, current_scope())
    return _batch_page(batch)


def _missing_groups(report: dict) -> tuple[list[tuple[str, list[dict]]], int]:
    """The items not in the file as the danger block lists them: by facility, at most
    MISSING_SHOWN in all; and how many are shown."""
    shown = (report.get("missing") or [])[:MISSING_SHOWN]
    groups: dict[str, list[dict]] = {}
    for m in shown:
        groups.setdefault(m.get("facility") or "—", []).append(m)
    return sorted(groups.items()), len(shown)


def _batch_page(batch: ImportBatch, revert_blockers=None) -> str:
    report = batch.report or {}
    report = {**report, "errors": rendered_errors(report)}  # in this reader's language
    columns = list((report.get("mapping") or {}).keys()) + list(report.get("ignored_columns") or [])
    missing_columns = list(report.get("missing_columns") or [])
    previewed = batch.status == ImportStatus.PREVIEWED
    can_map = current_scope().can_edit_registry and previewed
    counts = batch.counts or {}
    valid = sum(counts.get(key, 0) for key in ("created", "updated", "unchanged"))
    nothing_to_load = previewed and not missing_columns and not valid
    can_edit = current_scope().can_edit_registry
    missing_groups, missing_shown = _missing_groups(report)
    return render_template(
        "imports/batch.html",
        missing_groups=missing_groups,
        missing_shown=missing_shown,
        can_revert=can_edit and batch.status == ImportStatus.COMMITTED,
        can_discard=can_edit and previewed,
        reverted_by=revert_info(db.session, batch),
        revert_blockers=revert_blockers,
        audit_actions=labels.AUDIT_ACTIONS,
        field_names=labels.FIELDS,
        batch=batch,
        report=report,
        counts=counts,
        can_map=can_map,
        can_commit=can_map and not missing_columns and not nothing_to_load,
        nothing_to_load=nothing_to_load,
        missing_columns_note=_missing_columns_note(missing_columns) if missing_columns else None,
        columns=columns,
        field_labels=FIELD_LABELS,
        fields=FIELDS,
        sections=_sections(report, counts, columns, bool(missing_columns)),
        shown_limit=SHOWN_ROWS,
        unexplained_columns=_unexplained(report),
    )


SHOWN_ROWS = 500  # rows of each list on the preview page; the section says how many there are


def _unexplained(report: dict) -> list[str]:
    """The ignored columns the reader could not place: not a running number, not a column
    the failed-rows workbook adds, not ignored for a stated reason. One of them may hold a
    field the rows need, so the page points to the mapping form."""
    added = {str(title) for title in added_columns()}
    reasons = report.get("ignored_reasons") or {}
    return [
        title
        for title in report.get("ignored_columns") or []
        if title not in reasons and title not in added and not carries_no_field(title)
    ]


def _sections(report: dict, counts: dict, columns: list, columns_missing: bool) -> dict:
    """The preview's sections: the number each one's heading shows, how many rows its list
    holds in all (its list may be cut) and whether it opens by itself. Errors are always
    open (they are what must be acted on); the columns when one could not be placed; any
    other list when it is short."""
    errors = report.get("errors") or []
    ignored = _unexplained(report)
    found = {
        "errors": (counts.get("invalid", 0), report.get("error_count") or len(errors)),
        "changes": (
            counts.get("created", 0) + counts.get("updated", 0),
            counts.get("created", 0) + counts.get("updated", 0),
        ),
        "missing": (counts.get("missing", 0), counts.get("missing", 0)),
        "skipped": (
            report.get("skipped_count") or len(report.get("skipped_rows") or []),
            report.get("skipped_count") or len(report.get("skipped_rows") or []),
        ),
        "columns": (len(columns), len(columns)),
    }
    present = {
        "errors": bool(errors),
        "changes": bool(report.get("changes")),
        "missing": bool(report.get("missing")),
        "skipped": bool(report.get("skipped_rows")),
        "columns": bool(columns) and not columns_missing,  # else shown at the top
    }
    return {
        key: {
            "id": f"section-{key}",
            "count": count,
            "total": total,
            "open": key == "errors" or (bool(ignored) if key == "columns" else count <= 20),
        }
        for key, (count, total) in found.items()
        if present[key]
    }


@bp.post("/imports/<int:batch_id>/commit")
def import_commit(batch_id: int):
    scope = current_scope()
    batch = get_visible_or_404(db.session, ImportBatch, batch_id, scope)
    if not scope.can_edit_registry:
        abort(403)
    options = ImportOptions(
        create_facilities=_flag("create_facilities"),
        decommission_missing=_flag("decommission_missing"),
        commit_valid_only=_flag("commit_valid_only"),
        confirm_warnings=_flag("confirm_warnings"),
        confirm_decommission=_typed_count("confirm_decommission"),
    )
    try:
        counts = commit_batch(
            db.session, current_user, batch, options, wear_thresholds(), import_limits()
        )
        db.session.commit()
    except DecommissionNotConfirmed as err:
        db.session.rollback()
        return _refused(batch_id, _decommission_note(err))
    except (ImportRefused, FileRejected) as err:
        db.session.rollback()
        return _refused(batch_id, err.message)
    except IntegrityError:  # another commit took an inventory number meanwhile
        db.session.rollback()
        return _refused(batch_id, str(REGISTRY_CHANGED))
    flash(
        _(
            "Loaded: %(c)s created, %(u)s updated, %(n)s unchanged.",
            c=fmt_number(counts["created"]),
            u=fmt_number(counts["updated"]),
            n=fmt_number(counts["unchanged"]),
        ),
        "success",
    )
    return _to_batch(batch_id)


def _typed_count(name: str) -> int | None:
    """A number the user typed to confirm («750», «1 500»); None when blank or not a number."""
    raw = "".join((request.form.get(name) or "").split())  # also no-break spaces
    return int(raw) if raw.isdecimal() and len(raw) <= 9 else None


def _decommission_note(err: DecommissionNotConfirmed) -> str:
    if err.given is None:
        return _(
            "Nothing was loaded. To decommission the items not in the file, type their "
            "number, %(n)s, in the confirmation field of the red block and press its button.",
            n=fmt_number(err.expected),
        )
    return _(
        "Nothing was loaded: the confirmation says %(given)s, but the load would decommission "
        "%(n)s items (the registry may have changed since the check). Look at the list again "
        "and type %(n)s.",
        given=fmt_number(err.given),
        n=fmt_number(err.expected),
    )


@bp.post("/imports/<int:batch_id>/revert")
def import_revert(batch_id: int):
    """Undo a committed batch while nothing it touched has changed (else 409: the page lists
    what changed)."""
    scope = current_scope()
    batch = get_visible_or_404(db.session, ImportBatch, batch_id, scope)
    editable_scope()
    if not _flag("confirm"):
        return _refused(batch_id, _("Tick the confirmation to revert the import."))
    try:
        counts = revert_batch(db.session, current_user, batch, wear_thresholds())
        db.session.commit()
    except RevertRefused as err:
        db.session.rollback()
        if not err.blockers:
            return _refused(batch_id, err.message)
        return _batch_page(batch, revert_blockers=err.blockers), 409
    flash(
        _(
            "The import is reverted: %(c)s items removed, %(u)s restored, %(d)s returned "
            "to their status.",
            c=fmt_number(counts["removed"]),
            u=fmt_number(counts["restored"]),
            d=fmt_number(counts["recommissioned"]),
        ),
        "success",
    )
    return _to_batch(batch_id)


@bp.post("/imports/<int:batch_id>/discard")
def import_discard(batch_id: int):
    """Drop a previewed batch: its file and parse are deleted, nothing is loaded."""
    scope = current_scope()
    batch = get_visible_or_404(db.session, ImportBatch, batch_id, scope)
    editable_scope()
    if not _flag("confirm"):
        return _refused(batch_id, _("Tick the confirmation to discard the file."))
    try:
        discard_batch(db.session, batch)
        db.session.commit()
    except ImportRefused as err:
        db.session.rollback()
        return _refused(batch_id, err.message)
    flash(_("The file is discarded: nothing was loaded from it."), "success")
    return _to_batch(batch_id)


def _discarded(batch: ImportBatch):
    """The file of a discarded batch is not kept: say so on its page."""
    return _refused(batch.id, _("The file of a discarded import is no longer kept."))


@bp.post("/imports/<int:batch_id>/mapping")
def import_mapping(batch_id: int):
    """Preview the same file again with columns mapped by hand (remembered on commit)."""
    scope = current_scope()
    batch = get_visible_or_404(db.session, ImportBatch, batch_id, scope)
    if not scope.can_edit_registry or batch.status != ImportStatus.PREVIEWED:
        abort(403)
    mapping = {}
    for key, value in request.form.items():
        if key.startswith("col:") and (value in FIELDS or value == ""):
            mapping[key[4:]] = value or None
    options = ImportOptions.from_dict(batch.options)
    options.mapping = mapping
    org, data, filename = batch.organization, batch.content, batch.filename
    note = None
    try:
        new_batch, _plan = preview_batch(
            db.session, current_user, org, data, filename, options, import_limits()
        )
    except MissingColumns as err:  # still not all required columns: keep the choices made
        new_batch = _unmapped(org, data, filename, options, err)
        note = _missing_columns_note(err.missing)
    except FileRejected as err:
        db.session.rollback()
        return _refused(batch_id, err.message)
    batch.status = ImportStatus.SUPERSEDED
    db.session.commit()
    return _to_batch(new_batch.id, note)


@bp.get("/imports/<int:batch_id>/file")
def import_file(batch_id: int):
    batch = get_visible_or_404(db.session, ImportBatch, batch_id, current_scope())
    if batch.status == ImportStatus.DISCARDED:
        return _discarded(batch)
    return send_file(
        io.BytesIO(batch.content),
        download_name=batch.filename,
        as_attachment=True,
        mimetype="application/octet-stream",
    )


@bp.get("/imports/<int:batch_id>/errors.xlsx")
def import_errors(batch_id: int):
    batch = get_visible_or_404(db.session, ImportBatch, batch_id, current_scope())
    if batch.status == ImportStatus.DISCARDED:
        return _discarded(batch)
    options = ImportOptions.from_dict(batch.options)
    content, filename, limits = batch.content, batch.filename, import_limits()
    try:
        _parsed, plan = read_and_plan(
            db.session, batch.organization_id, content, filename, options, limits
        )
        out = failed_rows_workbook(content, filename, plan, options.mapping, limits)
    except FileRejected as err:
        return _refused(batch_id, err.message)
    name = _("%(stem)s-errors.xlsx", stem=filename.rsplit(".", 1)[0])
    return send_file(out, download_name=name, as_attachment=True, mimetype=CONTENT_TYPE)


@bp.get("/imports/template.xlsx")
def import_template_file():
    names = [str(label) for label in labels.DEVICE_TYPES.values()]
    out = import_template(names, TEMPLATE_HELP)
    return send_file(
        out, download_name="шаблон-реестра-ТУ.xlsx", as_attachment=True, mimetype=CONTENT_TYPE
    )


TEMPLATE_HELP = {
    "facility_code": "Код ОПО из реестра (например, OPO-01) или его название. Вместо столбца "
    "можно разбить список строками-группами «ОПО: Котельная №2».",
    "inventory_no": "Обязательно. Инвентарный номер, уникальный в организации: по нему "
    "повторная загрузка обновляет запись, а не создаёт новую.",
    "name": "Обязательно. Наименование технического устройства.",
    "device_type": "Вид устройства из списка (котел паровой, сосуд под давлением, кран "
    "мостовой…). Обязателен для новых записей.",
    "model": "Марка или модель.",
    "manufacturer": "Завод-изготовитель.",
    "factory_no": "Заводской номер.",
    "registration_no": "Регистрационный номер в органах промышленной безопасности.",
    "manufacture_year": "Год изготовления, четыре цифры.",
    "commissioned_on": "Дата ввода в эксплуатацию: дд.мм.гггг или дата Excel; можно только год.",
    "service_life_years": "Нормативный (назначенный) срок службы в годах. Если не указан, "
    "срок эксплуатации до экспертизы считается 20 лет.",
    "wear_pct": "Физический износ в процентах, от 0 до 100 (например, 72,5 или 72,5 %; доли "
    "единицы — только в процентном формате ячейки). Записывается как оценка технического "
    "состояния на дату из столбца «Дата оценки износа», иначе на дату списка («по состоянию "
    "на …» в заголовке) или на дату загрузки.",
    "last_inspection_on": "Дата последнего технического освидетельствования.",
    "next_inspection_on": "Дата следующего технического освидетельствования.",
    "pressure_mpa": "Рабочее давление, МПа (для оборудования под давлением); другие единицы "
    "(кгс/см², кПа, бар, атм) пересчитываются, если указаны в ячейке или в заголовке.",
    "status": "в эксплуатации, остановлено, законсервировано или выведено из эксплуатации; "
    "пусто — в эксплуатации.",
}

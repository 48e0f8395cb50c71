"""One vocabulary (docs/glossary.md): every field label a page or a workbook shows is a label of
the glossary (equipment.glossary), in Russian and in English; the import reads the glossary's
labels back as their fields; the dashboard's figures are what their links list."""

from __future__ import annotations

import io
import re
from datetime import date, timedelta
from html.parser import HTMLParser

import pytest
from flask_babel import force_locale, gettext
from openpyxl import load_workbook

from core import clock
from core.extensions import db
from equipment import glossary, labels
from equipment.catalog import AssessmentMethod, Band, Condition, InspectionKind, InspectionResult
from equipment.imports.excel import FIELD_LABELS, FIELDS
from equipment.imports.excel.headers import classify_title
from equipment.models import ConditionAssessment, Inspection
from equipment.services import refresh_curves
from tests.helpers.imports import COLUMNS, row, upload, xlsx

LANGUAGES = ("ru", "en")


class _Titles(HTMLParser):
    """The texts that title a field: table headers, definition terms, form labels and legends
    (each text piece apart: a short column title and its full form for screen readers). The
    controls inside a label (a select's options, an input) are values, not titles; the flag
    filter's check boxes are flag names, kept apart. Text inside a data cell is data (the
    preview's mapping names the file's own column titles there), except the options of the
    mapping's selects: the fields a column can go to, by their labels."""

    TITLED = {"th", "dt", "label", "legend"}
    VALUES = {"select", "option", "textarea", "small"}

    def __init__(self):
        super().__init__()
        self.stack: list[str] = []
        self.in_flags = 0
        self.titles: list[str] = []
        self.flag_names: list[str] = []
        self.in_mapping = False
        self.mapping_options: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag in ("input", "br", "img", "meta", "link"):
            return
        if tag == "fieldset" and "flags" in (dict(attrs).get("class") or ""):
            self.in_flags += 1
        if tag == "select":
            self.in_mapping = (dict(attrs).get("name") or "").startswith("col:")
        self.stack.append(tag)

    def handle_endtag(self, tag):
        if tag == "fieldset" and self.in_flags and "fieldset" in self.stack:
            self.in_flags -= 1
        while self.stack:
            if self.stack.pop() == tag:
                break

    def handle_data(self, data):
        text = data.strip().strip("▲▼").strip()
        if text and self.in_mapping and "option" in self.stack:
            self.mapping_options.append(text)
        if not text or not self.TITLED & set(self.stack) or {"td", *self.VALUES} & set(self.stack):
            return
        if self.in_flags and "label" in self.stack:
            self.flag_names.append(text)
        else:
            self.titles.append(text)


def titles_of(html: str) -> _Titles:
    parser = _Titles()
    parser.feed(html)
    return parser


def allowed() -> set[str]:
    """The glossary's labels, short forms, computed and recorded columns in the current
    language."""
    return (
        glossary.all_labels()
        | {str(glossary.computed(f)) for f in glossary.LABELS}
        | {str(glossary.recorded(f)) for f in glossary.LABELS}
    )


def page(client, url: str, lang: str) -> str:
    sep = "&" if "?" in url else "?"
    response = client.get(f"{url}{sep}lang={lang}")
    assert response.status_code == 200, (url, response.status_code)
    return response.get_data(as_text=True)


def header_row(data: bytes, sheet: int = 0) -> list[str]:
    book = load_workbook(io.BytesIO(data), read_only=True)
    ws = book.worksheets[sheet]
    # the header is the first row of several cells (the export has its title rows above it)
    for cells_of_row in ws.iter_rows(values_only=True):
        cells = [c for c in cells_of_row if c is not None]
        if len(cells) > 1:
            return cells
    return []


@pytest.fixture
def seen(client, world, login_as, make):
    """An item with an assessment and an inspection, and an import preview, as the engineer."""
    item = world.item_a
    db.session.add_all(
        [
            ConditionAssessment(
                equipment_id=item.id,
                assessed_on=date(2024, 3, 1),
                wear_pct=55.0,
                method=AssessmentMethod.EXPERT,
                condition=Condition.OPERABLE,
                document_ref="Акт 12",
            ),
            Inspection(
                equipment_id=item.id,
                kind=InspectionKind.EXAMINATION,
                done_on=date(2024, 5, 1),
                next_due_on=date(2028, 5, 1),
                result=InspectionResult.PASSED,
                document_no="ТО-7",
            ),
        ]
    )
    db.session.commit()
    refresh_curves(db.session, [item.id], {})
    db.session.commit()
    login_as(world.eng_a)
    response = upload(
        client, xlsx([row("A-01", "N-1", "Котел новый"), row("A-01", "A-INV-1", "x")])
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:300]
    batch = re.search(r"/imports/(\d+)", response.headers["Location"]).group(1)
    return {
        "list": "/equipment",
        "card": f"/equipment/{item.id}",
        "item form": f"/equipment/{item.id}/edit",
        "new item form": "/equipment/new",
        "assessment form": f"/equipment/{item.id}/assessments/new",
        "inspection form": f"/equipment/{item.id}/inspections/new",
        "import preview": f"/imports/{batch}",
    }


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_page_titles_its_fields_with_the_glossary(client, seen, lang):
    for name, url in seen.items():
        html = page(client, url, lang)
        found = titles_of(html)
        with force_locale(lang):
            known = allowed() | {str(t) for t in glossary.OTHER.values()}
            flags = {str(f) for f in labels.FLAGS.values()}
            IGNORE = gettext("ignore")  # noqa: N806
        assert found.titles, name
        strays = sorted(set(found.titles) - known)
        assert not strays, f"{name} ({lang}): not in the glossary: {strays}"
        assert set(found.flag_names) <= flags, (name, found.flag_names)
        options = set(found.mapping_options) - {f"— {IGNORE} —"}
        assert options <= known, (name, sorted(options - known))
    assert found.mapping_options  # the preview was the last page: its mapping was seen


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_template_and_the_export_title_their_columns_with_the_glossary(client, seen, lang):
    page(client, "/equipment", lang)  # the session's language
    template = client.get("/imports/template.xlsx").get_data()
    export = client.get("/equipment/export.xlsx").get_data()
    with force_locale(lang):
        known = allowed()
        other = {str(t) for t in glossary.OTHER.values()}
        titles = {
            "template": header_row(template),
            "template help": header_row(template, 2),
            "export": header_row(export),
        }
        assert header_row(template)[1] == str(glossary.label("inventory_no"))
        assert str(glossary.computed("band")) in titles["export"]
    for name, header in titles.items():
        assert header, name
        strays = sorted(set(header) - known - other)
        assert not strays, f"{name} ({lang}): not in the glossary: {strays}"
    # the help sheet names each of the template's columns as its header row does
    help_book = load_workbook(io.BytesIO(template), read_only=True)
    names = [r[0] for r in help_book.worksheets[2].iter_rows(min_row=2, values_only=True)]
    assert names == header_row(template)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_template_loads_back_with_every_column_recognised(client, seen, lang):
    page(client, "/equipment", lang)
    template = client.get("/imports/template.xlsx").get_data()
    book = load_workbook(io.BytesIO(template))
    book.worksheets[0]["A2"] = "A-01"  # the example row at a facility of the organization
    out = io.BytesIO()
    book.save(out)
    response = upload(client, out.getvalue(), "шаблон.xlsx")
    assert response.status_code == 302
    html = client.get(response.headers["Location"]).get_data(as_text=True)
    with force_locale(lang):
        assert str(glossary.label("inventory_no")) in html
    assert "ignored-columns" not in html and 'id="unmapped"' not in html


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_import_reads_each_glossary_label_as_its_field(app, lang):
    with app.test_request_context(), force_locale(lang):
        for field in FIELDS:
            title = str(FIELD_LABELS[field])
            assert classify_title(title)[0] == field, (title, field)
        # the export's computed columns are never read back as data
        for field in ("wear_pct", "band", "life_end", "critical_on"):
            assert classify_title(str(glossary.computed(field)))[0] is None


def test_old_titles_still_load(app):
    """Files made before the glossary keep loading: «Износ, %», «Срок службы, лет»…"""
    old = {
        "Вид ТУ": "device_type",
        "Тип устройства": "device_type",
        "Модель": "model",
        "Марка": "model",
        "Износ, %": "wear_pct",
        "Срок службы, лет": "service_life_years",
        "Наработка, циклов": "cycle_count",
        "Предельное число циклов": "cycle_limit",
        "Грузоподъёмность / вместимость": "capacity",
        "ОПО": "facility_name",
        "Дата оценки износа": "assessed_on",
    }
    for title, field in old.items():
        assert classify_title(title)[0] == field, title
    assert COLUMNS[-1] == "Износ, %"  # the helper's lists use the old titles still


def test_the_two_scales_have_two_names(app):
    with app.test_request_context(), force_locale("ru"):
        assert str(glossary.label("band")) == "Степень износа"
        assert str(glossary.label("condition")) == "Техническое состояние"
        assert str(labels.FLAGS["must_plan"]) == "К включению в план"
        assert str(labels.FLAGS_SHORT["must_plan"]) == "К включению в план"


# ---------------------------------------------------------------------------- the dashboard


def _total(html: str) -> int:
    found = re.search(r'id="total">[^<]*?([\d\s\u00a0\u202f]+)</span>', html)
    assert found, html[:500]
    return int(re.sub(r"\D", "", found.group(1)))


def _figures(html: str, attr: str) -> dict[str, tuple[str, int]]:
    out = {}
    for href, code, n in re.findall(
        rf'<a class="card" href="([^"]+)" data-{attr}="([^"]+)">.*?<div class="n">([^<]+)</div>',
        html,
        re.S,
    ):
        out[code] = (href.replace("&amp;", "&"), int(re.sub(r"\D", "", n)))
    return out


def test_each_dashboard_figure_is_what_its_link_lists(client, world, login_as, make):
    today = clock.today()
    ages = {"CRIT-1": 19, "CRIT-2": 17, "WARN-1": 13, "WARN-2": 12.5, "GOOD-1": 2, "SAT-1": 5}
    for inv, years in ages.items():
        make.equipment(
            world.fac_a,
            inv,
            commissioned_on=today - timedelta(days=round(years * 365.25)),
            service_life_years=20.0,
        )
    login_as(world.eng_a)
    html = page(client, "/", "ru")
    flags = _figures(html, "flag")
    bands = _figures(html, "band")
    assert set(flags) == set(labels.FLAGS) and set(bands) == {b.value for b in Band}
    # the ladder: four critical items (the world's two, commissioned in 2000, and two), two
    # warnings below them
    assert flags["critical"][1] == 4 and flags["warning"][1] == 2
    for code, (href, n) in {**flags, **bands}.items():
        listed = page(client, href, "ru")
        assert _total(listed) == n, (code, href)
        if code in flags:  # every listed item carries the flag's chip, and no other does
            assert listed.count(f'data-flag="{code}"') == n, code
    assert "К включению в план" in html


def test_bands_show_their_ranges(client, world, login_as):
    login_as(world.eng_a)
    html = page(client, "/", "ru")
    assert "Ветхое (60–80\u00a0%)" in html and "Хорошее (0–20\u00a0%)" in html
    listed = page(client, "/equipment", "ru")
    assert "Ветхое (60–80\u00a0%)" in listed  # the filter's options
    card = page(client, f"/equipment/{world.item_a.id}", "ru")
    assert "Негодное (80–100\u00a0%)" in card


def test_the_api_describes_each_field_by_its_glossary_label(app):
    spec = app.test_client().get("/api/openapi.json").get_json()
    schemas = spec["components"]["schemas"]
    equipment = schemas["Equipment"]["properties"]
    for field in ("inventory_no", "device_type", "model", "cycle_limit", "capacity", "status"):
        assert equipment[field]["description"] == glossary.english(field), field
    assert schemas["Indicators"]["properties"]["band"]["description"] == "Wear band"
    assert schemas["Assessment"]["properties"]["condition"]["description"] == (
        "Technical condition"
    )
    assert schemas["Inspection"]["properties"]["kind"]["description"] == "Kind of work"

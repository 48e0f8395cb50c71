"""core.charts: the SVG parses, bars are proportional to their values, links and accessible
names are there, and empty data says so instead of dividing by zero."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from core.charts import Bar, bar_chart, stacked_bar

NS = {"s": "http://www.w3.org/2000/svg"}
SVG = "{http://www.w3.org/2000/svg}"


def parse(svg) -> ET.Element:
    return ET.fromstring(str(svg))


def bars_of(root) -> list[ET.Element]:
    return [r for r in root.iter(SVG + "rect") if "chart-bar" in r.get("class", "")]


def lengths(root, attr: str) -> list[float]:
    return [float(r.get(attr)) for r in bars_of(root)]


DATA = [
    Bar("Котельная №1", 40, href="/equipment?facility_id=1", key="1"),
    Bar("Кран <мостовой> & «Ко»", 10, href="/equipment?facility_id=2&band=good", key="2"),
    Bar("Без ссылки", 20, css="band-unfit"),
]


@pytest.mark.parametrize("horizontal,attr", [(True, "width"), (False, "height")])
def test_bars_are_proportional_and_the_largest_is_full(horizontal, attr):
    root = parse(bar_chart(DATA, "По ОПО", horizontal=horizontal))
    sizes = lengths(root, attr)
    assert len(sizes) == 3
    assert sizes[0] == pytest.approx(4 * sizes[1]) and sizes[2] == pytest.approx(2 * sizes[1])
    assert [r.get("data-value") for r in bars_of(root)] == ["40", "10", "20"]


def test_links_titles_and_escaping():
    root = parse(bar_chart(DATA, "Title & <more>", chart_id="c1"))
    links = root.findall(".//s:a", NS)
    assert [a.get("href") for a in links] == [
        "/equipment?facility_id=1",
        "/equipment?facility_id=2&band=good",
    ]
    assert links[1].get("aria-label") == "Кран <мостовой> & «Ко»: 10"
    assert root.find("s:title", NS).text == "Title & <more>"
    assert root.get("aria-labelledby") == "c1-title c1-desc"
    assert root.find("s:title", NS).get("id") == "c1-title"
    # the bar without a link is a group, still named
    groups = [g for g in root.iter(SVG + "g") if g.get("aria-label")]
    assert groups[0].get("aria-label") == "Без ссылки: 20"
    # colour by class, never an inline fill
    assert "band-unfit" in bars_of(root)[2].get("class")
    assert "fill=" not in str(bar_chart(DATA, "x"))


def test_labels_values_and_notes_are_written():
    svg = str(bar_chart([Bar("Ветхое", 1234, note="60–80 %")], "Износ"))
    root = parse(svg)
    texts = "".join(root.itertext())
    assert "Ветхое" in texts and "60–80 %" in texts and "1\u202f234" in texts


def test_the_svg_scales_to_its_container():
    root = parse(bar_chart(DATA, "x"))
    assert root.get("viewBox").startswith("0 0 420 ")
    assert root.get("width") is None


@pytest.mark.parametrize("data", [[], [Bar("a", 0), Bar("b", 0)]])
def test_empty_data_says_so(data):
    for svg in (
        bar_chart(data, "x", empty_text="Нет данных"),
        bar_chart(data, "x", horizontal=False, empty_text="Нет данных"),
        stacked_bar(data, "x", empty_text="Нет данных"),
    ):
        root = parse(svg)
        assert "Нет данных" in "".join(root.itertext())
        assert bars_of(root) == []


def test_hide_empty_leaves_out_zero_bars():
    root = parse(bar_chart([Bar("a", 3), Bar("b", 0)], "x", hide_empty=True))
    assert len(bars_of(root)) == 1


def test_stacked_segments_share_the_width_and_the_legend_lists_each():
    segments = [
        Bar("Хорошее", 30, href="/e?band=good", css="band-good", note="0–20 %"),
        Bar("Негодное", 10, href="/e?band=unfit", css="band-unfit"),
        Bar("Нет данных", 0, href="/e?band=unknown", css="band-unknown"),
    ]
    root = parse(stacked_bar(segments, "Износ"))
    widths = lengths(root, "width")
    assert widths == pytest.approx([570.0, 190.0, 0.0])
    xs = [float(r.get("x")) for r in bars_of(root)]
    assert xs == pytest.approx([0.0, 570.0, 760.0])
    assert len(root.findall(".//s:a", NS)) == 3  # the empty band is still a link (its list)
    swatches = [r for r in root.iter(SVG + "rect") if "chart-swatch" in r.get("class")]
    assert [s.get("class") for s in swatches] == [
        "chart-swatch band-good",
        "chart-swatch band-unfit",
        "chart-swatch band-unknown",
    ]
    assert "0–20 %" in "".join(root.itertext())


def test_long_labels_are_cut_but_named_in_full():
    long = "Очень длинное наименование опасного производственного объекта " * 3
    root = parse(bar_chart([Bar(long, 5, href="/x")], "x"))
    label = next(t for t in root.iter(SVG + "text") if t.get("class") == "chart-label")
    assert label.text.endswith("…") and len(label.text) <= 70
    assert root.find(".//s:a", NS).get("aria-label") == f"{long}: 5"


def test_stacked_without_a_legend_is_the_bar_alone_still_linked():
    segments = [Bar("Хорошее", 3, href="/e?band=good", css="band-good"), Bar("Негодное", 1)]
    root = parse(stacked_bar(segments, "Износ", legend=False))
    assert lengths(root, "width") == pytest.approx([570.0, 190.0])
    assert root.get("viewBox") == "0 0 760 28"
    assert not [r for r in root.iter(SVG + "rect") if "chart-swatch" in r.get("class")]
    assert root.find(".//s:a", NS).get("aria-label") == "Хорошее: 3"

"""Server-side SVG charts: horizontal and vertical bar charts and a stacked bar, for the
dashboard and (next) the plans' pages. Pure Python, no Flask and no JavaScript.

Colours are CSS classes (``Bar.css``), never inline fills: app.css themes them, and the print
stylesheet keeps them on paper. Each bar may be a link (``Bar.href``) to the list it counts;
the link wraps the bar's label and value too, so a bar of length 0 can still be followed.
Every chart carries a ``<title>`` (and ``<desc>``) that ``aria-labelledby`` names, and each
bar an ``aria-label`` "label: value", so a screen reader reads the figures.

The SVG has a ``viewBox`` and no fixed width: it scales to its container (a phone at 390 px
has no horizontal scroll). Labels above the bars (horizontal chart) leave the whole width to
the bars however long a facility's name is.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape

from markupsafe import Markup

WIDTH = 420  # viewBox units of a bar chart: about its width in a dashboard's grid cell
STACKED_WIDTH = 760  # a stacked bar spans a page's width (app.css caps it)
FONT = 13
LABEL_CHARS = 70  # a longer label is cut with «…» (the full text is in the bar's <title>)


@dataclass(frozen=True)
class Bar:
    """One bar (or segment): its label, value, optional link, CSS class and a note shown
    after the label (e.g. a band's range «60–80 %»)."""

    label: str
    value: float
    href: str | None = None
    css: str = ""
    note: str = ""
    key: str = ""  # a stable code (``data-key``), e.g. the band's, for tests and scripts


def _fmt_default(value: float) -> str:
    if float(value).is_integer():
        return f"{int(value):,}".replace(",", "\u202f")
    return f"{value:,.1f}".replace(",", "\u202f").replace(".", ",")


def _e(text) -> str:
    return escape(str(text), quote=True)


def _cut(text: str, chars: int = LABEL_CHARS) -> str:
    return text if len(text) <= chars else text[: chars - 1].rstrip() + "…"


def _lines(label: str, x: float, room: float) -> str:
    """A column's label in at most two lines (``tspan``) that fit ``room`` units of width
    (about 0.55 of the font size a letter)."""
    chars = max(4, int(room / ((FONT - 1) * 0.55)))
    words, lines = label.split(), [""]
    for word in words:
        if lines[-1] and len(lines[-1]) + 1 + len(word) > chars and len(lines) < 2:
            lines.append(word)
        else:
            lines[-1] = f"{lines[-1]} {word}".strip()
    spans = [
        f'<tspan x="{x:.2f}" dy="{0 if i == 0 else FONT:g}">{_e(_cut(line, chars + 2))}</tspan>'
        for i, line in enumerate(lines)
    ]
    return "".join(spans)


def _chart_id(title: str, chart_id: str | None) -> str:
    if chart_id:
        return chart_id
    return "chart-" + hashlib.sha1(title.encode(), usedforsecurity=False).hexdigest()[:8]


def _classes(base: str, bar: Bar) -> str:
    return f"{base} {bar.css}".strip()


def _hit(x: float, y: float, width: float, height: float) -> str:
    """An invisible rectangle over a bar's whole row or column, so that a click anywhere on
    it (not only on the painted bar or its letters) follows the link. ``opacity`` keeps it
    hit-testable without a fill of its own (SVG hit-tests by geometry, not by opacity)."""
    return (
        f'<rect class="chart-hit" x="{x:.2f}" y="{y:.2f}" width="{width:.2f}" '
        f'height="{height:.2f}" opacity="0"/>'
    )


def _item(bar: Bar, text: str, body: str, hit: str = "") -> str:
    """A bar's group: a link when it has one, with its accessible name."""
    key = f' data-key="{_e(bar.key)}"' if bar.key else ""
    label = f"{bar.label} ({bar.note})" if bar.note else bar.label
    name = _e(f"{label}: {text}")
    inner = f"<title>{name}</title>{hit}{body}"
    if bar.href:
        return f'<a href="{_e(bar.href)}" class="chart-item" aria-label="{name}"{key}>{inner}</a>'
    return f'<g class="chart-item" role="listitem" aria-label="{name}"{key}>{inner}</g>'


def _svg(
    cid: str, title: str, desc: str, height: float, body: list[str], css: str, width: int = WIDTH
) -> Markup:
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart {css}" id="{_e(cid)}" '
        f'viewBox="0 0 {width} {height:g}" preserveAspectRatio="xMinYMin meet" '
        f'role="group" aria-labelledby="{_e(cid)}-title {_e(cid)}-desc">'
        f'<title id="{_e(cid)}-title">{_e(title)}</title>'
        f'<desc id="{_e(cid)}-desc">{_e(desc)}</desc>'
    )
    return Markup(head + "".join(body) + "</svg>")


def _empty(cid: str, title: str, empty_text: str, css: str, width: int = WIDTH) -> Markup:
    text = (
        f'<text class="chart-empty" x="{width / 2:g}" y="26" text-anchor="middle" '
        f'font-size="{FONT}">{_e(empty_text)}</text>'
    )
    return _svg(cid, title, empty_text, 40, [text], css, width)


def _total_desc(bars: Sequence[Bar], fmt: Callable[[float], str]) -> str:
    return "; ".join(f"{b.label}: {fmt(b.value)}" for b in bars)


def bar_chart(
    bars: Sequence[Bar],
    title: str,
    *,
    horizontal: bool = True,
    fmt: Callable[[float], str] = _fmt_default,
    empty_text: str = "No data",
    chart_id: str | None = None,
    hide_empty: bool = False,
) -> Markup:
    """A bar chart of ``bars`` (length proportional to the value, the largest full width).

    Horizontal: one row per bar, the label (and note) above, the value after the bar.
    Vertical: one column per bar, the value above, the label below (short labels: an age
    range, a year). ``hide_empty`` leaves out bars of value 0. With no bar (or only zeros)
    the chart says ``empty_text``."""
    cid = _chart_id(title, chart_id)
    shown = [b for b in bars if b.value or not hide_empty]
    top = max((b.value for b in shown), default=0)
    if not shown or top <= 0:
        return _empty(cid, title, empty_text, "chart-bars")
    if horizontal:
        return _horizontal(shown, top, cid, title, fmt)
    return _vertical(shown, top, cid, title, fmt)


def _horizontal(bars, top, cid, title, fmt) -> Markup:
    row, bar_h, value_room = 40, 14, 70
    span = WIDTH - value_room
    body = ['<g role="list">']
    for i, bar in enumerate(bars):
        y = i * row
        length = bar.value / top * span
        text = fmt(bar.value)
        note = f' <tspan class="chart-note">{_e(bar.note)}</tspan>' if bar.note else ""
        parts = (
            f'<text class="chart-label" x="0" y="{y + FONT + 1:g}" font-size="{FONT}">'
            f"{_e(_cut(bar.label))}{note}</text>"
            f'<rect class="chart-track" x="0" y="{y + 20:g}" width="{span:g}" height="{bar_h}"/>'
            f'<rect class="{_classes("chart-bar", bar)}" x="0" y="{y + 20:g}" '
            f'width="{length:.2f}" height="{bar_h}" data-value="{bar.value:g}"/>'
            f'<text class="chart-value" x="{length + 6:.2f}" y="{y + 20 + bar_h - 2:g}" '
            f'font-size="{FONT}">{_e(text)}</text>'
        )
        body.append(_item(bar, text, parts, _hit(0, y, WIDTH, row - 2)))
    body.append("</g>")
    return _svg(cid, title, _total_desc(bars, fmt), len(bars) * row, body, "chart-bars")


def _vertical(bars, top, cid, title, fmt) -> Markup:
    plot_h, label_room, value_room = 140, 34, 20
    if any(b.note for b in bars):
        label_room += FONT
    slot = WIDTH / len(bars)
    bar_w = min(slot * 0.7, 80)
    body = ['<g role="list">']
    for i, bar in enumerate(bars):
        x = i * slot + (slot - bar_w) / 2
        height = bar.value / top * plot_h
        y = value_room + plot_h - height
        text = fmt(bar.value)
        mid = i * slot + slot / 2
        parts = (
            f'<rect class="{_classes("chart-bar", bar)}" x="{x:.2f}" y="{y:.2f}" '
            f'width="{bar_w:.2f}" height="{height:.2f}" data-value="{bar.value:g}"/>'
            f'<text class="chart-value" x="{mid:.2f}" y="{y - 5:.2f}" text-anchor="middle" '
            f'font-size="{FONT}">{_e(text)}</text>'
            f'<text class="chart-label" x="{mid:.2f}" y="{value_room + plot_h + 16:g}" '
            f'text-anchor="middle" font-size="{FONT - 1}">{_lines(bar.label, mid, slot)}</text>'
        )
        if bar.note:
            note_y = value_room + plot_h + 16 + 2 * FONT
            parts += (
                f'<text class="chart-note" x="{mid:.2f}" y="{note_y:g}" '
                f'text-anchor="middle" font-size="{FONT - 2}">{_e(_cut(bar.note, 18))}</text>'
            )
        hit = _hit(i * slot, 0, slot, value_room + plot_h + label_room)
        body.append(_item(bar, text, parts, hit))
    body.append(
        f'<line class="chart-axis" x1="0" x2="{WIDTH}" y1="{value_room + plot_h:g}" '
        f'y2="{value_room + plot_h:g}"/>'
    )
    body.append("</g>")
    height = value_room + plot_h + label_room + 4
    return _svg(cid, title, _total_desc(bars, fmt), height, body, "chart-columns")


def stacked_bar(
    segments: Sequence[Bar],
    title: str,
    *,
    fmt: Callable[[float], str] = _fmt_default,
    empty_text: str = "No data",
    chart_id: str | None = None,
    legend: bool = True,
) -> Markup:
    """One bar split into ``segments`` (each as wide as its share of the total), with a
    legend below it: a swatch, the label, its note and the value of each segment (zeros
    too: a band with no item is a figure as well). Without the ``legend`` (the page shows
    the figures beside it) the bar alone, each segment still named and linked."""
    cid = _chart_id(title, chart_id)
    total = sum(s.value for s in segments)
    if not segments or total <= 0:
        return _empty(cid, title, empty_text, "chart-stacked", STACKED_WIDTH)
    bar_h, gap, line = 28, 14, 22
    body = ['<g role="list">']
    x = 0.0
    for i, seg in enumerate(segments):
        width = seg.value / total * STACKED_WIDTH
        text = fmt(seg.value)
        parts = (
            f'<rect class="{_classes("chart-bar", seg)}" x="{x:.2f}" y="0" '
            f'width="{width:.2f}" height="{bar_h}" data-value="{seg.value:g}"/>'
        )
        legend_y = bar_h + gap + i * line
        if not legend:
            body.append(_item(seg, text, parts))
            x += width
            continue
        parts += (
            f'<rect class="{_classes("chart-swatch", seg)}" x="0" y="{legend_y:g}" '
            f'width="14" height="14"/>'
            f'<text class="chart-label" x="22" y="{legend_y + 12:g}" font-size="{FONT}">'
            f"{_e(_cut(seg.label, 50))}"
            + (f' <tspan class="chart-note">{_e(seg.note)}</tspan>' if seg.note else "")
            + f'</text><text class="chart-value" x="{STACKED_WIDTH}" y="{legend_y + 12:g}" '
            f'text-anchor="end" font-size="{FONT}">{_e(text)}</text>'
        )
        body.append(_item(seg, text, parts, _hit(0, legend_y - 4, STACKED_WIDTH, line)))
        x += width
    body.append("</g>")
    height = bar_h + gap + len(segments) * line if legend else bar_h
    desc = _total_desc(segments, fmt)
    return _svg(cid, title, desc, height, body, "chart-stacked", STACKED_WIDTH)

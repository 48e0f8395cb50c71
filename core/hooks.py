"""Extension points of the shared pages, so that lower packages never name higher ones.

Core's navigation and dashboard, and accounts' organizations list and card, are shown with
what the packages above them add: the registry's figures, later the plans' status and the
alerts' news. Like indico's template hooks, a shared page leaves named places, and each
package fills them from its ``init_app``:

    hooks.add_nav_entry(app, "equipment.registry.index", _l("Equipment"), order=30)
    hooks.add_section(app, "dashboard", render_fleet_summary, order=10)
    hooks.add_column(app, "organizations", "items", _l("Items"), item_counts, order=20)

Places used today: the navigation, ``dashboard`` (core's home page), ``organization``
(sections of the organization card, given ``org``) and the ``organizations`` table (columns,
given the organizations of the page). A column's ``values`` returns the values of all the
page's rows in one statement, never a query per row.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from flask import current_app
from markupsafe import Markup


def everyone(_user) -> bool:
    return True


@dataclass(frozen=True)
class NavEntry:
    endpoint: str
    label: Any  # a lazy string: rendered in the request's language
    order: int = 100
    visible: Callable[[Any], bool] = everyone  # given the logged-in user


@dataclass(frozen=True)
class Section:
    render: Callable[..., str]  # given the page's context, returns HTML (render_template)
    order: int = 100


@dataclass(frozen=True)
class Column:
    key: str
    header: Any
    values: Callable[..., Mapping[int, Any]]  # (session, ids, scope) -> {row id: value}
    order: int = 100
    visible: Callable[[Any], bool] = everyone


@dataclass
class Hooks:
    nav: list[NavEntry] = field(default_factory=list)
    sections: dict[str, list[Section]] = field(default_factory=lambda: defaultdict(list))
    columns: dict[str, list[Column]] = field(default_factory=lambda: defaultdict(list))


def _hooks(app=None) -> Hooks:
    return (app or current_app).extensions["opo.hooks"]


def add_nav_entry(app, endpoint: str, label, order: int = 100, visible=everyone) -> None:
    _hooks(app).nav.append(NavEntry(endpoint, label, order, visible))


def add_section(app, place: str, render: Callable[..., str], order: int = 100) -> None:
    _hooks(app).sections[place].append(Section(render, order))


def add_column(app, table: str, key: str, header, values, order: int = 100, visible=everyone):
    _hooks(app).columns[table].append(Column(key, header, values, order, visible))


def nav_entries(user) -> list[NavEntry]:
    return sorted((e for e in _hooks().nav if e.visible(user)), key=lambda e: e.order)


def render_sections(place: str, **context) -> Markup:
    """The HTML of every section registered for ``place``, in their order."""
    sections = sorted(_hooks().sections.get(place, ()), key=lambda s: s.order)
    return Markup("\n").join(Markup(s.render(**context)) for s in sections)


def table_columns(table: str, user) -> list[Column]:
    columns = _hooks().columns.get(table, ())
    return sorted((c for c in columns if c.visible(user)), key=lambda c: c.order)


def column_values(columns: Sequence[Column], session, ids: list[int], scope) -> dict:
    """``{column key: {row id: value}}`` for the rows of a page."""
    return {c.key: c.values(session, ids, scope) for c in columns}


def init_app(app) -> None:
    app.extensions["opo.hooks"] = Hooks()
    app.jinja_env.globals.update(nav_entries=nav_entries, render_sections=render_sections)

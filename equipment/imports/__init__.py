"""The Excel import of asset lists, as one part of equipment.

models (batches, remembered column mappings), matching (which facility a row names),
planner (the dry run: what a list would change), apply (the plan written, set-based),
batches (preview, commit, import at once, dry run, the report), failed_rows (the invalid
rows as a workbook), template (the downloadable list to fill in), views (equipment.imports.*),
api (/api/v1/imports…), cli (flask equipment import). The file is read by excel/."""

from __future__ import annotations

from functools import cache


@cache
def _nest(pages, import_pages) -> None:
    """Nest the import pages once per process: a blueprint registered on the same parent
    twice would be registered twice on every app (tests create many)."""
    pages.register_blueprint(import_pages)


def init_app(app, pages, commands) -> None:
    """Plug the import in under equipment: its pages nested in the blueprint ``pages``
    (before ``pages`` itself is registered: endpoints equipment.imports.*), its API, and
    ``import`` in the click group ``commands`` (flask equipment import)."""
    from core.extensions import api as rest_api
    from core.extensions import csrf
    from equipment.imports import api, cli, views

    _nest(pages, views.bp)
    rest_api.register_blueprint(api.blp)
    csrf.exempt(api.blp)
    commands.add_command(cli.import_command)

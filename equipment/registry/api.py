"""API of the equipment list's export: ``POST /api/v1/equipment/exports`` (a background job).
The list itself, ``GET /api/v1/equipment``, is the equipment collection's (equipment.api)."""

from __future__ import annotations

from flask import request

from accounts.auth import acting_user
from core import clock
from core.api_blueprint import Blueprint
from core.jobs.api import JobSchema, api_url, job_document
from equipment.registry.export import enqueue_export, parse_columns
from equipment.registry.query import RegistryQuery

blp = Blueprint(
    "registry_api", __name__, url_prefix="/api/v1", description="Registry exports (.xlsx)"
)


@blp.route("/equipment/exports", methods=["POST"])
@blp.response(202, JobSchema, headers={"Location": {"description": "the job", "schema": {}}})
def export_equipment():
    """Export the registry's filter (the query of ``GET /equipment``, without paging) to .xlsx
    as a background job, with the ``columns`` chosen (repeated or comma-separated keys:
    inventory_no, name, device_type, facility, facility_name, organization, bin, region,
    model, manufacturer, factory_no, registration_no, manufacture_year, commissioned_on,
    service_life_years, wear_pct, band, life_end, next_inspection_due, last_examined_on,
    last_assessed_on, critical_on, flags, status; default all): answers 202 with the job;
    poll ``GET /jobs/<id>`` until its ``status`` is ``done``, then download ``file.url``.
    The job runs with the caller's scope when it runs. The same request while its job is
    queued or running gives that job."""
    RegistryQuery.from_args(request.args)  # a bad filter: 422 naming it, now
    parse_columns(request.args)  # and a bad column
    job = enqueue_export(acting_user(), request.args, clock.today())
    return job_document(job), 202, {"Location": api_url(job)}

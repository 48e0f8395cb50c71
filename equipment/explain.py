"""The card's indicators in words (DESIGN §3): which rule gave each number, from which facts.

Pure: no Flask, no database. ``explain`` returns ``Line``s, each a message key and its values
(dates, numbers, labels' codes); ``equipment.labels`` holds the translated sentence of each key
and formats the values in the reader's language. So the reasoning is tested without a page,
and the page says nothing the rules did not decide.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from equipment.catalog import AssessmentMethod, InspectionKind, InspectionResult
from equipment.wear import (
    DEFAULT_LIFE_WITHOUT_DATA_YEARS,
    Event,
    Indicators,
    Thresholds,
    WearInputs,
    latest_by_kind,
    normative_life_end,
    obligation,
    start_date,
)

# The note an import writes on a wear value its file gave no date for (equipment.imports.apply)
UNDATED_IMPORT_NOTE = "Дата оценки в файле не указана: принята дата загрузки."


@dataclass(frozen=True)
class Line:
    key: str
    values: dict[str, Any] = field(default_factory=dict)
    strong: bool = False  # a conclusion the reader must not miss


@dataclass(frozen=True)
class Assessment:
    """The latest condition assessment, as the explanation needs it."""

    assessed_on: date
    wear_pct: float
    method: str
    notes: str | None = None


@dataclass(frozen=True)
class Expertise:
    """An expertise event with its document, for the sentences about the service life."""

    done_on: date
    result: str
    extended_until: date | None
    document_no: str | None


def explain(
    inputs: WearInputs,
    ind: Indicators,
    thresholds: Thresholds,
    latest: Assessment | None,
    events: list[tuple[Event, str | None]],
) -> list[Line]:
    """The sentences of the card: wear, thresholds, life, cycles, inspections, the plan.

    ``events`` are the item's inspections and expertise with their document numbers.
    """
    lines = _wear(inputs, ind, latest)
    lines += _thresholds(ind, thresholds, latest)
    lines += _life(inputs, ind, [e for e in events if e[0].kind == InspectionKind.EXPERTISE])
    if inputs.cycle_limit:
        lines.append(
            Line(
                "cycles_exhausted" if ind.life_expired and _cycles_out(inputs) else "cycles",
                {"count": inputs.cycle_count or 0, "limit": inputs.cycle_limit},
            )
        )
    lines += _obligations(ind.as_of, [e for e, _doc in events])
    if ind.must_plan:
        lines.append(Line("must_plan", {"reasons": list(ind.reasons)}, strong=True))
    return lines


def _cycles_out(inputs: WearInputs) -> bool:
    return inputs.cycle_count is not None and inputs.cycle_count >= inputs.cycle_limit


def _wear(inputs: WearInputs, ind: Indicators, latest: Assessment | None) -> list[Line]:
    life = inputs.service_life_years if inputs.service_life_years else None
    if ind.wear_pct is None:
        return [Line("wear_unknown")]
    lines = []
    if latest is not None and life is None:
        lines.append(
            Line("wear_assessed_no_life", {"wear": ind.wear_pct, "on": latest.assessed_on})
        )
    elif latest is not None:
        days = max(0, (ind.as_of - latest.assessed_on).days)
        lines.append(
            Line(
                "wear_assessed",
                {
                    "wear": ind.wear_pct,
                    "assessed": latest.wear_pct,
                    "on": latest.assessed_on,
                    "added": ind.wear_pct - latest.wear_pct,
                    "days": days,
                    "rate": 100.0 / life,
                    "life": life,
                },
            )
        )
    else:
        start = start_date(inputs)
        lines.append(
            Line(
                "wear_by_age" if inputs.commissioned_on else "wear_by_age_from_year",
                {
                    "wear": ind.wear_pct,
                    "start": start,
                    "year": inputs.manufacture_year,
                    "life": life,
                    "rate": 100.0 / life,
                },
            )
        )
    if (
        latest is not None
        and latest.method == AssessmentMethod.IMPORT
        and latest.notes == UNDATED_IMPORT_NOTE
    ):
        lines.append(Line("wear_import_undated", {"on": latest.assessed_on}))
    return lines


def _thresholds(ind: Indicators, thresholds: Thresholds, latest: Assessment | None) -> list[Line]:
    values = {"warning": thresholds.warning, "critical": thresholds.critical}
    forecast = ind.critical_forecast
    if ind.critical:
        already = (
            latest is not None
            and forecast == latest.assessed_on
            and latest.wear_pct >= thresholds.critical
        )
        if already:
            return [Line("critical_at_assessment", {**values, "on": forecast})]
        return [Line("critical_since", {**values, "on": forecast})]
    if forecast is not None:
        return [Line("critical_forecast", {**values, "on": forecast})]
    return [Line("thresholds", values)]


def _life(
    inputs: WearInputs, ind: Indicators, expertise: list[tuple[Event, str | None]]
) -> list[Line]:
    start = start_date(inputs)
    if start is None:
        return [Line("life_unknown")]
    normative = normative_life_end(inputs)
    lines = []
    basis = {
        "start": start,
        "year": inputs.manufacture_year,
        "life": inputs.service_life_years or DEFAULT_LIFE_WITHOUT_DATA_YEARS,
        "end": normative,
    }
    by_commissioning = inputs.commissioned_on is not None
    if inputs.service_life_years:
        key = "life_normative" if by_commissioning else "life_normative_from_year"
    else:
        key = "life_default" if by_commissioning else "life_default_from_year"
    ended = normative <= ind.as_of
    lines.append(Line(key + ("_ended" if ended else ""), basis))
    if inputs.extended_until:
        granted = _extension_document(expertise, inputs.extended_until)
        expired = ind.life_end is not None and ind.life_end <= ind.as_of
        lines.append(
            Line(
                "life_extended_ended" if expired else "life_extended",
                {
                    "until": inputs.extended_until,
                    "document": granted.document_no if granted else None,
                    "on": granted.done_on if granted else None,
                },
                strong=expired,
            )
        )
    elif ended:
        lines[-1] = Line(lines[-1].key, lines[-1].values, strong=True)
    if inputs.refused_on:
        refusal = next(
            (
                x
                for x in expertise
                if x[0].result == InspectionResult.REFUSED and x[0].done_on == inputs.refused_on
            ),
            None,
        )
        lines.append(
            Line(
                "life_refused",
                {"on": inputs.refused_on, "document": refusal[1] if refusal else None},
                strong=True,
            )
        )
    return lines


def _extension_document(expertise: list[tuple[Event, str | None]], until: date) -> Expertise | None:
    """The expertise that granted the extension in force (the latest one granting it)."""
    granting = [
        (e, doc)
        for e, doc in expertise
        if e.result == InspectionResult.EXTENDED and e.extended_until == until
    ]
    if not granting:
        return None
    event, doc = max(granting, key=lambda x: (x[0].done_on, x[0].id))
    return Expertise(event.done_on, event.result, event.extended_until, doc)


def _obligations(as_of: date, events: list[Event]) -> list[Line]:
    lines = []
    for duty in sorted(map(obligation, latest_by_kind(events)), key=lambda o: o.kind):
        values = {"kind": duty.kind, "done": duty.last.done_on, "due": duty.due}
        settled = (InspectionResult.EXTENDED, InspectionResult.REFUSED)
        if duty.due is None and duty.last.result in settled:
            continue  # the sentences about the service life say what it decided
        if duty.failed:
            lines.append(Line("inspection_failed", values, strong=True))
        elif duty.due is None:
            lines.append(Line("inspection_no_next", values))
        elif as_of > duty.due:
            lines.append(Line("inspection_overdue", values, strong=True))
        else:
            lines.append(Line("inspection_due", values))
    return lines

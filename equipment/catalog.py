"""Codes of the registry's closed lists (device types, statuses, kinds). Pure, no Flask."""

from __future__ import annotations

import enum


class DeviceType(enum.StrEnum):
    PRESSURE_VESSEL = "pressure_vessel"
    STEAM_BOILER = "steam_boiler"
    HOT_WATER_BOILER = "hot_water_boiler"
    STEAM_PIPELINE = "steam_pipeline"  # steam and hot-water pipelines, categories I-IV
    PROCESS_PIPELINE = "process_pipeline"
    GAS_EQUIPMENT = "gas_equipment"
    CRANE = "crane"
    HOIST = "hoist"  # hoists, winches, telphers
    LIFT = "lift"
    ESCALATOR = "escalator"
    TANK = "tank"
    MINING = "mining"
    OTHER = "other"


class EquipmentStatus(enum.StrEnum):
    IN_SERVICE = "in_service"
    SUSPENDED = "suspended"
    CONSERVED = "conserved"
    DECOMMISSIONED = "decommissioned"


class LifeSource(enum.StrEnum):
    MANUFACTURER = "manufacturer"
    NORM = "norm"
    UNKNOWN = "unknown"


class Sector(enum.StrEnum):
    LIFTING = "lifting"
    BOILERS = "boilers"
    GAS = "gas"
    PETROCHEMICAL = "petrochemical"
    MINING = "mining"
    CHEMICAL = "chemical"
    OIL_GAS = "oil_gas"
    METALLURGY = "metallurgy"
    PIPELINES = "pipelines"
    GRAIN = "grain"
    ENERGY = "energy"
    OTHER = "other"


class FacilityStatus(enum.StrEnum):
    OPERATING = "operating"
    SUSPENDED = "suspended"
    CLOSED = "closed"


class HazardClass(enum.StrEnum):
    I = "I"  # noqa: E741 - the official class names
    II = "II"
    III = "III"
    IV = "IV"


class AssessmentMethod(enum.StrEnum):
    DIAGNOSTICS = "diagnostics"
    EXPERT = "expert"
    CONDITION_INDEX = "condition_index"
    IMPORT = "import"


class Condition(enum.StrEnum):
    """Technical condition per GOST 27.002 wording; LIMIT is «предельное»."""

    SERVICEABLE = "serviceable"
    OPERABLE = "operable"
    LIMITED = "limited"
    INOPERABLE = "inoperable"
    LIMIT = "limit"


class InspectionKind(enum.StrEnum):
    EXAMINATION = "examination"  # техническое освидетельствование
    HYDRAULIC_TEST = "hydraulic_test"
    DIAGNOSTICS = "diagnostics"
    EXPERTISE = "expertise"  # экспертиза промышленной безопасности


class InspectionResult(enum.StrEnum):
    PASSED = "passed"
    PASSED_WITH_REMARKS = "passed_with_remarks"
    FAILED = "failed"
    EXTENDED = "extended"  # expertise: service life extended until a date
    REFUSED = "refused"  # expertise: further use not allowed


class Band(enum.StrEnum):
    """Five 20 % wear bands shown in the UI."""

    GOOD = "good"
    SATISFACTORY = "satisfactory"
    UNSATISFACTORY = "unsatisfactory"
    DILAPIDATED = "dilapidated"
    UNFIT = "unfit"
    UNKNOWN = "unknown"


BAND_LOWER_BOUNDS: tuple[tuple[Band, float], ...] = (
    (Band.UNFIT, 80.0),
    (Band.DILAPIDATED, 60.0),
    (Band.UNSATISFACTORY, 40.0),
    (Band.SATISFACTORY, 20.0),
    (Band.GOOD, 0.0),
)

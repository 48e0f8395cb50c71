"""Facilities (ОПО), equipment (технические устройства), assessments and inspection events.

The import's tables (batches, remembered column mappings) are in equipment.imports.models."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
    select,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from accounts.models import Organization, Region
from core.access import Scope
from core.db import Base, TZDateTime, str_enum, utcnow
from equipment.catalog import (
    AssessmentMethod,
    Condition,
    DeviceType,
    EquipmentStatus,
    FacilityStatus,
    HazardClass,
    InspectionKind,
    InspectionResult,
    LifeSource,
    Sector,
)
from equipment.inventory import inventory_key, inventory_key_default
from equipment.search import search_text_default


class Facility(Base):
    __tablename__ = "facilities"

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    code: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(300))
    region_id: Mapped[int] = mapped_column(ForeignKey("regions.id"), index=True)
    address: Mapped[str | None] = mapped_column(String(500))
    sector: Mapped[Sector] = mapped_column(str_enum(Sector), default=Sector.OTHER)
    hazard_class: Mapped[HazardClass | None] = mapped_column(str_enum(HazardClass, 4))
    status: Mapped[FacilityStatus] = mapped_column(
        str_enum(FacilityStatus), default=FacilityStatus.OPERATING
    )
    created_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow)

    organization: Mapped[Organization] = relationship(lazy="joined")
    region: Mapped[Region] = relationship(lazy="joined")

    __table_args__ = (UniqueConstraint("organization_id", "code"),)

    AUDITED = ("code", "name", "region_id", "address", "sector", "hazard_class", "status")

    @classmethod
    def scope_clause(cls, scope: Scope):
        if scope.organization_id is not None:
            return cls.organization_id == scope.organization_id
        if scope.region_id is not None:
            return cls.region_id == scope.region_id
        return false()

    def __str__(self) -> str:
        return f"{self.code} — {self.name}"


class Equipment(Base):
    __tablename__ = "equipment"

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    facility_id: Mapped[int] = mapped_column(ForeignKey("facilities.id"))
    inventory_no: Mapped[str] = mapped_column(String(60))  # as the user typed it
    # The number as the import compares it (equipment.inventory.inventory_key), the
    # organization's unique key: «ин-16» cannot be stored beside «ИН-16». Set from
    # inventory_no by the ORM (_fold_inventory_no) and by the column default on bulk inserts;
    # up to 3× as long, since upper case may expand a letter («ß» is «SS»).
    inventory_key: Mapped[str] = mapped_column(String(180), default=inventory_key_default)
    name: Mapped[str] = mapped_column(String(300))
    device_type: Mapped[DeviceType] = mapped_column(str_enum(DeviceType))
    model: Mapped[str | None] = mapped_column(String(120))
    manufacturer: Mapped[str | None] = mapped_column(String(200))
    factory_no: Mapped[str | None] = mapped_column(String(60))
    registration_no: Mapped[str | None] = mapped_column(String(60))
    manufacture_year: Mapped[int | None] = mapped_column(Integer)
    commissioned_on: Mapped[date | None] = mapped_column(Date)
    service_life_years: Mapped[float | None] = mapped_column(Float)
    service_life_source: Mapped[LifeSource] = mapped_column(
        str_enum(LifeSource), default=LifeSource.UNKNOWN
    )
    cycle_limit: Mapped[int | None] = mapped_column(Integer)
    cycle_count: Mapped[int | None] = mapped_column(Integer)
    pressure_mpa: Mapped[float | None] = mapped_column(Float)
    temperature_c: Mapped[float | None] = mapped_column(Float)
    medium: Mapped[str | None] = mapped_column(String(120))
    capacity: Mapped[str | None] = mapped_column(String(120))
    status: Mapped[EquipmentStatus] = mapped_column(
        str_enum(EquipmentStatus), default=EquipmentStatus.IN_SERVICE
    )
    notes: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow, onupdate=utcnow)
    # Folded inventory number, name, factory and registration numbers (equipment.search):
    # set on insert from the row itself, rewritten with the wear curve on every change.
    search_text: Mapped[str] = mapped_column(Text, default=search_text_default)

    # Cache of the time-independent wear curve (equipment.wear.WearCurve), rewritten by
    # equipment.services.refresh_curves whenever the item, its assessments or inspections
    # change. Today's wear and flags are computed from it in SQL (equipment.indicators_sql).
    wear_base_pct: Mapped[float | None] = mapped_column(Float)
    wear_base_day: Mapped[int | None] = mapped_column(Integer)
    life_days: Mapped[float | None] = mapped_column(Float)
    life_end: Mapped[date | None] = mapped_column(Date)
    warning_on: Mapped[date | None] = mapped_column(Date)
    critical_on: Mapped[date | None] = mapped_column(Date)
    must_plan_on: Mapped[date | None] = mapped_column(Date)
    next_inspection_due: Mapped[date | None] = mapped_column(Date)
    cycles_exhausted: Mapped[bool] = mapped_column(Boolean, default=False)
    expertise_refused: Mapped[bool] = mapped_column(Boolean, default=False)
    limit_state: Mapped[bool] = mapped_column(Boolean, default=False)

    facility: Mapped[Facility] = relationship(lazy="joined")
    organization: Mapped[Organization] = relationship(lazy="select")

    __table_args__ = (
        UniqueConstraint("organization_id", "inventory_key"),
        # The engineers' default order (inventory_no, id) walks this index; the key above
        # makes inventory_no unique in the organization as well.
        Index("ix_equipment_org_inventory_no", "organization_id", "inventory_no", "id"),
        CheckConstraint("service_life_years IS NULL OR service_life_years > 0", name="life_pos"),
        Index("ix_equipment_org_name", "organization_id", "name"),
        # Registry list at 200,000 items (equipment.registry.build; figures: bench/registry.py).
        # The default order walks this index instead of sorting every visible row (admins,
        # regional regulators; engineers walk ix_equipment_org_inventory_no).
        Index("ix_equipment_inventory_no", "inventory_no", "id"),
        # One covering index per scope column (organization: engineers; facility: regional
        # regulators, the facility filter) holding every column the list's filters and
        # computed order (wear, flags, band) read: COUNT(*) becomes an index-only scan of the
        # scope's entries, and SQLite sorts by wear without reading the rows that do not make
        # the page. They replace the former (organization_id, status | device_type |
        # critical_on | life_end | must_plan_on | next_inspection_due) and (facility_id,
        # inventory_no) indexes: given "organization_id = ?" or "facility_id IN (...)",
        # SQLite picked those narrower ones and then read every row of the scope.
        Index(
            "ix_equipment_org_cover",
            "organization_id",
            "device_type",
            "status",
            "wear_base_pct",
            "wear_base_day",
            "life_days",
            "critical_on",
            "warning_on",
            "life_end",
            "must_plan_on",
            "next_inspection_due",
            "cycles_exhausted",
            "facility_id",
        ),
        Index(
            "ix_equipment_facility_cover",
            "facility_id",
            "inventory_no",  # the facility filter's default order
            "device_type",
            "status",
            "wear_base_pct",
            "wear_base_day",
            "life_days",
            "critical_on",
            "warning_on",
            "life_end",
            "must_plan_on",
            "next_inspection_due",
            "cycles_exhausted",
            "organization_id",
        ),
    )

    AUDITED = (
        "facility_id",
        "inventory_no",
        "name",
        "device_type",
        "model",
        "manufacturer",
        "factory_no",
        "registration_no",
        "manufacture_year",
        "commissioned_on",
        "service_life_years",
        "service_life_source",
        "cycle_limit",
        "cycle_count",
        "pressure_mpa",
        "temperature_c",
        "medium",
        "capacity",
        "status",
        "notes",
    )

    @classmethod
    def scope_clause(cls, scope: Scope):
        if scope.organization_id is not None:
            return cls.organization_id == scope.organization_id
        if scope.region_id is not None:
            return cls.facility_id.in_(
                select(Facility.id).where(Facility.region_id == scope.region_id)
            )
        return false()

    @validates("inventory_no")
    def _fold_inventory_no(self, _name: str, number: str | None) -> str | None:
        self.inventory_key = None if number is None else inventory_key(number)
        return number

    def __str__(self) -> str:
        return f"{self.inventory_no} — {self.name}"


class _EquipmentChild:
    """Assessments and inspections are visible exactly when their equipment is."""

    @classmethod
    def scope_clause(cls, scope: Scope):
        return cls.equipment_id.in_(select(Equipment.id).where(Equipment.scope_clause(scope)))


class ConditionAssessment(_EquipmentChild, Base):
    __tablename__ = "condition_assessments"

    id: Mapped[int] = mapped_column(primary_key=True)
    equipment_id: Mapped[int] = mapped_column(ForeignKey("equipment.id", ondelete="CASCADE"))
    assessed_on: Mapped[date] = mapped_column(Date)
    wear_pct: Mapped[float] = mapped_column(Float)
    method: Mapped[AssessmentMethod] = mapped_column(str_enum(AssessmentMethod))
    condition: Mapped[Condition | None] = mapped_column(str_enum(Condition))
    residual_life_years: Mapped[float | None] = mapped_column(Float)
    document_ref: Mapped[str | None] = mapped_column(String(200))
    notes: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    equipment: Mapped[Equipment] = relationship()

    __table_args__ = (
        CheckConstraint("wear_pct >= 0 AND wear_pct <= 100", name="wear_range"),
        Index("ix_condition_assessments_equipment_on", "equipment_id", "assessed_on", "id"),
    )

    AUDITED = (
        "assessed_on",
        "wear_pct",
        "method",
        "condition",
        "residual_life_years",
        "document_ref",
        "notes",
    )


class Inspection(_EquipmentChild, Base):
    """Technical examinations, hydraulic tests, diagnostics and industrial-safety expertise.

    One table for all kinds: they share dates, result and document; an expertise may also
    extend the service life (``extended_until``) or refuse further use (result REFUSED).
    """

    __tablename__ = "inspections"

    id: Mapped[int] = mapped_column(primary_key=True)
    equipment_id: Mapped[int] = mapped_column(ForeignKey("equipment.id", ondelete="CASCADE"))
    kind: Mapped[InspectionKind] = mapped_column(str_enum(InspectionKind))
    done_on: Mapped[date] = mapped_column(Date)
    next_due_on: Mapped[date | None] = mapped_column(Date)
    result: Mapped[InspectionResult] = mapped_column(str_enum(InspectionResult))
    extended_until: Mapped[date | None] = mapped_column(Date)
    document_no: Mapped[str | None] = mapped_column(String(120))
    organization_name: Mapped[str | None] = mapped_column(String(300))  # who performed it
    notes: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    equipment: Mapped[Equipment] = relationship()

    __table_args__ = (
        Index("ix_inspections_equipment_kind_on", "equipment_id", "kind", "done_on", "id"),
    )

    AUDITED = (
        "kind",
        "done_on",
        "next_due_on",
        "result",
        "extended_until",
        "document_no",
        "organization_name",
        "notes",
    )

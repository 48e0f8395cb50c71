"""The fields a list's columns can fill, and what they are called.

``FIELD_LABELS`` are the names the registry's template titles its columns with, which the
header step recognises as well: data, like the aliases, not messages to translate.
"""

from __future__ import annotations

FIELDS: tuple[str, ...] = (
    "inventory_no", "name", "device_type", "model", "manufacturer", "factory_no",
    "registration_no", "manufacture_year", "commissioned_on", "service_life_years",
    "cycle_limit", "cycle_count", "pressure_mpa", "temperature_c", "medium", "capacity",
    "status", "notes", "facility_code", "facility_name", "wear_pct", "assessed_on",
    "last_inspection_on", "next_inspection_on",
)  # fmt: skip
REQUIRED_FIELDS: tuple[str, ...] = ("inventory_no", "name")

# How the fields are called in messages
FIELD_LABELS: dict[str, str] = {
    "inventory_no": "Инвентарный номер",
    "name": "Наименование",
    "device_type": "Вид устройства",
    "model": "Марка (модель)",
    "manufacturer": "Изготовитель",
    "factory_no": "Заводской номер",
    "registration_no": "Регистрационный номер",
    "manufacture_year": "Год изготовления",
    "commissioned_on": "Дата ввода в эксплуатацию",
    "service_life_years": "Срок службы, лет",
    "cycle_limit": "Предельное число циклов",
    "cycle_count": "Наработка, циклов",
    "pressure_mpa": "Рабочее давление, МПа",
    "temperature_c": "Рабочая температура, °C",
    "medium": "Рабочая среда",
    "capacity": "Грузоподъёмность / вместимость",
    "status": "Статус",
    "notes": "Примечание",
    "facility_code": "Код ОПО",
    "facility_name": "ОПО",
    "wear_pct": "Износ, %",
    "assessed_on": "Дата оценки износа",
    "last_inspection_on": "Дата последнего освидетельствования",
    "next_inspection_on": "Дата следующего освидетельствования",
}

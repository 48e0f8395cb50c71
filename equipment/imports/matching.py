"""Which facility of the organization a row names, and when two cell values are the same.

Codes match whatever the case, the separators and the look-alike Cyrillic letters («ОПО-01»
typed in Cyrillic is OPO-01); names whatever the quotes, the numbering, a leading «ОПО» or the
registration number in brackets. New facilities get codes unique in the organization."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from equipment.models import Facility

# Cyrillic letters that look like Latin ones: «ОПО-01» typed in Cyrillic is the code OPO-01
_LOOKALIKE_CODES = str.maketrans("АВЕКМНОРСТУХІЁ", "ABEKMHOPCTYXIE")
_CODE_SEPARATORS = re.compile(r"[\s\-‐‑‒–—―_/.№#:]+")


_TRANSLIT = str.maketrans(
    {
        **dict(
            zip("АБВГДЕЁЗИЙКЛМНОПРСТУФЫЭІӘҒҚҢӨҰҮҺ", "ABVGDEEZIYKLMNOPRSTUFYEIAGKNOUUH", strict=True)
        ),
        "Ж": "ZH", "Х": "KH", "Ц": "TS", "Ч": "CH", "Ш": "SH", "Щ": "SCH", "Ю": "YU", "Я": "YA",
        "Ъ": "", "Ь": "",
    }
)  # fmt: skip


def facility_code_key(text: str | None) -> str:
    """How facility codes are compared: case, look-alike letters and separators do not count."""
    upper = str(text or "").upper().translate(_LOOKALIKE_CODES)
    return _CODE_SEPARATORS.sub("", upper)


def facility_code_keys(text: str | None) -> tuple[str, str]:
    """The code with Cyrillic letters read as their Latin look-alikes («ВК-01» is BK-01) and
    transliterated («ОПО-01» is OPO-01): a code matches when either reading does."""
    upper = str(text or "").upper()
    return (
        _CODE_SEPARATORS.sub("", upper.translate(_LOOKALIKE_CODES)),
        _CODE_SEPARATORS.sub("", upper.translate(_TRANSLIT)),
    )


_QUOTES = re.compile(r"[«»\"“”„‟'’`‘]")
_REGISTRATION = re.compile(r"\((?=[^)]*(?:рег|\d{2,}-\d{3,}))[^)]*\)|,?\s*рег\.?\s*№\s*\S+$")
_NUMBERING = re.compile(r"^\s*\d{1,3}(?:\.\d{1,3})*\s*[.)]\s+")
_FACILITY_WORD = re.compile(
    r"^\s*(?:опасный\s+производственный\s+объект|объект\s+опо|опо|қөо|объект|facility)"
    r"\s*[:\-–—]?\s*"
)
_NUMBER_SIGN = re.compile(r"(?:№|(?<![a-zа-я])n\.?|(?<![a-zа-я])no\.?|#)\s*(?=\d)")


def facility_name_key(text: str | None) -> str:
    """How facility names are compared: «ОПО «Котельная № 2» (рег. № А12-00001-0002)», «1.
    Котельная N2» and «Котельная №2» are one name. The registration number in brackets is left
    out (facilities do not record one)."""
    name = " ".join(str(text or "").replace("ё", "е").replace("Ё", "Е").split()).casefold()
    name = _REGISTRATION.sub(" ", name)
    name = _QUOTES.sub(" ", name)
    name = _NUMBERING.sub("", name)
    for _ in range(2):  # «ОПО: объект «…»»
        name = _FACILITY_WORD.sub("", name).strip()
    name = _NUMBER_SIGN.sub(" №", name)
    return " ".join(name.split()).strip(" .,:;-")


def _same(a, b) -> bool:
    if a == b:  # most cells of a re-loaded list (str enums compare equal to their values)
        return True
    if isinstance(a, float | int) and isinstance(b, float | int):
        return abs(float(a) - float(b)) < 1e-9
    if hasattr(a, "value"):
        a = a.value
    if hasattr(b, "value"):
        b = b.value
    return a == b


class _Facilities:
    """The organization's facilities, matched by code or by name: case, spacing, quotes,
    look-alike letters, «№ 1» / «N1», a leading «ОПО» or numbering do not count."""

    def __init__(self, session: Session, org_id: int):
        rows = session.execute(
            select(Facility.id, Facility.code, Facility.name).where(
                Facility.organization_id == org_id
            )
        ).all()
        self.ids = {r.id for r in rows}
        self.codes = {r.id: r.code for r in rows}
        self.names = {r.id: r.name for r in rows}
        self.by_code: dict[str, int] = {}
        self.by_name: dict[str, int] = {}
        for r in sorted(rows, key=lambda r: r.id):
            self.by_code.setdefault(facility_code_key(r.code), r.id)
        for r in sorted(rows, key=lambda r: r.id):  # exact readings first, then transliterated
            self.by_code.setdefault(facility_code_keys(r.code)[1], r.id)
            self.by_name.setdefault(facility_name_key(r.name), r.id)
        self.taken_codes = {r.code.casefold() for r in rows}
        self.resolved: dict[str, int | None] = {}

    def resolve(self, label: str | None) -> int | None:
        if not label:
            return None
        try:
            return self.resolved[label]  # a list names its few facilities on every row
        except KeyError:
            found = self.resolved[label] = self._resolve(label)
            return found

    def _resolve(self, label: str) -> int | None:
        alike, transliterated = facility_code_keys(label)
        found = self.by_code.get(alike)
        if found is None:
            found = self.by_code.get(transliterated)
        if found is None:
            found = self.by_name.get(facility_name_key(label))
        return found

    def resolve_values(self, values: dict[str, Any]) -> int | None:
        return self.resolve(values.get("facility_code")) or self.resolve(
            values.get("facility_name")
        )

    def label(self, values: dict[str, Any], default: int | None) -> str | None:
        """The facility of a row as the file should state it: the registry's code when known."""
        label = values.get("facility_code") or values.get("facility_name")
        if not label:
            return self.codes.get(default)
        facility_id = self.resolve_values(values)
        return self.codes[facility_id] if facility_id else " ".join(str(label).split())

    def new_code(self, label: str) -> str:
        """A code for a new facility, unique in the organization (40 characters at most):
        the label itself when it fits, else its start with «-2», «-3»… as needed."""
        base = label if len(label) <= 40 else label[:40].rsplit(" ", 1)[0].rstrip(" ,.;:-–—")
        base = base[:40] or "ОПО"
        code, n = base, 1
        while code.casefold() in self.taken_codes:
            n += 1
            suffix = f"-{n}"
            code = base[: 40 - len(suffix)].rstrip() + suffix
        self.taken_codes.add(code.casefold())
        return code

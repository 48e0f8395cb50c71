"""Cell value parsers. Each returns ``(value, None)`` or ``(None, Message)`` (``messages``).

They take what python-calamine gives (str, float, int, bool, date, datetime, None) and are
written for speed: a fast path for the common type first, regular expressions compiled once,
and caches for the closed lists (device types, statuses) whose spellings repeat.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from datetime import date, datetime, time, timedelta
from typing import Any

from core import clock
from equipment.catalog import DeviceType, EquipmentStatus
from equipment.imports.excel.messages import N_, Message

Parsed = tuple[Any, Message | None]

MIN_YEAR = 1900
MAX_YEAR = 2100
_EXCEL_EPOCH = date(1899, 12, 30)
_MAX_SERIAL = 2958465  # 31.12.9999

PLACEHOLDERS = frozenset(
    ("-", "--", "---", "–", "—", "н/д", "нд", "н.д.", "нет данных", "n/a", "na")
)
# What Excel shows for a formula that failed, in English and Russian Excel: never an empty cell
# (an empty cell erases the registry's value on an update), always an invalid one
ERROR_LITERALS = frozenset(
    (
        "#N/A", "#REF!", "#DIV/0!", "#VALUE!", "#NAME?", "#NUM!", "#NULL!", "#GETTING_DATA",
        "#SPILL!", "#CALC!", "#Н/Д", "#ССЫЛКА!", "#ДЕЛ/0!", "#ЗНАЧ!", "#ИМЯ?", "#ЧИСЛО!",
        "#ПУСТО!",
    )
)  # fmt: skip


class CellError:
    """An error cell of the file (#N/A, #DIV/0!…); calamine reads them as empty, the reader
    puts this in their place."""

    __slots__ = ("code",)

    def __init__(self, code: str):
        self.code = code

    def __repr__(self) -> str:
        return f"CellError({self.code!r})"

    def __str__(self) -> str:
        return self.code

    def __eq__(self, other: object) -> bool:
        return isinstance(other, CellError) and other.code == self.code

    def __hash__(self) -> int:
        return hash(("CellError", self.code))


def formula_error(value: Any) -> Message | None:
    """«ошибка в формуле: #N/A» for an error cell or a text that is an Excel error, else None."""
    if value.__class__ is CellError:
        code = value.code
    elif value.__class__ is str and "#" in value[:3] and value.strip().upper() in ERROR_LITERALS:
        code = value.strip()
    else:
        return None
    return N_("formula error: %(code)s; correct the formula or enter a value", code=code)


def is_blank(value: Any) -> bool:
    """Empty cell, whitespace, or a «no data» placeholder such as «—» or «н/д»."""
    if value is None:
        return True
    if value.__class__ is str:
        text = value.strip()
        return not text or (len(text) <= 10 and text.lower() in PLACEHOLDERS)
    return False


def display(value: Any) -> str:
    """A cell value as the user sees it, for error reports."""
    if value is None:
        return ""
    if value.__class__ is CellError:
        return value.code
    if isinstance(value, bool):
        return "ИСТИНА" if value else "ЛОЖЬ"
    if isinstance(value, datetime):
        if value.time() == time(0, 0):
            return value.strftime("%d.%m.%Y")
        return value.strftime("%d.%m.%Y %H:%M")
    if isinstance(value, date):
        return value.strftime("%d.%m.%Y")
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e16:
            return str(int(value))
        return f"{value:.15g}"
    return str(value).strip()


def column_letter(index: int) -> str:
    """0 → «A», 26 → «AA»: a 0-based column as Excel names it."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def is_column_numbers_row(row: Sequence[Any]) -> bool:
    """A line «1 2 3 4 …» (as numbers or text): the column numbers under a header."""
    numbers: list[int] = []
    for value in row:
        if value is None:
            continue
        if isinstance(value, bool):
            return False
        if isinstance(value, int | float) and float(value).is_integer():
            numbers.append(int(value))
        elif isinstance(value, str) and value.strip().isdecimal():
            numbers.append(int(value.strip()))
        elif isinstance(value, str) and not value.strip():
            continue
        else:
            return False
    if len(numbers) < 3:
        return False
    return all(b == a + 1 for a, b in zip(numbers, numbers[1:], strict=False))


# ---------------------------------------------------------------------------- text


_FACILITY_CODE = re.compile(r"^(?:[A-Za-zА-Яа-яЁё]{1,6}[-_/.]?)?\d{1,10}(?:[-/.]\d{1,6})*$")
_CODE_AND_NAME = re.compile(r"^(\S+)\s*(?:[-–—:]\s*|\s)(.+)$")


def split_facility(text: str) -> tuple[str | None, str | None]:
    """«OPO-02» → code; «OPO-02 Котельная №2» → code and name; «Котельная №2» → name."""
    if _FACILITY_CODE.match(text):
        return text, None
    match = _CODE_AND_NAME.match(text)
    if match and _FACILITY_CODE.match(match[1]) and any(c.isalpha() for c in match[2]):
        return match[1], match[2].strip()
    return None, text


def parse_text(value: Any) -> Parsed:
    """Trimmed text with inner whitespace collapsed; numbers without a trailing «.0»."""
    if value.__class__ is str:
        text = " ".join(value.split())
        return (text or None), None
    return display(value) or None, None


# ---------------------------------------------------------------------------- numbers

_NUMBER = re.compile(r"\s*([+\-−]?)\s*(\d[\d \u00a0\u202f\u2009\u2007'’.,]*)(.*)$", re.S)
_UNIT_TAIL = re.compile(r"\s*(?:%|°|[^\W\d_])[^\n]{0,24}$")
_SEPARATORS = str.maketrans("", "", " \u00a0\u202f\u2009\u2007'’")
_GROUPED = re.compile(r"\d{1,3}(?:[.,]\d{3})+$")


def _number_from_text(text: str) -> float | None:
    try:
        number = float(text)
    except ValueError:
        pass
    else:
        return number if math.isfinite(number) else None
    match = _NUMBER.match(text)
    if match is None:
        return None
    sign, core, tail = match.groups()
    if tail and not _UNIT_TAIL.match(tail):
        return None
    core = _plain_digits(core.translate(_SEPARATORS).rstrip(".,"))
    if core is None:
        return None
    number = float(core)  # «999…9» beyond the float range gives inf, not an error
    if not math.isfinite(number):
        return None
    return -number if sign in ("-", "−") else number


def _plain_digits(core: str) -> str | None:
    """«1234,5» → «1234.5»; «1.234,5» and «1,234.5» → «1234.5»; «12.5.2015» → None."""
    commas, dots = core.count(","), core.count(".")
    if commas and dots:  # the last separator is the decimal one, the other groups thousands
        decimal = "," if core.rfind(",") > core.rfind(".") else "."
        whole, _, fraction = core.rpartition(decimal)
        if not _GROUPED.match(whole) or not fraction.isdecimal():
            return None
        return whole.replace("," if decimal == "." else ".", "") + "." + fraction
    if commas + dots == 0:
        return core
    if commas + dots == 1:
        return core.replace(",", ".")
    return core.replace(",", "").replace(".", "") if _GROUPED.match(core) else None


_UNIT_SPLIT = re.compile(r"\s*([+\-−]?\s*\d[\d \u00a0\u202f\u2009\u2007'’.,]*)\s*(.*?)\s*$", re.S)


def number_and_unit(value: Any) -> tuple[float | None, str]:
    """(number, the unit written after it, lower case without the final dot) of a cell:
    «14 кгс/см2» → (14.0, «кгс/см2»); a plain number → (number, «»); None when unreadable."""
    cls = value.__class__
    if cls is float or cls is int:
        return _finite(value), ""
    if cls is not str:
        return None, ""
    try:
        number = float(value)
    except ValueError:
        pass
    else:
        return (number if math.isfinite(number) else None), ""
    match = _UNIT_SPLIT.match(value)
    if match is None:
        return None, ""
    number = _number_from_text(match[1].strip())
    if number is None:
        return None, ""
    unit = match[2].lower().replace("ё", "е").rstrip(".").strip()
    return number, unit


def ambiguous_thousands(value: Any) -> bool:
    """«10,000» or «10.000» in a whole-number field: 10 with a decimal comma, or 10 000 with a
    thousands separator? Both are whole numbers, so the reading cannot be told from the cell."""
    if value.__class__ is not str:
        return False
    return _AMBIGUOUS.match(value) is not None


_AMBIGUOUS = re.compile(r"\s*[+\-−]?\d{1,3}[.,]\d{3}(?!\d)(?:\s*[^\d\s.,].*)?\s*$", re.S)


def not_number(value: Any, expected: Message) -> Message:
    return N_(
        "not a number: «%(value)s»; expected %(expected)s", value=display(value), expected=expected
    )


NUMBER_EXPECTED = N_("a number")
WEAR_RANGE = N_("wear must be from 0 to 100 %")


def parse_number(value: Any) -> Parsed:
    """A number: decimal commas, spaces and non-breaking spaces as thousands separators, a unit
    or «%» after the number («1,4 МПа», «20 лет»)."""
    cls = value.__class__
    if cls is float or cls is int:
        number = _finite(value)
    elif cls is str:
        number = _number_from_text(value)
    else:
        number = None
    return (number, None) if number is not None else (None, not_number(value, NUMBER_EXPECTED))


def parse_percent(value: Any, *, fraction: bool = False) -> Parsed:
    """Percent 0..100 from «45», «45 %», «45,5%»; with ``fraction`` (the column holds fractions
    shown in percent format) a number without «%» is multiplied by 100: 0.45 → 45."""
    cls = value.__class__
    number: float | None = None
    if cls is float or cls is int:
        number = _finite(value)
    elif cls is str:
        text = value
        if "%" in text:
            fraction = False
            text = text.replace("%", " ")
        number = _number_from_text(text.strip())
    if number is not None and fraction:
        number = round(number * 100, 6)
    if number is None:
        return None, not_number(value, N_("wear in percent from 0 to 100"))
    if not 0 <= number <= 100:
        return None, WEAR_RANGE
    return number, None


def _finite(value: float | int) -> float | None:
    """A float of a cell number; None for inf, nan and an int too large for a float."""
    try:
        number = float(value)
    except OverflowError:
        return None
    return number if math.isfinite(number) else None


# ---------------------------------------------------------------------------- dates

_TIME = r"(?:[ T]+\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?"
_YEAR_WORD = r"(?:\s*(?:г|год|года|гг|y|yr|жыл|ж)\.?)?"
_DMY = re.compile(r"\s*(\d{1,2})[./\-](\d{1,2})[./\-](\d{4}|\d{2})" + _YEAR_WORD + _TIME + r"\s*$")
_YMD = re.compile(r"\s*(\d{4})[./\-](\d{1,2})[./\-](\d{1,2})" + _TIME + r"\s*$")
_YEAR = re.compile(r"\s*(\d{4})" + _YEAR_WORD + r"\s*$")
_MONTH_YEAR = re.compile(r"\s*(\d{1,2})[./](\d{4})" + _YEAR_WORD + r"\s*$")
_TEXT_DATE = re.compile(r"\s*(?:(\d{1,2})\s+)?([^\W\d_]+)\.?\s+(\d{4})" + _YEAR_WORD + r"\s*$")
_MONTHS = {
    "янв": 1, "фев": 2, "мар": 3, "апр": 4, "мая": 5, "май": 5, "июн": 6, "июл": 7, "авг": 8,
    "сен": 9, "окт": 10, "ноя": 11, "дек": 12,
    "jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6, "jul": 7, "aug": 8, "sep": 9,
    "oct": 10, "nov": 11, "dec": 12,
    "қаң": 1, "ақп": 2, "нау": 3, "сәу": 4, "мам": 5, "мау": 6, "шіл": 7, "там": 8, "қыр": 9,
    "қаз": 10, "қар": 11, "жел": 12,
}  # fmt: skip


def _not_a_date(shown: str) -> tuple[None, Message, bool]:
    return (
        None,
        N_("not a date: «%(value)s»; expected a date as DD.MM.YYYY, e.g. 26.12.1979", value=shown),
        False,
    )


def two_digit_year(yy: int, today: date | None = None) -> int:
    """«79» → 1979, «24» → 2024: up to ten years ahead of today counts as this century (the
    next inspection date may lie ahead), everything else as the last one."""
    pivot = ((today or clock.today()).year + 10) % 100
    return 2000 + yy if yy <= pivot else 1900 + yy


def parse_date_ex(value: Any, past: bool = False) -> tuple[date | None, str | None, bool]:
    """``(date, error, approximate)``; approximate is True when only the year (and maybe the
    month) was given, e.g. «2015 г.» → 01.01.2015. With ``past`` (a commissioning or an
    examination that took place) a two-digit year is never read as a future one: «01.01.35»
    is 1935."""
    cls = value.__class__
    if cls is date:
        return _in_range(value, value)
    if cls is datetime:
        return _in_range(value.date(), value)
    if cls is float or cls is int:
        return _date_from_number(value)
    if cls is str:
        return _date_from_text(value, past)
    if isinstance(value, datetime):
        return _in_range(value.date(), value)
    if isinstance(value, date):
        return _in_range(value, value)
    return _not_a_date(display(value))


def parse_date(value: Any) -> Parsed:
    result, error, _ = parse_date_ex(value)
    return result, error


def _date_from_number(value: float) -> tuple[date | None, str | None, bool]:
    # compared, not converted: nan and ±inf fail the range, a huge int does not overflow
    if not MIN_YEAR <= value <= _MAX_SERIAL:
        return _not_a_date(display(value))
    if value <= MAX_YEAR and float(value).is_integer():  # a bare year, not a serial number
        return date(int(value), 1, 1), None, True
    return _in_range(_EXCEL_EPOCH + timedelta(days=int(value)), value)


def _date_from_text(text: str, past: bool = False) -> tuple[date | None, str | None, bool]:
    approximate = False
    match = _DMY.match(text)
    if match:
        day, month, year = int(match[1]), int(match[2]), match[3]
        number = int(year) if len(year) == 4 else two_digit_year(int(year))
        if len(year) == 2 and past and number > clock.today().year:
            number -= 100
    elif match := _YMD.match(text):
        number, month, day = int(match[1]), int(match[2]), int(match[3])
    elif match := _YEAR.match(text):
        number, month, day, approximate = int(match[1]), 1, 1, True
    elif match := _MONTH_YEAR.match(text):
        number, month, day, approximate = int(match[2]), int(match[1]), 1, True
    elif (match := _TEXT_DATE.match(text)) and match[2][:3].lower() in _MONTHS:
        month = _MONTHS[match[2][:3].lower()]
        number, day, approximate = int(match[3]), int(match[1] or 1), match[1] is None
    else:
        stripped = text.strip()
        number_value = _number_from_text(stripped) if stripped.isdecimal() else None
        if number_value is not None and len(stripped) == 5:  # a serial number stored as text
            return _date_from_number(number_value)
        return _not_a_date(stripped)
    try:
        result = date(number, month, day)
    except ValueError:
        return None, N_("no such date: %(value)s", value=text.strip()), False
    found, error, _ = _in_range(result, text)
    return found, error, approximate and error is None


def _in_range(result: date, raw: Any) -> tuple[date | None, str | None, bool]:
    if MIN_YEAR <= result.year <= MAX_YEAR:
        return result, None, False
    return (
        None,
        N_(
            "date out of range: «%(value)s»; expected a year from %(min)s to %(max)s",
            value=display(raw),
            min=MIN_YEAR,
            max=MAX_YEAR,
        ),
        False,
    )


def parse_year(value: Any) -> Parsed:
    """A year: 1985, «1985», «1985 г.», or the year of a date («26.12.1985»)."""
    cls = value.__class__
    if cls is float or cls is int:
        if 1000 <= value <= 9999 and float(value).is_integer():  # nan and inf fail the range
            return int(value), None
    elif cls is str:
        match = _YEAR.match(value)
        if match:
            return int(match[1]), None
        found, error, _ = _date_from_text(value)
        if found is not None:
            return found.year, None
    elif isinstance(value, date):
        return value.year, None
    return None, N_(
        "not a year: «%(value)s»; expected a year of four digits, e.g. 1985", value=display(value)
    )


# ---------------------------------------------------------------------------- closed lists


def _words(text: str) -> list[str]:
    text = text.lower().replace("ё", "е")
    return re.findall(r"[0-9a-zа-яәғқңөұүһі]+", text)


def _has(words: list[str], *patterns: str) -> bool:
    """Any word equal to a pattern, or starting with it when the pattern ends with «*»; a
    pattern «пар+» is the word with a Russian ending only (пар, пара, паровой; not парк)."""
    for pattern in patterns:
        if pattern.endswith("*"):
            stem = pattern[:-1]
            if any(w.startswith(stem) for w in words):
                return True
        elif pattern.endswith("+"):
            stem = pattern[:-1]
            if any(w.startswith(stem) and _ENDING.fullmatch(w[len(stem) :]) for w in words):
                return True
        elif pattern in words:
            return True
    return False


# what may follow a stem in «пар+»: an inflection, or the -ов-/-ян- of an adjective
_ENDING = re.compile(
    r"(?:|а|у|ом|е|ы|ов|ам|ами|ах|о|"
    r"(?:ов|ев|н|ян|ан)(?:ой|ый|ий|ая|ое|ые|ого|ому|ым|ых|ую|ой|ыми|им|ими)?)"
)


_BOILER = ("котел", "котл*", "котло*", "boiler*", "қазан*", "парогенератор*")
_PIPE = ("трубопровод*", "pipeline*", "piping", "pipe", "құбыр*")
_STEAM_QUALIFIER = ("пар+", "горяч*", "сетев*", "steam", "hot", "бу", "ыстық")
# «горячего мазута», «горячих нефтепродуктов» are process pipelines; «горячей воды» is not
_PROCESS_HOT = ("мазут*", "нефт*", "битум*", "масл*", "продукт*", "газ*", "oil")
# valves and fittings: not technical devices of the list, whatever «кран» says
_VALVES = (
    "шаров*", "запорн*", "задвижк*", "клапан*", "вентил*", "затвор*", "регулирующ*",
    "обратн*", "valve*", "арматур*", "дроссел*",
)  # fmt: skip


def _device_type_rules(w: list[str]) -> DeviceType | None | str | Message:
    if _has(w, "паропровод*", "теплопровод*"):
        return DeviceType.STEAM_PIPELINE
    if _has(w, *_PIPE):
        # a pipeline carries process media unless it names steam or hot water
        if _has(w, *_STEAM_QUALIFIER) and not _has(w, *_PROCESS_HOT):
            return DeviceType.STEAM_PIPELINE
        return DeviceType.PROCESS_PIPELINE
    if _has(w, *_BOILER):
        if _has(w, "водогрейн*", "hot", "су", "жылыту*", "теплофикац*"):
            return DeviceType.HOT_WATER_BOILER
        if _has(w, "пар*", "steam", "бу"):  # «пароводогрейный» counts as steam
            return DeviceType.STEAM_BOILER
        return N_("specify: a steam boiler or a hot-water boiler")
    if _has(w, "кран*") and _has(w, *_VALVES) or _has(w, "задвижк*", "клапан*", "valve*"):
        return "valve"
    if _has(w, "сосуд*", "ресивер*", "vessel*", "receiver*", "ыдыс*", "баллон*", "автоклав*"):
        return DeviceType.PRESSURE_VESSEL
    if _has(w, "деаэратор*", "cylinder*"):
        return DeviceType.PRESSURE_VESSEL
    if _has(w, "емкост*", "резервуар*") and _has(w, "давлен*", "pressure", "қысым*"):
        return DeviceType.PRESSURE_VESSEL
    if _has(w, "кран*", "автокран*", "crane*", "кранбалк*"):
        return DeviceType.CRANE
    if _has(w, "таль", "тали", "тельфер*", "лебедк*", "лебедоч*", "подъемник*", "hoist*"):
        return DeviceType.HOIST
    if _has(w, "winch*", "telpher*", "шығыр*", "тальк*"):
        return DeviceType.HOIST
    if _has(w, "лифт*", "lift", "lifts", "elevator*"):
        return DeviceType.LIFT
    if _has(w, "эскалатор*", "escalator*", "траволатор*", "travolator*"):
        return DeviceType.ESCALATOR
    if _has(w, "резервуар*", "рвс", "рвсп", "рвспк", "ргс", "tank*", "reservoir*", "емкост*"):
        return DeviceType.TANK
    if _has(w, "грп", "грпш", "шрп", "гру", "пгб", "гргп", "газорегулятор*", "газопровод*"):
        return DeviceType.GAS_EQUIPMENT
    if _has(w, "горелк*", "газоиспольз*", "burner*") or (
        _has(w, "газ*", "gas") and _has(w, "оборуд*", "equipment", "жабды*", "установк*")
    ):
        return DeviceType.GAS_EQUIPMENT
    if _has(w, "горно*", "горношахт*", "шахтн*", "рудничн*", "mining", "mine", "кен", "шахта*"):
        return DeviceType.MINING
    if _has(w, "прочее", "прочие", "другое", "иное", "other", "басқа", "өзге"):
        return DeviceType.OTHER
    return None


_DEVICE_CODES = frozenset(member.value for member in DeviceType)
_device_cache: dict[str, Parsed] = {}


def parse_device_type(value: Any) -> Parsed:
    """A ``DeviceType`` code from the way people write it («Котёл водогрейный», «РВС», «crane»);
    an unknown or ambiguous name is an error, never silently «other»."""
    return _cached(_device_cache, value, _device_type_uncached)


def _cached(cache: dict[str, Parsed], value: Any, parse: Callable[[str], Parsed]) -> Parsed:
    """``parse`` of the cell's text, remembered for the first 10,000 spellings."""
    key = value if value.__class__ is str else display(value)
    found = cache.get(key)
    if found is None:
        found = parse(key)
        if len(cache) < 10_000:
            cache[key] = found
    return found


def _device_type_uncached(text: str) -> Parsed:
    words = _words(text)
    joined = "_".join(words)
    if joined in _DEVICE_CODES:  # the code itself, e.g. «steam_boiler»
        return joined, None
    result = _device_type_rules(words) if words else None
    if isinstance(result, DeviceType):
        return result.value, None
    shown = " ".join(text.split())
    if result == "valve":
        return None, N_(
            "not a technical device of the list? «%(value)s» looks like pipeline valves (ball "
            "valve, gate valve, check valve), which are not technical devices of the registry; "
            "if it is a device of the list after all, give its type",
            value=shown,
        )
    if result.__class__ is Message:
        return None, N_("ambiguous device type: «%(value)s»; %(hint)s", value=shown, hint=result)
    return None, N_(
        "unknown device type: «%(value)s»; expected: a pressure vessel, a steam boiler, a "
        "hot-water boiler, a steam and hot-water pipeline, a process pipeline, gas equipment, a "
        "crane, a hoist/winch, a lift, an escalator, a tank, mining equipment or «other»",
        value=shown,
    )


def _status_rules(w: list[str]) -> EquipmentStatus | None | str:
    """The status a phrase means; a str when it is ambiguous (the reason).

    Negations and phrases first: «эксплуатация запрещена» is suspended, not in service;
    «вывод из эксплуатации» / «выведен из эксплуатации» is decommissioned; a reserve is in
    service (a device kept ready for work stays under supervision and its examinations go on);
    «ожидает списания» is not written off yet: suspended."""
    negated = _has(w, "не", "not", "no", "без", "емес")
    if _has(w, "запрещ*", "prohibit*", "forbidden", "banned", "тыйым*"):
        return EquipmentStatus.SUSPENDED
    if _has(w, "ожида*", "подготов*", "pending", "awaiting", "планир*", "предстоит", "к") and _has(
        w, "списан*", "утилизац*", "демонтаж*", "вывод*", "decommission*", "disposal"
    ):
        return EquipmentStatus.SUSPENDED  # still a device: the decision is not carried out
    if _has(w, "резерв*", "reserve", "standby", "запас*", "резервте"):
        conserved = _has(w, "консерв*", "законсерв*", "conserv*")
        return EquipmentStatus.CONSERVED if conserved else EquipmentStatus.IN_SERVICE
    if _has(w, "временно", "temporarily", "уақытша"):
        return EquipmentStatus.SUSPENDED
    if _has(w, "списан*", "демонтир*", "утилизир*", "decommission*", "retired", "disposed"):
        return "ambiguous" if negated else EquipmentStatus.DECOMMISSIONED
    if _has(w, "written") or _has(w, "есептен*", "шығарыл*"):
        return "ambiguous" if negated else EquipmentStatus.DECOMMISSIONED
    if _has(w, "вывод*", "выведен*", "выведено") and not _has(w, "ремонт*"):
        if _has(w, "эксплуатац*", "работ*", "службы"):
            return "ambiguous" if negated else EquipmentStatus.DECOMMISSIONED
        return "ambiguous"
    if _has(w, "консерв*", "законсерв*", "conserv*", "mothball*"):
        return "ambiguous" if negated else EquipmentStatus.CONSERVED
    if _has(w, "приостан*", "ремонт*", "простой", "простаив*", "suspend*", "неисправ*"):
        return EquipmentStatus.SUSPENDED
    if _has(w, "idle", "repair*", "тоқтат*", "out", "остановлен*", "stopped", "аварийн*"):
        return EquipmentStatus.SUSPENDED
    if _has(w, "эксплуатир*", "эксплуатац*", "работ*", "действ*", "service", "operat*"):
        return EquipmentStatus.SUSPENDED if negated else EquipmentStatus.IN_SERVICE
    if _has(w, "active", "пайдалану*", "жұмыс", "строю", "исправ*", "working", "in"):
        return EquipmentStatus.SUSPENDED if negated else EquipmentStatus.IN_SERVICE
    return None


_STATUSES_EXPECTED = N_(
    "«in service» (a reserve included), «suspended» (repair, idle, operation prohibited, "
    "awaiting write-off), «conserved» or «decommissioned» (taken out of service)"
)
_STATUS_CODES = frozenset(member.value for member in EquipmentStatus)
_status_cache: dict[str, Parsed] = {}


def parse_status(value: Any) -> Parsed:
    """An ``EquipmentStatus`` code («в эксплуатации», «на консервации», «списан», «in service»)."""
    return _cached(_status_cache, value, _status_uncached)


def _status_uncached(text: str) -> Parsed:
    words = _words(text)
    joined = "_".join(words)
    if joined in _STATUS_CODES:
        return joined, None
    result = _status_rules(words) if words else None
    if isinstance(result, EquipmentStatus):
        return result.value, None
    shown = " ".join(text.split())
    if result is None:
        return None, N_(
            "unknown status: «%(value)s»; expected: %(expected)s",
            value=shown,
            expected=_STATUSES_EXPECTED,
        )
    return None, N_(
        "ambiguous status: «%(value)s»; expected: %(expected)s",
        value=shown,
        expected=_STATUSES_EXPECTED,
    )

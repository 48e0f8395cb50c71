"""Step 3 of reading: which row holds the column titles and which title means which field.

Titles are compared as sets of word stems, so case, ё/е, spacing, punctuation, word order,
inflection («последнего»/«последнее»), common abbreviations («Инв. №», «Посл. тех.») and units
(«Износ, %», «Срок службы (лет)», «Рабочее давление, МПа») do not matter.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from equipment.imports.excel.fields import FIELD_LABELS, FIELDS, REQUIRED_FIELDS
from equipment.imports.excel.messages import N_, FileRejected, Message, quoted
from equipment.imports.excel.values import column_letter, is_column_numbers_row


def _phrases(text: str) -> tuple[str, ...]:
    """«a b; c» → ("a b", "c")."""
    return tuple(p.strip() for p in text.split(";") if p.strip())


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


# Aliases in Russian; English; Kazakh, separated by «;». Each is normalised like a title, so
# inflection, word order, abbreviations and units need no separate entries. Each list begins
# with the glossary's label (equipment.glossary, Russian and English: the template's and the
# export's titles); the older titles follow, so files made before still load. A test checks
# that every glossary label is recognised as its field.
ALIASES: dict[str, tuple[str, ...]] = {
    "inventory_no": _phrases("""
        инвентарный номер; inventory number; инв №;
        инвентарный номер; инвентарный номер ту; инвентарный номер оборудования;
        инвентарный номер ос; инв номер;
        inventory no; inventory; inv no; asset no; asset id; asset tag;
        инвентарлық нөмір; түгендеу нөмірі; инв нөмірі"""),
    "name": _phrases("""
        наименование; name;
        наименование; наименование ту; наименование оборудования; наименование устройства;
        наименование основного средства; основное средство; оборудование;
        наименование объекта ос; объект ос; наименование ос; объект основных средств;
        наименование объекта основных средств;
        техническое устройство; наименование и марка;
        name; equipment name; device name; asset name; equipment; description;
        атауы; жабдықтың атауы; техникалық құрылғының атауы; құрылғының атауы"""),
    "device_type": _phrases("""
        вид устройства; device type;
        вид ту; тип ту; тип устройства; вид устройства; тип оборудования; вид оборудования;
        тип; вид; категория ту;
        device type; type; equipment type; asset type; kind;
        түрі; құрылғы түрі; жабдық түрі; техникалық құрылғының түрі; типі"""),
    "model": _phrases("""
        марка (модель); model;
        марка; модель; марка модель; тип марка; марка оборудования;
        model; make model; brand; маркасы; моделі; үлгісі"""),
    "manufacturer": _phrases("""
        изготовитель; manufacturer;
        изготовитель; завод изготовитель; производитель; предприятие изготовитель;
        фирма изготовитель; организация изготовитель;
        manufacturer; maker; vendor; made by;
        дайындаушы; өндіруші; дайындаушы зауыт; өндіруші зауыт"""),
    "factory_no": _phrases("""
        заводской номер; factory number;
        заводской номер; заводской; серийный номер; серийный;
        serial number; serial; sn; factory number;
        зауыттық нөмірі; зауыт нөмірі; сериялық нөмірі"""),
    "registration_no": _phrases("""
        регистрационный номер; registration number;
        регистрационный номер; регистрационный; учетный номер; номер регистрации;
        регистрационный номер в органах гтн;
        registration number; registration; reg no;
        тіркеу нөмірі; есепке алу нөмірі"""),
    "manufacture_year": _phrases("""
        год изготовления; manufacture year;
        год изготовления; год выпуска; дата изготовления; дата выпуска;
        year of manufacture; year built; manufactured; built;
        дайындалған жылы; шығарылған жылы; жасалған жылы"""),
    "commissioned_on": _phrases("""
        дата ввода в эксплуатацию; commissioning date;
        дата ввода в эксплуатацию; год ввода в эксплуатацию; дата ввода;
        введен в эксплуатацию; дата начала эксплуатации;
        commissioned; commissioned on; commissioning date; in service since; put into service;
        пайдалануға берілген күні; пайдалануға енгізілген күні; пайдалануға беру;
        пайдалануға енгізу"""),
    "service_life_years": _phrases("""
        нормативный срок службы, лет; normative service life, years;
        срок службы; нормативный срок службы; назначенный срок службы;
        расчетный срок службы; нормативный срок эксплуатации; срок эксплуатации;
        service life; design life; useful life; lifetime;
        қызмет ету мерзімі; қызмет мерзімі; пайдалану мерзімі;
        нормативтік қызмет ету мерзімі"""),
    "cycle_limit": _phrases("""
        допустимое число циклов нагружения; load-cycle limit;
        предельное число циклов; назначенный ресурс циклов; ресурс циклов;
        допустимое число циклов; допускаемое число циклов нагружения;
        допустимое количество циклов; предельное количество циклов;
        cycle limit; design cycles; rated cycles; циклдер шегі"""),
    "cycle_count": _phrases("""
        наработано циклов нагружения; load cycles so far;
        наработка циклов; число циклов; количество циклов; фактическое число циклов;
        cycle count; cycles; number of cycles; cycles used; циклдер саны"""),
    "pressure_mpa": _phrases("""
        рабочее давление, мпа; working pressure, mpa;
        рабочее давление; давление; разрешенное давление;
        pressure; working pressure; operating pressure;
        жұмыс қысымы; қысым; рұқсат етілген қысым"""),
    "temperature_c": _phrases("""
        рабочая температура, °c; working temperature, °c;
        рабочая температура; температура; температура среды;
        temperature; working temperature; operating temperature; жұмыс температурасы"""),
    "medium": _phrases("""
        рабочая среда; working medium;
        рабочая среда; среда; medium; working medium; fluid; жұмыс ортасы; орта"""),
    "capacity": _phrases("""
        вместимость / грузоподъемность; capacity / load;
        грузоподъемность; вместимость; объем; емкость; производительность;
        паропроизводительность; теплопроизводительность; мощность;
        capacity; load capacity; volume; output;
        жүк көтергіштігі; сыйымдылығы; көлемі; өнімділігі"""),
    "status": _phrases("""
        статус; status;
        статус; эксплуатационный статус; статус эксплуатации; состояние эксплуатации;
        status; operating status; мәртебесі"""),
    "notes": _phrases("""
        примечание; notes;
        примечание; комментарий; замечания;
        notes; remarks; comment; ескерту; ескертпе"""),
    "facility_code": _phrases("""
        код опо; facility code;
        код опо; код объекта; регистрационный номер опо; номер опо;
        facility code; site code; hpf code; facility id;
        қөо коды; қөо тіркеу нөмірі"""),
    "facility_name": _phrases("""
        наименование опо; facility name;
        опо; наименование опо; объект; наименование объекта;
        опасный производственный объект; площадка;
        facility; facility name; site; site name;
        қөо; қөо атауы; объектінің атауы; қауіпті өндірістік объект"""),
    "wear_pct": _phrases("""
        физический износ, %; physical wear, %;
        износ; физический износ; процент износа; степень износа; износ фактический;
        wear; physical wear; wear percent; тозу; физикалық тозу; тозу дәрежесі"""),
    "assessed_on": _phrases("""
        дата оценки; assessment date;
        дата оценки износа; дата оценки; дата определения износа; износ на дату;
        assessed on; assessment date; wear assessed on; бағалау күні; тозуды бағалау күні"""),
    "last_inspection_on": _phrases("""
        дата последнего освидетельствования; last examination date;
        дата последнего технического освидетельствования; последнее освидетельствование;
        дата освидетельствования; дата последнего то; последний осмотр; последнее то;
        техническое освидетельствование дата проведения; дата проведения освидетельствования;
        техническое освидетельствование проведено; техническое освидетельствование последнее;
        last examination; last inspection; last examined; date of last inspection; inspected;
        соңғы техникалық куәландыру; соңғы куәландыру; соңғы куәландыру күні"""),
    "next_inspection_on": _phrases("""
        дата следующего освидетельствования; next examination date;
        дата следующего технического освидетельствования; следующее освидетельствование;
        очередное освидетельствование; срок следующего освидетельствования;
        срок освидетельствования; дата следующего то; очередное то; следующее то;
        дата очередного освидетельствования; техническое освидетельствование дата следующего;
        техническое освидетельствование очередное; техническое освидетельствование следующее;
        next examination; next inspection; inspection due; due date;
        келесі техникалық куәландыру; келесі куәландыру; келесі куәландыру күні"""),
}

# Titles that are known but carry no field: the running-number column («№ п/п»)
ROW_NUMBER_TITLES = _phrases("№ п/п; п/п; №; пп; no; р/с; реттік нөмірі; row")

# Abbreviations and synonyms expanded before stemming
_ABBREVIATIONS: dict[str, tuple[str, ...]] = {
    "инв": ("инвентарный",),
    "зав": ("заводской",),
    "рег": ("регистрационный",),
    "посл": ("последний",),
    "послед": ("последний",),
    "след": ("следующий",),
    "очер": ("очередной",),
    "тех": ("технический",),
    "техн": ("технический",),
    "изг": ("изготовления",),
    "изгот": ("изготовления",),
    "вып": ("выпуска",),
    "наим": ("наименование",),
    "ту": ("техническое", "устройство"),
    "кол": ("количество",),
    "эксп": ("эксплуатация",),
    "экспл": ("эксплуатация",),
    "осв": ("освидетельствование",),
    "освид": ("освидетельствование",),
    "примеч": ("примечание",),
    "прим": ("примечание",),
    "инвентарлық": ("инвентарный",),
    "no": ("номер",),
    "nr": ("номер",),
    "num": ("номер",),
    "number": ("номер",),
    "нөмір": ("номер",),
    "нөмірі": ("номер",),
    "нөм": ("номер",),
}
_STOPWORDS = frozenset(_words("в и на по с со из для от а of the in and for to at on by және мен"))
# Units that may follow a title; they never decide the field
UNIT_TOKENS = frozenset(
    _words(
        "мпа кпа па бар атм ат ати кгс см2 см кг т тн тонн тонна тонны м м3 м2 мм л литр литров "
        "лет год года годы г мес месяц месяцев шт ед с c град градусов квт мвт вт гкал ккал ч час "
        "руб тенге тг дд мм гг гггг дата кн тс "
        "mpa kpa bar atm psi kg t m mm m3 l years yrs year months pcs h kw mw kn "
        "жыл ай дана"
    )
)
# Words that only say «this is a date or a year»; a title is also tried without them
_DATE_WORDS = ("дата", "date", "күні", "год", "year", "жылы", "жыл")

_TOKEN_RE = re.compile(r"[0-9a-zа-яәғқңөұүһі]+")
_RU_ENDINGS = tuple(
    sorted(
        _words(
            "ого его ому ему ыми ими ами ями ая яя ое ее ые ие ых их ую юю ый ий ой ей ия ии ию "
            "ов ев ам ям ах ях ом ем а я о е ы и у ю ь"
        ),
        key=len,
        reverse=True,
    )
)
_CYRILLIC = re.compile(r"[а-я]")


def _stem(token: str) -> str:
    if _CYRILLIC.search(token):
        for ending in _RU_ENDINGS:
            if token.endswith(ending) and len(token) - len(ending) >= 3:
                return token[: -len(ending)]
        return token
    if len(token) > 3 and token.endswith("s") and not token.endswith("ss"):
        return token[:-1]
    return token


_HYPHEN_BREAK = re.compile(r"(\w)[-\u00ad\u2010]\s*\n\s*(\w)")
# Latin letters typed for their Cyrillic look-alikes («нөмiрi» with a Latin i)
_LOOKALIKES = str.maketrans("aceiopxykmth", "асеіорхукмтһ")
_LATIN = re.compile(r"[a-z]")


def unbreak(text: str) -> str:
    """«Год изготов-\nления» → «Год изготовления»; soft hyphens dropped."""
    if "\n" in text:
        text = _HYPHEN_BREAK.sub(r"\1\2", text)
    return text.replace("\u00ad", "")


def _tokens(text: str) -> list[str]:
    text = unbreak(text).lower().replace("ё", "е").replace("№", " номер ").replace("#", " номер ")
    out: list[str] = []
    for token in _TOKEN_RE.findall(text):
        if _CYRILLIC.search(token) and _LATIN.search(token):
            token = token.translate(_LOOKALIKES)
        out.extend(_ABBREVIATIONS.get(token, (token,)))
    return out


def title_key(text: str) -> frozenset[str]:
    """The comparable form of a title: its word stems without stopwords, units and numbers."""
    return frozenset(
        _stem(t)
        for t in _tokens(text)
        if t not in _STOPWORDS and t not in UNIT_TOKENS and not t.isdigit()
    )


def _without_date_words(key: frozenset[str]) -> frozenset[str]:
    return frozenset(s for s in key if s not in _DATE_STEMS)


_DATE_STEMS = frozenset(_stem(w) for w in _DATE_WORDS)


def _build_index() -> tuple[dict[frozenset[str], str], dict[frozenset[str], str]]:
    exact: dict[frozenset[str], str] = {}
    loose: dict[frozenset[str], str] = {}
    for field_name, aliases in ALIASES.items():
        for alias in aliases:
            key = title_key(alias)
            other = exact.get(key)
            if other is not None and other != field_name:
                raise RuntimeError(f"header alias {alias!r} of {field_name} clashes with {other}")
            exact[key] = field_name
            loose.setdefault(_without_date_words(key), field_name)
    for title in ROW_NUMBER_TITLES:
        exact.setdefault(title_key(title), "")
    return exact, loose


_EXACT, _LOOSE = _build_index()


def carries_no_field(title: str) -> bool:
    """A title known to hold no field of the registry (the running number «№ п/п»): its
    column is ignored as a matter of course, nothing to map by hand."""
    return _EXACT.get(title_key(title)) == ""


# Words that only say «of the technical device / equipment» after the field's own words
_QUALIFIERS = frozenset(_stem(w) for w in _words("техническое устройство оборудования"))


# Words that change what a title means: an old number is not the number, a residual or actual
# service life is not the normative one. A title with one of them maps to a field only when an
# alias says so word for word.
_ANY_FIELD_QUALIFIERS = frozenset(
    _stem(w) for w in _words("старый прежний бывший архивный old previous former")
)
_FIELD_QUALIFIERS = {
    "service_life_years": frozenset(
        _stem(w)
        for w in _words(
            "остаточный оставшийся residual remaining фактический actual продленный продлённый "
            "extended истекший прошедший отработанный"
        )
    ),
}
_QUALIFIER_REASONS = {
    "service_life_years": N_(
        "a residual, actual or extended life is not the normative service life; not imported"
    ),
}
_FORMER_VALUE = N_("a former (old) value; not imported")


# Columns the registry's own export computes (current wear, condition, forecasts): «Износ, %
# (расчёт)». Never read back as data: a computed wear is no measurement. («Расчётный срок
# службы» is the design life, a real field: only the noun «расчёт» and «прогноз» mark them.)
_COMPUTED = re.compile(
    r"(?<![\w])(?:расч[её]т|прогноз|computed|calculated|forecast|есептеу|болжам)(?![\w])", re.I
)
COMPUTED_REASON = N_("a computed column (the registry's export); not imported")


@lru_cache(maxsize=4096)
def classify_title(text: str) -> tuple[str | None, int, Message | None]:
    """(field or ``""`` for the running number or None, how sure: 3 an alias word for word,
    2 an alias with date words left out, 1 a looser match; why not, when a qualifier such as
    «старый» or «остаточный» keeps the title from the field it names)."""
    if not text or len(text) > 150:
        return None, 0, None
    if _COMPUTED.search(text):
        return None, 0, COMPUTED_REASON
    key = title_key(text)
    if not key:
        return None, 0, None
    found = _EXACT.get(key)
    if found is not None:
        return found, 3, None
    found = _LOOSE.get(_without_date_words(key))
    quality = 2
    if found is None:
        quality = 1
        bare = re.sub(r"\([^)]*\)|\[[^\]]*\]", " ", text)
        if bare != text:
            found = _EXACT.get(title_key(bare))
    if found is None and key & _QUALIFIERS and key - _QUALIFIERS:
        # «Марка ТУ», «Зав. № оборудования»: the field of the title without «of the device»
        found = _EXACT.get(key - _QUALIFIERS) or None  # «№ ТУ» is no running number
    if found is None:
        found = _best_subset(key)
    if found:
        if key & _ANY_FIELD_QUALIFIERS:
            return None, 0, _FORMER_VALUE
        if key & _FIELD_QUALIFIERS.get(found, frozenset()):
            return None, 0, _QUALIFIER_REASONS[found]
    return found, (quality if found is not None else 0), None


def match_title(text: str) -> str | None:
    """The field a column title stands for, ``""`` for the running-number column, or None."""
    return classify_title(text)[0]


def _best_subset(key: frozenset[str]) -> str | None:
    """A field whose alias is part of the title («Износ на 01.01.2025» → wear), if unambiguous."""
    best_size, best_fields = 0, set()
    for alias_key, field_name in _EXACT.items():
        if not field_name or not alias_key or not alias_key <= key or alias_key <= _QUALIFIERS:
            continue  # «ТУ» alone is the name, but «Шифр ТУ» is not
        if 2 * len(alias_key) < len(key):
            continue
        if len(alias_key) > best_size:
            best_size, best_fields = len(alias_key), {field_name}
        elif len(alias_key) == best_size:
            best_fields.add(field_name)
    return best_fields.pop() if len(best_fields) == 1 else None


# ---------------------------------------------------------------------------- header row


@dataclass
class HeaderMatch:
    header_row: int  # Excel row of the titles (the lower one for a two-line header)
    columns: dict[int, str]  # 0-based column index -> field
    titles: dict[int, str]  # 0-based column index -> title as written
    ignored: list[str] = field(default_factory=list)  # titles of columns not imported
    skip_rows: set[int] = field(default_factory=set)  # units / column-number rows under it
    ignored_reasons: dict[str, str] = field(default_factory=dict)  # ignored title -> why
    number_columns: set[int] = field(default_factory=set)  # the running number («№ п/п»)

    @property
    def score(self) -> int:
        return len(set(self.columns.values()))

    @property
    def mapping(self) -> dict[str, str]:
        return {self.titles.get(i, column_letter(i)): f for i, f in self.columns.items()}

    def missing(self) -> list[str]:
        """The labels of the required fields no column holds."""
        found = set(self.columns.values())
        return [str(FIELD_LABELS[name]) for name in REQUIRED_FIELDS if name not in found]


# {column title or 0-based column index: field, or None for «do not import»}
ColumnMapping = Mapping[str | int, str | None]


def find_header(
    rows_peek: Sequence[tuple[int, list[Any]]],
    mapping: ColumnMapping | None = None,
    *,
    min_fields: int = 2,
) -> HeaderMatch | None:
    """Find the title row among the first rows and map its columns to fields.

    ``mapping`` ({title or 0-based column index: field or None}) overrides detection; None as
    the field means «do not import this column». Returns None when no row names at least
    ``min_fields`` known fields.
    """
    user = _normalise_user_mapping(mapping)
    rows = list(rows_peek)
    best: tuple[int, int] | None = None  # (score, -position)
    best_match: HeaderMatch | None = None
    for pos, (number, row) in enumerate(rows):
        candidates = [_match_row(number, [row], user)]
        if pos + 1 < len(rows) and _is_title_line(rows[pos + 1][1]) and _is_title_line(row):
            below_number, below = rows[pos + 1]
            candidates.append(_match_row(below_number, [row, below], user))
        for match in candidates:
            rank = (match.score + _user_hits(match, user), -pos)
            if best is None or rank > best:
                best, best_match = rank, match
    if best_match is None:
        return None
    if best[0] < min_fields and not (user and all(isinstance(k, int) for k in user)):
        return None
    if best[0] < min_fields:  # an explicit index mapping on a sheet without titles
        best_match = _match_row(0, [[]], user)
        best_match.header_row = 0
    units = _mark_rows_below(best_match, rows)
    if units is not None and best_match.header_row:
        # «Рабочее давление» over «кгс/см²»: read each title with its unit («…, кгс/см²»)
        joined = {
            col: f"{title}, {units[col]}"
            if col < len(units) and isinstance(units[col], str) and units[col].strip()
            else title
            for col, title in best_match.titles.items()
        }
        line = [joined.get(col) for col in range(max(joined, default=-1) + 1)]
        with_units = _match_row(best_match.header_row, [line], user)
        if with_units.score >= best_match.score:
            with_units.skip_rows = best_match.skip_rows
            best_match = with_units
    return best_match


def header_score(rows_peek: Sequence[tuple[int, list[Any]]]) -> float:
    """How much the first rows of a sheet look like an asset list (for choosing a sheet)."""
    match = find_header(rows_peek, min_fields=1)
    return 0.0 if match is None else float(match.score)


def _match_row(
    number: int, lines: list[list[Any]], user: dict[str | int, str | None]
) -> HeaderMatch:
    """Map the titles of one line, or of two lines read together (a two-level header)."""
    titles = _titles(lines)
    guesses, reasons = _guess_fields(titles, user)
    # two columns for one field: the surer one (an exact title over «Инв. № (старый)»), then
    # the first; the other is listed as ignored with the reason
    best: dict[str, int] = {}
    for col, (chosen, quality) in guesses.items():
        if chosen and (chosen not in best or quality > guesses[best[chosen]][1]):
            best[chosen] = col
    columns: dict[int, str] = {}
    ignored: list[str] = []
    for col, title in titles.items():
        chosen, _quality = guesses[col]
        if chosen and best.get(chosen) == col:
            columns[col] = chosen
        else:
            ignored.append(title)
            if chosen:
                reasons[title] = str(
                    N_(
                        "a second column for the field «%(field)s»: the column «%(taken)s» is "
                        "taken",
                        field=FIELD_LABELS[chosen],
                        taken=titles[best[chosen]],
                    )
                )
    taken = set(columns.values())
    for key, chosen in user.items():  # index mappings onto columns without a title
        if isinstance(key, int) and chosen and key not in titles and chosen not in taken:
            columns[key] = chosen
            taken.add(chosen)
    return HeaderMatch(
        header_row=number,
        columns=columns,
        titles=titles,
        ignored=ignored,
        ignored_reasons={t: r for t, r in reasons.items() if t in ignored},
        number_columns={col for col, title in titles.items() if match_title(title) == ""},
    )


def _titles(lines: list[list[Any]]) -> dict[int, str]:
    """Column → its title; the titles of a two-level header joined with « / »."""
    width = max((len(line) for line in lines), default=0)
    titles: dict[int, str] = {}
    for col in range(width):
        parts: list[str] = []
        for line in lines:
            value = line[col] if col < len(line) else None
            text = _clean_title(value)
            if text and text not in parts:
                parts.append(text)
        if parts:
            titles[col] = " / ".join(parts)
    return titles


def _guess_fields(
    titles: dict[int, str], user: dict[str | int, str | None]
) -> tuple[dict[int, tuple[str | None, int]], dict[str, str]]:
    """Column → (field, how sure), and why the titles kept from a field they name are."""
    # Fields the mapping places in this file: by index always (a column without a title is
    # still a column), by title only when that title is here. A remembered mapping names the
    # columns of an earlier file; the fields it does not place are recognised as usual.
    present = {_norm(title) for title in titles.values()}
    user_fields = {
        chosen
        for key, chosen in user.items()
        if chosen and (isinstance(key, int) or key in present)
    }
    guesses: dict[int, tuple[str | None, int]] = {}
    reasons: dict[str, str] = {}
    for col, title in titles.items():
        if col in user or _norm(title) in user:
            chosen = user[col] if col in user else user[_norm(title)]
            guesses[col] = (chosen, 9)  # a choice made by hand always wins
        else:
            chosen, quality, why = classify_title(title)
            if chosen in user_fields:
                chosen = None
            guesses[col] = (chosen, quality)
            if why:
                reasons[title] = str(why)
    return guesses, reasons


def _user_hits(match: HeaderMatch, user: dict[str | int, str | None]) -> int:
    if not user:
        return 0
    names = {_norm(t) for t in match.titles.values()}
    return sum(1 for key in user if isinstance(key, str) and key in names)


def _mark_rows_below(match: HeaderMatch, rows: list[tuple[int, list[Any]]]) -> list | None:
    """Remember the column-number and units rows right under the titles; return the units."""
    after = [(n, row) for n, row in rows if n > match.header_row]
    units = None
    for number, row in after[:2]:
        if is_column_numbers_row(row):
            match.skip_rows.add(number)
        elif is_units_row(row):
            match.skip_rows.add(number)
            units = units or row
        elif any(v is not None for v in row):
            break
    return units


# words of a units line that are not units of a title («Наработка, циклов» is a field)
_UNITS_ROW_WORDS = frozenset(("номер", "циклов", "цикл", "тыс", "млн", "раз"))


def is_units_row(row: Sequence[Any]) -> bool:
    """A line of units («%», «МПа», «лет», «дд.мм.гггг») under the titles."""
    seen_unit = False
    for value in row:
        if value is None:
            continue
        if not isinstance(value, str) or len(value) > 20:
            return False
        tokens = _tokens(value)
        if not tokens:
            if value.strip() in ("%", "°", "°C", "°С", "-", "—"):
                seen_unit = True
                continue
            return False
        if not all(
            t in UNIT_TOKENS or t in _UNITS_ROW_WORDS or t.isdigit() and len(t) == 1 for t in tokens
        ):
            return False
        seen_unit = True
    return seen_unit


_GROUP_LINE = re.compile(
    r"\s*(?:опо|объект|площадка|участок|facility|site|қөо)(?:\s*[:–—]|\s+-)", re.I
)


def _is_title_line(row: Sequence[Any]) -> bool:
    """Could this line be the lower half of a two-level header? Not a group row («ОПО:
    Котельная №1», one text merged across the row or alone), units or column numbers."""
    texts = [v for v in row if v is not None]
    if not texts or not all(isinstance(v, str) for v in texts):
        return False
    if len(set(texts)) < 2 or any(_GROUP_LINE.match(v) for v in texts):
        return False
    return not is_column_numbers_row(row) and not is_units_row(row)


def _clean_title(value: Any) -> str:
    if value is None or not isinstance(value, str):
        return ""
    return " ".join(unbreak(value).split())


def _norm(title: str) -> str:
    return " ".join(title.lower().replace("ё", "е").split())


def _normalise_user_mapping(mapping: ColumnMapping | None) -> dict[str | int, str | None]:
    if not mapping:
        return {}
    out: dict[str | int, str | None] = {}
    for key, value in mapping.items():
        chosen = value or None
        if chosen is not None and chosen not in FIELDS:
            raise ValueError(
                str(N_("an unknown field in the column mapping: %(field)s", field=repr(value)))
            )
        if isinstance(key, bool) or not isinstance(key, int | str):
            raise ValueError(
                str(
                    N_(
                        "a column is given by its title or its number, got %(key)s",
                        key=repr(key),
                    )
                )
            )
        out[key if isinstance(key, int) else _norm(key)] = chosen
    return out


# ---------------------------------------------------------------------------- verdict


class MissingColumns(FileRejected):
    """Required columns are not recognised; the header found is kept for a mapping by hand."""

    def __init__(self, message: Message, header: HeaderMatch, sheet_name: str, missing: list[str]):
        super().__init__(message)
        self.header = header
        self.sheet_name = sheet_name
        self.missing = missing  # labels of the missing fields («Инвентарный номер»)


def not_a_list(header: HeaderMatch | None, sheet_name: str) -> FileRejected | None:
    """Why a sheet is not an asset list (no header, or no required columns); None if it is."""
    if header is None:
        return FileRejected(
            N_(
                "No header row was found on the sheet «%(sheet)s»: its first rows have no "
                "columns such as «Инвентарный номер», «Наименование», «Вид ТУ», «Год "
                "изготовления». Check that this is an equipment list, or choose the columns "
                "by hand.",
                sheet=sheet_name,
            )
        )
    missing = header.missing()
    if not missing:
        return None
    none = N_("none")
    return MissingColumns(
        N_(
            "The header row %(row)s of the sheet «%(sheet)s» lacks the required columns: "
            "%(names)s. Recognised: %(recognised)s; not recognised: %(unknown)s. Rename the "
            "columns or choose the mapping by hand.",
            row=header.header_row,
            sheet=sheet_name,
            names=quoted(missing),
            recognised=quoted(header.mapping) or none,
            unknown=quoted(header.ignored) or none,
        ),
        header,
        sheet_name,
        missing,
    )


def short_reason(header: HeaderMatch | None) -> str:
    """Why a sheet is not read, in a few words (the sheets' report)."""
    if header is None:
        return str(N_("no header row of an equipment list"))
    return str(N_("no columns %(names)s", names=quoted(header.missing())))

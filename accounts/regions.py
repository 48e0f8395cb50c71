"""The 17 oblasts and 3 cities of republican significance (code, KATO prefix, Russian, English)."""

REGIONS: tuple[tuple[str, str, str, str], ...] = (
    ("ABY", "10", "Абайская область", "Abai Region"),
    ("AKM", "11", "Акмолинская область", "Akmola Region"),
    ("AKT", "15", "Актюбинская область", "Aktobe Region"),
    ("ALM", "19", "Алматинская область", "Almaty Region"),
    ("ATY", "23", "Атырауская область", "Atyrau Region"),
    ("ZAP", "27", "Западно-Казахстанская область", "West Kazakhstan Region"),
    ("ZHA", "31", "Жамбылская область", "Zhambyl Region"),
    ("ZHT", "33", "Жетысуская область", "Zhetysu Region"),
    ("KAR", "35", "Карагандинская область", "Karaganda Region"),
    ("KUS", "39", "Костанайская область", "Kostanay Region"),
    ("KZY", "43", "Кызылординская область", "Kyzylorda Region"),
    ("MAN", "47", "Мангистауская область", "Mangystau Region"),
    ("PAV", "55", "Павлодарская область", "Pavlodar Region"),
    ("SEV", "59", "Северо-Казахстанская область", "North Kazakhstan Region"),
    ("TUR", "61", "Туркестанская область", "Turkistan Region"),
    ("ULT", "62", "Улытауская область", "Ulytau Region"),
    ("VOS", "63", "Восточно-Казахстанская область", "East Kazakhstan Region"),
    ("AST", "71", "г. Астана", "Astana"),
    ("ALA", "75", "г. Алматы", "Almaty"),
    ("SHY", "79", "г. Шымкент", "Shymkent"),
)

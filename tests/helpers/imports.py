"""The Excel import as the tests drive it: the sample lists, small asset lists built in memory,
preview and commit through the service, and uploads through the pages and the API."""

from __future__ import annotations

import io
import os
from datetime import datetime
from pathlib import Path

from flask import current_app
from openpyxl import Workbook

from core.extensions import db
from equipment.imports.batches import commit_batch, preview_batch
from equipment.imports.excel import Limits
from equipment.imports.planner import ImportOptions
from tests.helpers.ci import need

SAMPLES = Path(os.environ.get("OPO_SAMPLES_DIR", Path(__file__).parents[1] / "samples"))
SAMPLE_FACILITIES = {
    "OPO-01": "Котельная №1",
    "OPO-02": "Котельная №2",
    "OPO-03": "Компрессорная станция",
    "OPO-04": "Склад ГСМ",
    "OPO-05": "Цех подъёмных сооружений",
}
CLEAN, ONE_C, ENGLISH = "asset_list_clean_ru", "asset_list_1c_export", "asset_list_en"
STALE = "Реестр изменился после предпросмотра"

COLUMNS = [
    "Код ОПО",
    "Инвентарный номер",
    "Наименование",
    "Вид устройства",
    "Год изготовления",
    "Дата ввода в эксплуатацию",
    "Срок службы, лет",
    "Износ, %",
]


def sample_path(name: str) -> Path:
    path = SAMPLES / f"{name}.xlsx"
    need(path.exists(), f"sample file {path} is not available")
    return path


def sample(name: str) -> bytes:
    return sample_path(name).read_bytes()


def row(code, inv, name, kind="котел паровой", year=1990, commissioned=None, life=20, wear=50.0):
    return [code, inv, name, kind, year, commissioned or datetime(year + 1, 3, 1), life, wear]


def xlsx(rows, header=COLUMNS, title: str | None = None) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.title = "Реестр"
    if title:
        sheet.append([title])
    if header:
        sheet.append(list(header))
    for values in rows:
        sheet.append(list(values))
    return save(book)


def save(book) -> bytes:
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def thresholds():
    return current_app.config["WEAR_THRESHOLDS"]


def preview(org, data: bytes, filename="list.xlsx", actor=None, limits=None, **options):
    batch, plan = preview_batch(
        db.session, actor, org, data, filename, ImportOptions(**options), limits or Limits()
    )
    db.session.commit()
    return batch, plan


def commit(batch, actor=None, **options) -> dict:
    try:
        counts = commit_batch(db.session, actor, batch, ImportOptions(**options), thresholds())
    except Exception:
        db.session.rollback()
        raise
    db.session.commit()
    return counts


def load(org, data: bytes, actor=None, filename="list.xlsx", **options) -> dict:
    batch, _plan = preview(org, data, filename, actor)
    return commit(batch, actor, **options)


def upload(client, data: bytes, filename="list.xlsx", **form):
    return client.post(
        "/imports",
        data={"file": (io.BytesIO(data), filename), **form},
        content_type="multipart/form-data",
    )


def api_upload(client, token: str, data: bytes, filename="list.xlsx", **form):
    return client.post(
        "/api/v1/imports",
        data={"file": (io.BytesIO(data), filename), **form},
        headers={"Authorization": f"Bearer {token}"},
        content_type="multipart/form-data",
    )


def make_token(user) -> str:
    from accounts.services import issue_token

    _token, plain = issue_token(db.session, user, "test")
    db.session.commit()
    return plain

"""Inventory numbers: when two spellings are one number.

One fold, ``inventory_key``, decides it everywhere: the import matches a file's rows to the
registry by it, and ``equipment.inventory_key`` stores it, unique in the organization, so the
form, the API and two imports at once cannot store «ин-16» beside «ИН-16» (which the next
import would then take for one another). Pure: no Flask, no database.
"""

from __future__ import annotations


def inventory_key(number: str) -> str:
    """How inventory numbers are compared, in the file and with the registry: case and
    whitespace do not count («ин-0000016» is «ИН-0000016», «ИН 16» is «ИН16»), nor «ё»."""
    key = number.upper()  # upper, not casefold: most numbers are upper case already, and
    if " " in key or "\u00a0" in key or "\t" in key:  # the key is then the number itself
        key = "".join(key.split())
    if "Ё" in key:
        key = key.replace("Ё", "Е")
    return number if key == number else key


def inventory_key_default(context) -> str:
    """The column default of ``equipment.inventory_key`` for inserts that bypass the ORM
    (``core.db.bulk_insert``, ``table.insert()``): the key of the row's ``inventory_no``."""
    return inventory_key(context.get_current_parameters()["inventory_no"])

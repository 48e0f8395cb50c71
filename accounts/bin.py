"""Kazakhstan business / individual identification numbers (BIN / IIN): 12 digits, checksum."""

from __future__ import annotations

WEIGHTS_1 = tuple(range(1, 12))
WEIGHTS_2 = (3, 4, 5, 6, 7, 8, 9, 10, 11, 1, 2)


def bin_check_digit(first11: str) -> int | None:
    """The 12th digit for the first 11, or None when no valid number has this prefix."""
    digits = [int(c) for c in first11]
    check = sum(d * w for d, w in zip(digits, WEIGHTS_1, strict=True)) % 11
    if check == 10:
        check = sum(d * w for d, w in zip(digits, WEIGHTS_2, strict=True)) % 11
        if check == 10:
            return None
    return check


def is_valid_bin(value: str) -> bool:
    if not isinstance(value, str) or len(value) != 12 or not (value.isascii() and value.isdigit()):
        return False
    return bin_check_digit(value[:11]) == int(value[11])


def normalise_bin(value: str | None) -> str:
    """Strip spaces and dashes users type inside the number."""
    return "".join(ch for ch in (value or "") if ch not in " \u00a0-")

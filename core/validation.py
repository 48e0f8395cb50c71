"""A domain error that carries field-level messages for forms, the API and the CLI alike."""

from __future__ import annotations


class ValidationFailed(Exception):
    """Bad input: ``errors`` maps a field name to a human message (already translated/lazy)."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors

    def as_strings(self) -> dict[str, str]:
        return {k: str(v) for k, v in self.errors.items()}

"""Locale selection: ?lang= (kept in the session), then the user's choice, then Russian."""

from __future__ import annotations

import os
from pathlib import Path

from flask import current_app, has_request_context, request, session
from flask_login import current_user

from core.request_input import peek

# The compiled catalogs ship inside core (the wheel too); outside a request, code that renders
# a message in the first language (the Excel reader's messages) loads them from here.
TRANSLATIONS_DIR = Path(__file__).resolve().parent / "translations"


def select_locale() -> str:
    languages = current_app.config["LANGUAGES"]
    if not has_request_context():  # CLI, scheduler: the product's first language
        return os.environ.get("OPO_LOCALE") or current_app.config["BABEL_DEFAULT_LOCALE"]
    wanted = peek(request.args, "lang")  # compared with the languages only
    if wanted in languages:
        session["lang"] = wanted
        return wanted
    if session.get("lang") in languages:
        return session["lang"]
    user_locale = getattr(current_user, "locale", None)
    if user_locale in languages:
        return user_locale
    if request.path.startswith("/api/"):
        best = request.accept_languages.best_match(list(languages))
        if best:
            return best
    return current_app.config["BABEL_DEFAULT_LOCALE"]


def init_app(app) -> None:
    from core.extensions import babel

    babel.init_app(
        app,
        locale_selector=select_locale,
        # the catalogs ship inside the package (compiled .mo in the wheel), not beside the checkout
        default_translation_directories=str(TRANSLATIONS_DIR),
    )

"""A short label for a User-Agent header ("Firefox 128, Windows") for the list of sessions."""

from __future__ import annotations

import re

# Order matters: Edge, Yandex Browser and Opera also name Chrome, and Chrome names Safari.
_BROWSERS = (
    ("Edge", re.compile(r"\bEdg(?:e|A|iOS)?/(\d+)")),
    ("Yandex Browser", re.compile(r"\bYaBrowser/(\d+)")),
    ("Opera", re.compile(r"\b(?:OPR|Opera)/(\d+)")),
    ("Firefox", re.compile(r"\b(?:Firefox|FxiOS)/(\d+)")),
    ("Chrome", re.compile(r"\b(?:Chrome|CriOS)/(\d+)")),
    ("Safari", re.compile(r"\bVersion/(\d+)[\d.]* .*Safari/")),
)
# Android also says Linux, iOS says "like Mac OS X".
_SYSTEMS = (
    ("Windows", re.compile(r"Windows")),
    ("Android", re.compile(r"Android")),
    ("iOS", re.compile(r"iPhone|iPad|iPod")),
    ("macOS", re.compile(r"Macintosh|Mac OS X")),
    ("ChromeOS", re.compile(r"CrOS")),
    ("Linux", re.compile(r"Linux|X11")),
)


def browser_label(user_agent: str | None) -> str:
    """ "Chrome 126, Windows"; for other clients their first product token ("curl/8.5.0");
    "" when there is no header."""
    user_agent = (user_agent or "").strip()
    if not user_agent:
        return ""
    browser = next(
        (f"{name} {m.group(1)}" for name, rx in _BROWSERS if (m := rx.search(user_agent))), None
    )
    system = next((name for name, rx in _SYSTEMS if rx.search(user_agent)), None)
    if browser is None:
        return user_agent.split(" ", 1)[0][:40]
    return f"{browser}, {system}" if system else browser

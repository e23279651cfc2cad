"""Hiding the API key in text an upstream, a setting or an error could echo (SPEC §19.4).

Plain Python (no Django), used by the client for every error it raises and by the app for
whatever it logs, stores or shows. One function, `redact`, knows every form of the key.
"""

from __future__ import annotations

import base64
import functools
import re

REDACTED = "***"
# Freshservice's basic auth is the key as user name and "X" as password (`key:X`).
_BASIC_AUTH_PASSWORDS = ("X", "x")


def redact(text: str, key: str, mark: str = REDACTED) -> str:
    """`text` with every form of `key` replaced by `mark`: as given and in any letter case, and
    base64-encoded alone or as the `key:X` of an `Authorization: Basic` header (standard and
    URL-safe alphabets, with or without padding, in any letter case)."""
    pattern = _pattern(key.strip())
    return pattern.sub(mark, text) if pattern is not None else text


@functools.lru_cache(maxsize=8)
def _pattern(key: str) -> re.Pattern[str] | None:
    if not key:
        return None
    forms = {key}
    for plain in (key, *(f"{key}:{password}" for password in _BASIC_AUTH_PASSWORDS)):
        raw = plain.encode()
        for encoded in (base64.b64encode(raw), base64.urlsafe_b64encode(raw)):
            forms.add(encoded.decode().rstrip("="))
    # Longest first, so a form that contains another is hidden whole.
    alternatives = sorted(forms, key=len, reverse=True)
    # Base64 padding, present or not, goes with the form it ends.
    return re.compile(f"(?:{'|'.join(map(re.escape, alternatives))})=*", flags=re.IGNORECASE)

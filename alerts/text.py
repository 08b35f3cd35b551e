"""Strict free text typed by staff on the alert pages (the resolve note): refused with a
reason, never cut or cleaned up behind the writer's back (issue 11, "Input").

Refused: NUL (PostgreSQL cannot store it), other C0 controls except tab, newline and
carriage return, C1 controls (U+0080-U+009F), and the bidirectional embeddings, overrides
and isolates (U+202A-U+202E, U+2066-U+2069) that can make a note read differently from what
is stored ("Trojan Source", CVE-2021-42574); and text longer than the limit.
"""

from __future__ import annotations

import unicodedata

__all__ = ["TextRefused", "strict_note"]

_ALLOWED_CONTROLS = {"\t", "\n", "\r"}
_BIDI_CONTROLS = {chr(c) for c in [*range(0x202A, 0x202F), *range(0x2066, 0x206A)]}


class TextRefused(ValueError):
    """The text cannot be stored as typed; the message says why, in the writer's terms."""


def _describe(char: str) -> str:
    name = unicodedata.name(char, "control character")
    return f"U+{ord(char):04X} ({name.lower()})"


def strict_note(text: str, *, max_chars: int) -> str:
    """The note with surrounding whitespace removed, or TextRefused.

    `max_chars` counts Unicode characters after trimming. Nothing inside the text is changed.
    """
    text = text.strip()
    for char in text:
        code = ord(char)
        if char == "\x00":
            raise TextRefused("it contains a NUL character, which cannot be stored.")
        if ((code < 0x20 or code == 0x7F) and char not in _ALLOWED_CONTROLS) or (
                0x80 <= code <= 0x9F):
            raise TextRefused(f"it contains the control character {_describe(char)}; "
                              "remove it and save again.")
        if char in _BIDI_CONTROLS:
            raise TextRefused(f"it contains the text-direction control {_describe(char)}, "
                              "which can make it read differently from what is saved; "
                              "remove it and save again.")
    if len(text) > max_chars:
        raise TextRefused(f"at most {max_chars:,} characters, this one has {len(text):,}. "
                          "Shorten it; nothing was cut.")
    return text

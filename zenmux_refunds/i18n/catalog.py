"""The message catalog: English is the source, other languages are gettext ``.po`` files.

A msgid is the English string exactly as the customer reads it (``"Refund in progress"``,
``"Platform fee ({percent}%)"``); the English text *is* the msgid, so English needs no
file and an untranslated string shows in English rather than not at all. Placeholders
are ``str.format`` names in braces (the ``.po`` marks them ``python-brace-format``), and a
translation keeps the same names. ``zh_CN.po`` beside this module holds the 简体中文
translations; it is read once with Babel's ``read_po`` and cached.

:func:`missing` lists the msgids a language has no translation for, so a test can fail
on any customer-visible string that was added without its translation.
"""

from __future__ import annotations

import string
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

from babel.messages.pofile import read_po

from zenmux_refunds.i18n.locale import DEFAULT_LANGUAGE, check_language

HERE = Path(__file__).resolve().parent
# the .po file of each language that has one (English is the msgids themselves)
PO_FILES: dict[str, Path] = {"zh-CN": HERE / "zh_CN.po"}


@lru_cache(maxsize=None)
def _messages(lang: str) -> dict[str, str]:
    """msgid -> msgstr of ``lang``'s catalog (translated entries only; fuzzy ones are not
    translations yet)."""
    path = PO_FILES.get(lang)
    if path is None:
        return {}
    with path.open("rb") as f:
        catalog = read_po(f, locale=lang.replace("-", "_"))
    return {m.id: m.string for m in catalog
            if m.id and isinstance(m.id, str) and m.string and not m.fuzzy}


def gettext(msgid: str, lang: str = DEFAULT_LANGUAGE) -> str:
    """``msgid`` in ``lang``: the English msgid itself for ``en``, the translation for
    another language (the English when it has none: better than nothing)."""
    check_language(lang)
    if lang == DEFAULT_LANGUAGE:
        return msgid
    return _messages(lang).get(msgid, msgid)


def translate(msgid: str, lang: str = DEFAULT_LANGUAGE, /, **values: object) -> str:
    """:func:`gettext`, then the placeholders filled: ``translate("Refund {ref} canceled",
    "zh-CN", ref="RF-1")``. The values are already formatted for the language."""
    return gettext(msgid, lang).format(**values)


def translations(lang: str) -> dict[str, str]:
    """Every translated msgid of ``lang`` and its translation (a copy)."""
    check_language(lang)
    return dict(_messages(lang))


def missing(msgids: Iterable[str], lang: str = "zh-CN") -> list[str]:
    """The msgids among ``msgids`` that ``lang`` does not translate, sorted (none for
    English). The UI's ``t()`` and the services' word tables feed this in the tests."""
    check_language(lang)
    if lang == DEFAULT_LANGUAGE:
        return []
    known = _messages(lang)
    return sorted({m for m in msgids if m not in known})


def placeholders(text: str) -> set[str]:
    """The ``{name}`` placeholders of a msgid or a translation."""
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}

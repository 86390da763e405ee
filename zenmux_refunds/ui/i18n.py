"""The UI's words in the customer's language (English / 简体中文).

``t("Refund")`` compiles both languages into the page and picks one by
``AuthState.lang``: switching the language costs no server round trip for the page's own
words, and every string passes through the catalog (``zenmux_refunds/i18n``). ``tf`` does
the same for a whole sentence with ``{placeholders}`` filled by values or vars, so a
translation may order the pieces as its language needs. Every msgid used is recorded:
a test builds every page and fails on any the catalog does not translate.

Words the services build (amounts, reasons, statuses, dates) arrive already in the
customer's language: the states pass ``self.locale()`` to them.
"""

from __future__ import annotations

import string

import reflex as rx

from zenmux_refunds.i18n import gettext
from zenmux_refunds.ui.auth_state import AuthState

CHINESE = "zh-CN"
USED: set[str] = set()


def _zh() -> rx.Var[bool]:
    return AuthState.lang == CHINESE


def t(msgid: str) -> rx.Var[str]:
    """A plain string in the page's language (for text and for props: placeholders,
    labels, titles)."""
    USED.add(msgid)
    return rx.cond(_zh(), gettext(msgid, CHINESE), msgid)


def _pieces(template: str, values: dict) -> list:
    out: list = []
    for literal, name, _spec, _conv in string.Formatter().parse(template):
        if literal:
            out.append(literal)
        if name is not None:
            out.append(values[name])
    return out


def tf(msgid: str, **values) -> rx.Component:
    """A sentence with placeholders, in the page's language: ``tf("Page {page} of
    {pages}", page=S.page, pages=S.pages)``. Values may be vars or components."""
    USED.add(msgid)
    return rx.cond(_zh(), rx.fragment(*_pieces(gettext(msgid, CHINESE), values)),
                   rx.fragment(*_pieces(msgid, values)))


def tv(msgid: str, **values) -> rx.Var[str]:
    """``tf`` as a string var (for a prop): the values are strings or string vars."""
    USED.add(msgid)

    def joined(template: str) -> rx.Var[str]:
        parts = [p if isinstance(p, rx.Var) else rx.Var.create(str(p))
                 for p in _pieces(template, values)]
        out = parts[0].to(str)
        for p in parts[1:]:
            out = out + p.to(str)
        return out

    return rx.cond(_zh(), joined(gettext(msgid, CHINESE)), joined(msgid))

"""Who the customer reads in: a language and a time zone, both validated.

A :class:`Locale` is what every service that builds customer-facing words takes
(``locale=ENGLISH`` by default, so a caller that says nothing gets today's English in
UTC). The language is remembered on the account (``Account.language``), the time zone
on the sign-in session (``AuthSession.time_zone``, the browser's); ``services.preferences``
stores and reads them.
"""

from __future__ import annotations

from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

DEFAULT_LANGUAGE = "en"
DEFAULT_TIME_ZONE = "UTC"
# the languages the customer can pick, in the switch's order, each named in itself
LANGUAGES: dict[str, str] = {"en": "English", "zh-CN": "简体中文"}
# CLDR's name of each language, for Babel
BABEL_LOCALES: dict[str, str] = {"en": "en_US", "zh-CN": "zh_Hans_CN"}
MAX_TIME_ZONE = 64


class LocaleError(ValueError):
    """A language or a time zone we do not know; the message says which, plainly."""


def check_language(lang: object) -> str:
    """``lang`` if it is one of :data:`LANGUAGES`, else LocaleError."""
    if not isinstance(lang, str) or lang not in LANGUAGES:
        shown = repr(lang)[:40]
        raise LocaleError(f"language {shown} is not supported: choose one of "
                          f"{', '.join(LANGUAGES)}")
    return lang


def _known_zones() -> frozenset[str]:
    global _ZONES
    if _ZONES is None:
        _ZONES = frozenset(available_timezones())
    return _ZONES


_ZONES: frozenset[str] | None = None


def check_time_zone(tz: object) -> str:
    """``tz`` if it is an IANA time zone name zoneinfo knows (``Asia/Shanghai``, ``UTC``),
    else LocaleError. Only names from the tz database's list are accepted: no paths, no
    POSIX TZ strings, nothing longer than :data:`MAX_TIME_ZONE`."""
    if not isinstance(tz, str) or not tz or len(tz) > MAX_TIME_ZONE or not tz.isascii() or (
            tz != DEFAULT_TIME_ZONE and tz not in _known_zones()):
        shown = repr(tz)[:40]
        raise LocaleError(f"time zone {shown} is not an IANA time zone name "
                          "(like Asia/Shanghai or UTC)")
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError) as exc:  # pragma: no cover - listed above
        raise LocaleError(f"time zone {tz!r} cannot be loaded") from exc
    return tz


@dataclass(frozen=True)
class Locale:
    """A customer's language and time zone (IANA name), checked when made."""

    lang: str = DEFAULT_LANGUAGE
    tz: str = DEFAULT_TIME_ZONE

    def __post_init__(self) -> None:
        check_language(self.lang)
        check_time_zone(self.tz)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.tz)

    @property
    def babel(self) -> str:
        """The CLDR locale Babel formats with (``en_US``, ``zh_Hans_CN``)."""
        return BABEL_LOCALES[self.lang]

    @property
    def html_lang(self) -> str:
        """The value of ``<html lang>`` (BCP 47): ``en``, ``zh-CN``."""
        return self.lang


ENGLISH = Locale()

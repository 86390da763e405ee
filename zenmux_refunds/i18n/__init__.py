"""Languages, the message catalog and locale-aware formatting (issue 12, item 3).

Base layer (beside ``domain``): it reads no database and no configuration, so the
services and the UI can both use it. Supported languages: English (``en``, the default
and the msgids) and 简体中文 (``zh-CN``, ``zh_CN.po``). The support console stays
English: it is for staff.
"""

from zenmux_refunds.i18n.catalog import gettext, missing, placeholders, translate, translations
from zenmux_refunds.i18n.formatting import (
    format_date,
    format_day,
    format_instant,
    format_instant_utc,
    format_money,
    format_paid,
    format_returned,
    format_usd,
    format_usd_micros,
    format_usd_movement,
    zone_label,
)
from zenmux_refunds.i18n.locale import (
    DEFAULT_LANGUAGE,
    DEFAULT_TIME_ZONE,
    ENGLISH,
    LANGUAGES,
    Locale,
    LocaleError,
    check_language,
    check_time_zone,
)

__all__ = [
    "DEFAULT_LANGUAGE", "DEFAULT_TIME_ZONE", "ENGLISH", "LANGUAGES", "Locale", "LocaleError",
    "check_language", "check_time_zone", "format_date", "format_day", "format_instant",
    "format_instant_utc", "format_money", "format_paid", "format_returned", "format_usd",
    "format_usd_micros", "format_usd_movement", "gettext", "missing", "placeholders",
    "translate", "translations", "zone_label",
]

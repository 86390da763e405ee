"""Money and instants as the customer reads them, formatted by Babel (CLDR).

Display only: the amounts stay exact integers everywhere else (``domain.money``), and
each is turned into a ``Decimal`` built from the integer and its currency's minor-unit
exponent (never a float) only here, on its way to the screen.

English keeps the house style the specification fixes: ``$1,234.56``, another currency
as its ISO code, a space and the amount (``CNY 677.08``, ``JPY 1,200``), instants as
``2026-11-26 12:00 UTC``. 简体中文 uses CLDR's ``zh_Hans_CN`` patterns and symbols
(``US$15.71``, ``2026年11月26日 20:00 UTC+8``), except that the yuan is written ``CN¥``,
not the bare ``¥`` CLDR gives it in Chinese: beside US dollars and a gateway whose
customers also pay in yen, the bare sign would be ambiguous.

Times are shown in the customer's time zone with its offset (``UTC+8``, ``UTC-5``,
``UTC+5:30``; ``UTC`` itself in UTC); :func:`format_instant_utc` gives the same
instant in UTC, for the hover title beside it.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

from babel import Locale as BabelLocale
from babel.dates import format_date as babel_format_date
from babel.dates import format_datetime as babel_format_datetime
from babel.numbers import format_currency as babel_format_currency

from zenmux_refunds.domain.money import (
    currency_exponent,
    micros_to_cents_down,
    micros_to_cents_toward_zero,
)
from zenmux_refunds.i18n.locale import (
    BABEL_LOCALES,
    DEFAULT_LANGUAGE,
    DEFAULT_TIME_ZONE,
    check_language,
    check_time_zone,
)

# English: the ISO code, a space, the amount (CLDR's digits for the currency)
_EN_CODE_PATTERN = "¤¤ #,##0.00"
# a currency whose CLDR symbol in a language is ambiguous there: the symbol used instead
_SYMBOLS: dict[tuple[str, str], str] = {("zh-CN", "CNY"): "CN¥"}
# instants and days, per language (Babel/CLDR date patterns)
_INSTANT_PATTERNS = {"en": "yyyy-MM-dd HH:mm", "zh-CN": "y年M月d日 HH:mm"}
_DAY_PATTERNS = {"en": "EEE yyyy-MM-dd", "zh-CN": "y年M月d日 EEE"}
_DATE_PATTERNS = {"en": "yyyy-MM-dd", "zh-CN": "y年M月d日"}
# Babel's locales, parsed once: given by name, each call parses it again, which is
# about half of what formatting an amount costs (a mail or a page formats dozens).
_BABEL = {lang: BabelLocale.parse(name) for lang, name in BABEL_LOCALES.items()}


def _exact_int(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int (exact minor units), got {value!r}")
    return value


def _decimal(minor: int, exponent: int) -> Decimal:
    """The exact amount ``minor × 10**-exponent``."""
    return Decimal(minor).scaleb(-exponent)


def format_money(minor: int, currency: str, lang: str = DEFAULT_LANGUAGE) -> str:
    """An amount in ``currency``'s minor units, for ``lang``.

    en: ``1571, "USD"`` → ``$15.71``, ``67708, "CNY"`` → ``CNY 677.08``,
    ``-123456, "USD"`` → ``-$1,234.56``; zh-CN: ``US$15.71``, ``CN¥677.08``.
    """
    _exact_int("minor", minor)
    check_language(lang)
    code = currency.upper()
    amount = _decimal(minor, currency_exponent(code))
    locale = _BABEL[lang]
    if lang == "en":
        pattern = None if code == "USD" else _EN_CODE_PATTERN
    else:
        symbol = _SYMBOLS.get((lang, code))
        pattern = None
        if symbol is not None:
            standard = locale.currency_formats["standard"].pattern
            pattern = standard.replace("¤", f"'{symbol}'")
    return babel_format_currency(amount, code, format=pattern, locale=locale,
                                 currency_digits=True)


def format_usd(cents: int, lang: str = DEFAULT_LANGUAGE) -> str:
    """USD cents: ``$1,234.56`` / ``US$1,234.56``."""
    return format_money(cents, "USD", lang)


def format_usd_micros(micros: int, lang: str = DEFAULT_LANGUAGE) -> str:
    """Micro-dollars to the cent, rounded down (balances)."""
    return format_usd(micros_to_cents_down(_exact_int("micros", micros)), lang)


def format_usd_movement(micros: int, lang: str = DEFAULT_LANGUAGE) -> str:
    """A wallet movement to the cent, rounded toward zero, with the movement's sign:
    ``+$2.50``, ``-$2.50``, ``$0.00``, ``-$0.00`` (less than a cent taken)."""
    _exact_int("micros", micros)
    sign = "-" if micros < 0 else "+" if micros > 0 else ""
    return sign + format_usd(abs(micros_to_cents_toward_zero(micros)), lang)


def format_paid(usd_cents: int, currency: str, charged_minor: int,
                lang: str = DEFAULT_LANGUAGE) -> str:
    """What an order cost: ``$100.00``, or ``$100.00 (CNY 720.00)`` when charged in
    another currency."""
    usd = format_usd(usd_cents, lang)
    if currency.upper() == "USD":
        return usd
    return f"{usd} ({format_money(charged_minor, currency, lang)})"


def format_returned(usd_cents: int, currency: str, charged_minor: int,
                    lang: str = DEFAULT_LANGUAGE) -> str:
    """What a refund returns: ``$15.71``, or ``CNY 677.08 ($94.04)`` (the charged
    currency first)."""
    usd = format_usd(usd_cents, lang)
    if currency.upper() == "USD":
        return usd
    return f"{format_money(charged_minor, currency, lang)} ({usd})"


def _aware(dt: datetime) -> datetime:
    if not isinstance(dt, datetime) or dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError("an instant must be a timezone-aware datetime")
    return dt


def zone_label(dt: datetime, tz: str = DEFAULT_TIME_ZONE) -> str:
    """The zone an instant is shown in, by its offset then: ``UTC``, ``UTC+8``,
    ``UTC-5``, ``UTC+5:30`` (an offset, not an abbreviation: "CST" names three zones)."""
    if tz == DEFAULT_TIME_ZONE:
        return "UTC"
    offset = _aware(dt).astimezone(ZoneInfo(check_time_zone(tz))).utcoffset() or timedelta(0)
    minutes = int(offset.total_seconds()) // 60
    if minutes == 0:
        return "UTC"
    sign = "+" if minutes > 0 else "-"
    hours, minutes = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours}" + (f":{minutes:02d}" if minutes else "")


def format_instant(dt: datetime, lang: str = DEFAULT_LANGUAGE,
                   tz: str = DEFAULT_TIME_ZONE) -> str:
    """An instant in the customer's zone: en ``2026-11-26 20:00 UTC+8``, zh-CN
    ``2026年11月26日 20:00 UTC+8``; in UTC, en gives ``2026-11-26 12:00 UTC`` exactly as
    ``domain.money.format_instant`` does."""
    check_language(lang)
    zone = ZoneInfo(check_time_zone(tz))
    local = _aware(dt).astimezone(zone)
    text = babel_format_datetime(local, _INSTANT_PATTERNS[lang], tzinfo=zone,
                                 locale=_BABEL[lang])
    return f"{text} {zone_label(dt, tz)}"


def format_instant_utc(dt: datetime, lang: str = DEFAULT_LANGUAGE) -> str:
    """The same instant in UTC, for the hover title beside a local time."""
    return format_instant(dt, lang, DEFAULT_TIME_ZONE)


def format_day(d: date, lang: str = DEFAULT_LANGUAGE) -> str:
    """A calendar day with its weekday: en ``Fri 2026-11-27``, zh-CN ``2026年11月27日 周五``
    (business-day dates, which are days, not instants: no zone)."""
    check_language(lang)
    return babel_format_date(d, _DAY_PATTERNS[lang], locale=_BABEL[lang])


def format_date(d: date, lang: str = DEFAULT_LANGUAGE) -> str:
    """A calendar day: en ``2026-11-27``, zh-CN ``2026年11月27日``."""
    check_language(lang)
    return babel_format_date(d, _DATE_PATTERNS[lang], locale=_BABEL[lang])


def utc(dt: datetime) -> datetime:
    """``dt`` in UTC (aware)."""
    return _aware(dt).astimezone(timezone.utc)

"""Languages, the zh-CN catalog and Babel's formatting (issue 12, item 3)."""

from __future__ import annotations

import ast
from datetime import date, datetime, timezone
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from zenmux_refunds import i18n
from zenmux_refunds.domain import money
from zenmux_refunds.domain.policy import STATUS_WORDS, Reason

UI = Path(__file__).resolve().parents[2] / "zenmux_refunds" / "ui"
T0 = datetime(2026, 11, 26, 12, 0, tzinfo=timezone.utc)


# ------------------------------------------------------------------ money


@pytest.mark.parametrize("minor, currency, en, zh", [
    (1571, "USD", "$15.71", "US$15.71"),
    (67708, "CNY", "CNY 677.08", "CN¥677.08"),
    (123456, "USD", "$1,234.56", "US$1,234.56"),
    (-123456, "USD", "-$1,234.56", "-US$1,234.56"),
    (-300, "CNY", "-CNY 3.00", "-CN¥3.00"),
    (0, "USD", "$0.00", "US$0.00"),
    (5, "USD", "$0.05", "US$0.05"),
    (123456789012, "USD", "$1,234,567,890.12", "US$1,234,567,890.12"),
    (1200, "JPY", "JPY 1,200", "JP¥1,200"),
    (72000, "cny", "CNY 720.00", "CN¥720.00"),
])
def test_money_in_both_languages(minor, currency, en, zh):
    assert i18n.format_money(minor, currency, "en") == en
    assert i18n.format_money(minor, currency, "zh-CN") == zh


def test_the_composed_amounts():
    assert i18n.format_paid(10000, "CNY", 72000) == "$100.00 (CNY 720.00)"
    assert i18n.format_paid(10000, "CNY", 72000, "zh-CN") == "US$100.00 (CN¥720.00)"
    assert i18n.format_returned(9404, "CNY", 67708, "zh-CN") == "CN¥677.08 (US$94.04)"
    assert i18n.format_returned(1571, "USD", 1571) == "$15.71"
    assert i18n.format_usd_micros(71_399_999, "zh-CN") == "US$71.39"
    assert i18n.format_usd_movement(2_500_000) == "+$2.50"
    assert i18n.format_usd_movement(-2_509_999, "zh-CN") == "-US$2.50"
    assert i18n.format_usd_movement(-5_000) == "-$0.00"
    assert i18n.format_usd_movement(0) == "$0.00"


@pytest.mark.parametrize("bad", [15.71, True, "1571", None])
def test_money_is_formatted_from_exact_integers_only(bad):
    with pytest.raises(TypeError):
        i18n.format_money(bad, "USD", "en")


@given(st.integers(min_value=-10**15, max_value=10**15),
       st.sampled_from(sorted(money.CURRENCY_EXPONENT)),
       st.sampled_from(sorted(i18n.LANGUAGES)))
def test_the_digits_survive_formatting(minor, currency, lang):
    """Round trip: the digits shown are the integer's, with the currency's decimals,
    and the sign is shown exactly when the amount is negative."""
    text = i18n.format_money(minor, currency, lang)
    exponent = money.CURRENCY_EXPONENT[currency]
    digits = "".join(c for c in text if c.isdigit())
    assert int(digits) == abs(minor)
    assert len(digits) >= exponent + 1
    assert text.startswith("-") == (minor < 0)
    shown = text.lstrip("-")
    number = shown[next(i for i, c in enumerate(shown) if c.isdigit()):]
    whole, _, frac = number.replace(",", "").partition(".")
    assert len(frac) == exponent
    assert money.parse_currency_amount(number.replace(",", ""), currency, "x") == abs(minor)


@given(st.integers(min_value=-10**15, max_value=10**15),
       st.sampled_from(sorted(money.CURRENCY_EXPONENT)))
def test_english_is_the_house_format_unchanged(minor, currency):
    assert i18n.format_money(minor, currency, "en") == money.format_currency(minor, currency)


@given(st.integers(min_value=-10**12, max_value=10**12))
def test_english_movements_and_balances_are_unchanged(micros):
    assert i18n.format_usd_movement(micros) == money.format_usd_movement(micros)
    assert i18n.format_usd_micros(micros) == money.format_usd_micros(micros)


# ------------------------------------------------------------------ instants


@pytest.mark.parametrize("lang, tz, text", [
    ("en", "UTC", "2026-11-26 12:00 UTC"),
    ("en", "Asia/Shanghai", "2026-11-26 20:00 UTC+8"),
    ("en", "America/New_York", "2026-11-26 07:00 UTC-5"),
    ("en", "Asia/Kolkata", "2026-11-26 17:30 UTC+5:30"),
    ("zh-CN", "UTC", "2026年11月26日 12:00 UTC"),
    ("zh-CN", "Asia/Shanghai", "2026年11月26日 20:00 UTC+8"),
    ("zh-CN", "Pacific/Auckland", "2026年11月27日 01:00 UTC+13"),
])
def test_instants_in_the_customers_zone(lang, tz, text):
    assert i18n.format_instant(T0, lang, tz) == text


def test_summer_time_moves_the_offset():
    july = datetime(2026, 7, 1, 12, 0, tzinfo=timezone.utc)
    assert i18n.format_instant(july, "en", "America/New_York") == "2026-07-01 08:00 UTC-4"


def test_the_utc_form_for_the_hover_title():
    assert i18n.format_instant_utc(T0) == "2026-11-26 12:00 UTC"
    assert i18n.format_instant_utc(T0, "zh-CN") == "2026年11月26日 12:00 UTC"
    assert i18n.format_instant(T0) == money.format_instant(T0)


def test_naive_instants_are_refused():
    with pytest.raises(ValueError):
        i18n.format_instant(datetime(2026, 11, 26, 12, 0), "en", "UTC")


def test_days_with_their_weekday():
    assert i18n.format_day(date(2026, 11, 27)) == "Fri 2026-11-27"
    assert i18n.format_day(date(2026, 11, 27), "zh-CN") == "2026年11月27日 周五"
    assert i18n.format_date(date(2026, 11, 27), "zh-CN") == "2026年11月27日"


# ------------------------------------------------------------------ locale


def test_the_supported_languages():
    assert i18n.LANGUAGES == {"en": "English", "zh-CN": "简体中文"}
    assert i18n.ENGLISH == i18n.Locale("en", "UTC")
    assert i18n.Locale("zh-CN", "Asia/Shanghai").html_lang == "zh-CN"


@pytest.mark.parametrize("lang", ["fr", "zh", "EN", "", None, "zh_CN", 1])
def test_an_unknown_language_is_refused(lang):
    with pytest.raises(i18n.LocaleError, match="not supported"):
        i18n.Locale(lang)
    with pytest.raises(i18n.LocaleError):
        i18n.gettext("Refund", lang)


@pytest.mark.parametrize("tz", ["Mars/Olympus", "", "../../etc/passwd", "EST5EDT,M3.2.0",
                                "Asia/Shanghai\x00", "x" * 100, None, 8, "utc"])
def test_an_unknown_time_zone_is_refused(tz):
    with pytest.raises(i18n.LocaleError, match="time zone"):
        i18n.Locale("en", tz)


# ------------------------------------------------------------------ the catalog


def test_english_is_the_msgid():
    assert i18n.gettext("Refund in progress", "en") == "Refund in progress"
    assert i18n.gettext("Refund in progress", "zh-CN") == "退款处理中"
    assert i18n.gettext("never translated", "zh-CN") == "never translated"
    assert i18n.translate("Refund {ref} canceled", "zh-CN", ref="RF-1") == "退款 RF-1 已取消"
    assert i18n.missing(["never translated"], "en") == []


def test_missing_lists_the_untranslated_msgids():
    assert i18n.missing(["Refund", "not in the catalog", "also not"]) == [
        "also not", "not in the catalog"]


def test_every_translation_keeps_its_placeholders():
    wrong = {m: s for m, s in i18n.translations("zh-CN").items()
             if i18n.placeholders(m) != i18n.placeholders(s)}
    assert wrong == {}


def test_the_policys_words_are_translated():
    words = [r.value for r in Reason]
    words += [w.label for w in STATUS_WORDS.values()]
    words += [w.description for w in STATUS_WORDS.values()]
    assert i18n.missing(words) == []


def _literals(path: Path, names: set[str]) -> list[str]:
    """Every string constant of the module-level assignments to ``names``."""
    found = []
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id in names for t in node.targets):
            found += [n.value for n in ast.walk(node.value)
                      if isinstance(n, ast.Constant) and isinstance(n.value, str)]
    return found


def test_the_policy_pages_cases_and_faq_are_translated():
    texts = _literals(UI / "policy.py", {"_CASES", "_FAQ"})
    assert len(texts) == 24
    assert i18n.missing(texts) == []

"""Showing wallet movements: to the cent, toward zero, signed (domain/money.py)."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from zenmux_refunds.domain.money import (
    MICROS_PER_CENT,
    cents_to_micros,
    format_usd,
    format_usd_movement,
    micros_to_cents_down,
    micros_to_cents_toward_zero,
)

MICROS = st.integers(min_value=-(10**18), max_value=10**18)


@pytest.mark.parametrize(
    ("micros", "cents"),
    [(0, 0), (9_999, 0), (10_000, 1), (2_509_999, 250), (-9_999, 0), (-10_000, -1),
     (-2_509_999, -250)],
)
def test_toward_zero(micros: int, cents: int) -> None:
    assert micros_to_cents_toward_zero(micros) == cents


@pytest.mark.parametrize(
    ("micros", "text"),
    [(0, "$0.00"), (2_500_000, "+$2.50"), (-2_509_999, "-$2.50"), (123_456_780_000, "+$123,456.78"),
     (-5_000, "-$0.00"), (5_000, "+$0.00")],
)
def test_format_usd_movement(micros: int, text: str) -> None:
    assert format_usd_movement(micros) == text


def test_cents_to_micros() -> None:
    assert cents_to_micros(1654) == 16_540_000
    assert cents_to_micros(-1) == -MICROS_PER_CENT


@given(MICROS)
def test_toward_zero_is_symmetric_and_within_a_cent(micros: int) -> None:
    cents = micros_to_cents_toward_zero(micros)
    assert micros_to_cents_toward_zero(-micros) == -cents
    assert abs(cents) * MICROS_PER_CENT <= abs(micros) < (abs(cents) + 1) * MICROS_PER_CENT
    assert cents == 0 or (cents > 0) == (micros > 0)
    # it agrees with rounding down for credits, and is one cent less negative for debits
    # that are not whole cents
    if micros >= 0 or micros % MICROS_PER_CENT == 0:
        assert cents == micros_to_cents_down(micros)
    else:
        assert cents == micros_to_cents_down(micros) + 1


@given(MICROS)
def test_movement_text_is_symmetric(micros: int) -> None:
    text, mirrored = format_usd_movement(micros), format_usd_movement(-micros)
    if micros == 0:
        assert text == mirrored == "$0.00"
    else:
        assert {text[0], mirrored[0]} == {"+", "-"}
        assert text[1:] == mirrored[1:] == format_usd(abs(micros_to_cents_toward_zero(micros)))


@given(st.integers(min_value=-(10**12), max_value=10**12))
def test_whole_cents_round_trip(cents: int) -> None:
    assert micros_to_cents_toward_zero(cents_to_micros(cents)) == cents

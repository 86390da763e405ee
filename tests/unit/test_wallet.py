"""The wallet's bonus-first draw (domain/wallet.py): examples, then properties."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from zenmux_refunds.domain.wallet import Draw, Refusal, draw

AMOUNT = st.integers(min_value=0, max_value=10**15)
BALANCE = st.integers(min_value=-(10**15), max_value=10**15)


# ---------------------------------------------------------------- examples


def test_bonus_covers_the_whole_call() -> None:
    assert draw(3_000_000, bonus_micros=5_000_000, topup_micros=10_000_000,
                allow_overdraw=False) == Draw(3_000_000, 0)


def test_bonus_first_then_topup() -> None:
    assert draw(3_000_000, bonus_micros=1_000_000, topup_micros=10_000_000,
                allow_overdraw=False) == Draw(1_000_000, 2_000_000)


def test_a_negative_bonus_gives_nothing() -> None:
    assert draw(1_000_000, bonus_micros=-500_000, topup_micros=2_000_000,
                allow_overdraw=False) == Draw(0, 1_000_000)


def test_drawing_the_wallet_to_exactly_zero_is_no_overdraw() -> None:
    assert draw(3_000_000, bonus_micros=1_000_000, topup_micros=2_000_000,
                allow_overdraw=False) == Draw(1_000_000, 2_000_000)


def test_overdraw_is_refused_when_not_allowed() -> None:
    assert draw(3_000_001, bonus_micros=1_000_000, topup_micros=2_000_000,
                allow_overdraw=False) == Refusal(shortfall_micros=1)


def test_overdraw_when_allowed_takes_the_topup_below_zero() -> None:
    # a call the gateway already served is never refused
    assert draw(5_000_000, bonus_micros=1_000_000, topup_micros=2_000_000,
                allow_overdraw=True) == Draw(1_000_000, 4_000_000)


def test_an_overdrawn_wallet_refuses_every_draw_when_asked_to() -> None:
    # the rule is "the top-up bucket must not end below zero", as it was in the service
    assert draw(1, bonus_micros=0, topup_micros=-10, allow_overdraw=False) == Refusal(11)
    assert draw(1, bonus_micros=1, topup_micros=-10, allow_overdraw=False) == Refusal(10)
    assert draw(1, bonus_micros=1, topup_micros=-10, allow_overdraw=True) == Draw(1, 0)


def test_zero_usage_draws_nothing() -> None:
    assert draw(0, bonus_micros=0, topup_micros=0, allow_overdraw=False) == Draw(0, 0)
    assert draw(0, bonus_micros=-3, topup_micros=-5, allow_overdraw=True) == Draw(0, 0)


@pytest.mark.parametrize("bad", [-1, 1.5, "1", True, None])
def test_amount_must_be_a_non_negative_int(bad) -> None:
    with pytest.raises(ValueError):
        draw(bad, bonus_micros=0, topup_micros=0, allow_overdraw=True)


@pytest.mark.parametrize("name", ["bonus_micros", "topup_micros"])
def test_balances_must_be_ints(name: str) -> None:
    kwargs = {"bonus_micros": 0, "topup_micros": 0, name: 0.5}
    with pytest.raises(ValueError):
        draw(1, allow_overdraw=True, **kwargs)


# ---------------------------------------------------------------- properties


@given(amount=AMOUNT, bonus=BALANCE, topup=BALANCE)
def test_parts_sum_to_the_amount_and_are_never_negative(amount: int, bonus: int,
                                                        topup: int) -> None:
    d = draw(amount, bonus_micros=bonus, topup_micros=topup, allow_overdraw=True)
    assert isinstance(d, Draw)
    assert d.from_bonus_micros + d.from_topup_micros == d.total_micros == amount
    assert 0 <= d.from_bonus_micros <= amount
    assert 0 <= d.from_topup_micros <= amount


@given(amount=AMOUNT, bonus=BALANCE, topup=BALANCE)
def test_bonus_first_and_never_below_zero(amount: int, bonus: int, topup: int) -> None:
    d = draw(amount, bonus_micros=bonus, topup_micros=topup, allow_overdraw=True)
    # the bonus part never takes the bonus bucket below zero
    assert d.from_bonus_micros <= max(bonus, 0)
    # top-up credits are touched only once the bonus is used up
    if d.from_topup_micros > 0:
        assert d.from_bonus_micros == max(bonus, 0)


@given(amount=AMOUNT, bonus=BALANCE, topup=BALANCE)
def test_refused_exactly_when_it_would_overdraw(amount: int, bonus: int, topup: int) -> None:
    allowed = draw(amount, bonus_micros=bonus, topup_micros=topup, allow_overdraw=True)
    strict = draw(amount, bonus_micros=bonus, topup_micros=topup, allow_overdraw=False)
    topup_after = topup - allowed.from_topup_micros
    if topup_after < 0:
        assert strict == Refusal(shortfall_micros=-topup_after)
    else:
        assert strict == allowed  # the same split either way


@given(amount=AMOUNT, bonus=BALANCE, topup=BALANCE)
def test_total_held_drops_by_the_amount(amount: int, bonus: int, topup: int) -> None:
    d = draw(amount, bonus_micros=bonus, topup_micros=topup, allow_overdraw=True)
    after_bonus, after_topup = bonus - d.from_bonus_micros, topup - d.from_topup_micros
    assert (after_bonus + after_topup) == bonus + topup - amount
    assert after_bonus >= min(bonus, 0)

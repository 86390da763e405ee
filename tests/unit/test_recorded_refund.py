"""The amounts of a refund a scenario declares (domain/recorded_refund.py)."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from zenmux_refunds.domain.recorded_refund import RecordedRefund, recorded_refund


# ---------------------------------------------------------------- examples


def test_full_refund_of_an_unused_order() -> None:
    assert recorded_refund(paid_cents=2000, amount_cents=2000, prior_refunded_cents=0,
                           fee_percent=5) == RecordedRefund(
        usage_cents=0, gross_cents=2000, fee_cents=100, final_cents=1900, currency="USD",
        final_minor=1900)


def test_the_rest_of_the_order_is_usage() -> None:
    # SPEC 2.1's worked example: $16.54 released of $20.00 -> $15.71 to the customer
    r = recorded_refund(paid_cents=2000, amount_cents=1654, prior_refunded_cents=0,
                        fee_percent=5)
    assert (r.usage_cents, r.gross_cents, r.final_cents, r.fee_cents) == (346, 1654, 1571, 83)


def test_earlier_refunds_are_not_usage() -> None:
    r = recorded_refund(paid_cents=2000, amount_cents=500, prior_refunded_cents=1000,
                        fee_percent=5)
    assert r.usage_cents == 500 and r.gross_cents == 500
    r = recorded_refund(paid_cents=2000, amount_cents=1500, prior_refunded_cents=1000,
                        fee_percent=5)
    assert r.usage_cents == 0  # never negative


def test_charged_in_another_currency_is_refunded_in_proportion() -> None:
    r = recorded_refund(paid_cents=10000, amount_cents=10000, prior_refunded_cents=0,
                        fee_percent=5, charged_currency="cny", charged_minor=72000)
    assert (r.currency, r.final_cents, r.final_minor) == ("CNY", 9500, 68400)


def test_amount_outside_the_order_is_refused() -> None:
    with pytest.raises(ValueError):
        recorded_refund(paid_cents=2000, amount_cents=2001, prior_refunded_cents=0,
                        fee_percent=5)
    with pytest.raises(ValueError):
        recorded_refund(paid_cents=2000, amount_cents=-1, prior_refunded_cents=0,
                        fee_percent=5)
    with pytest.raises(ValueError):  # the charged amount is required for CNY
        recorded_refund(paid_cents=2000, amount_cents=100, prior_refunded_cents=0,
                        fee_percent=5, charged_currency="CNY")


# ---------------------------------------------------------------- properties


@given(paid=st.integers(min_value=1, max_value=10**10), data=st.data(),
       fee=st.integers(min_value=0, max_value=100),
       charged=st.integers(min_value=0, max_value=10**12))
def test_recorded_refund_invariants(paid: int, data, fee: int, charged: int) -> None:
    amount = data.draw(st.integers(min_value=0, max_value=paid))
    prior = data.draw(st.integers(min_value=0, max_value=paid))
    r = recorded_refund(paid_cents=paid, amount_cents=amount, prior_refunded_cents=prior,
                        fee_percent=fee, charged_currency="EUR", charged_minor=charged)
    assert r.gross_cents == amount  # the declared credit value is what was released
    assert r.usage_cents == max(paid - prior - amount, 0) >= 0
    assert r.final_cents + r.fee_cents == r.gross_cents
    assert r.final_cents >= 0 and r.fee_cents >= 0
    # final rounded down, the rounding to the fee
    assert r.final_cents * 100 <= r.gross_cents * (100 - fee) < (r.final_cents + 1) * 100
    # in proportion in the charged currency, rounded down
    assert 0 <= r.final_minor <= charged
    assert r.final_minor * paid <= r.final_cents * charged < (r.final_minor + 1) * paid


@given(paid=st.integers(min_value=1, max_value=10**10), data=st.data(),
       fee=st.integers(min_value=0, max_value=100))
def test_usd_final_in_currency_is_final(paid: int, data, fee: int) -> None:
    amount = data.draw(st.integers(min_value=0, max_value=paid))
    r = recorded_refund(paid_cents=paid, amount_cents=amount, prior_refunded_cents=0,
                        fee_percent=fee)
    assert r.currency == "USD" and r.final_minor == r.final_cents

"""The credit note's derived numbers read the quote backwards, exactly."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from zenmux_refunds.domain.credit_note import already_refunded_cents, fee_percent_of
from zenmux_refunds.domain.policy import compute_quote


def test_alice_and_paul():
    # SUB-1002: $20.00 paid, $3.46 usage, $16.54 refundable, 5 % fee $0.83
    assert already_refunded_cents(paid_cents=2000, usage_cents=346, gross_cents=1654) == 0
    assert fee_percent_of(gross_cents=1654, fee_cents=83) == 5
    assert fee_percent_of(gross_cents=9899, fee_cents=495) == 5


def test_a_fee_that_several_percentages_give_is_not_guessed():
    # 10 cents at 5 % or at 6 %: both leave a 1-cent fee
    assert fee_percent_of(gross_cents=10, fee_cents=1) is None
    assert fee_percent_of(gross_cents=0, fee_cents=0) is None
    assert fee_percent_of(gross_cents=1000, fee_cents=7) is None  # no percentage gives it


@given(paid=st.integers(1, 10**7), usage=st.integers(0, 10**11),
       before=st.integers(0, 10**7), percent=st.integers(0, 100))
def test_the_quote_read_backwards(paid, usage, before, percent):
    q = compute_quote(paid_cents=paid, usage_micros=usage, already_refunded_cents=before,
                      fee_percent=percent)
    if q.refundable_cents <= 0:
        return  # never approved
    assert already_refunded_cents(paid_cents=paid, usage_cents=q.usage_cents,
                                  gross_cents=q.refundable_cents) == before
    derived = fee_percent_of(gross_cents=q.refundable_cents, fee_cents=q.fee_cents)
    assert derived in (percent, None)
    if q.refundable_cents >= 100:  # one cent per percent: every percentage differs
        assert derived == percent

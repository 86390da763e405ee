"""Property tests (hypothesis) for the quote arithmetic and the order of refusal reasons."""

from datetime import datetime, timedelta, timezone

from hypothesis import given, settings
from hypothesis import strategies as st

from zenmux_refunds.domain.money import (
    format_usd,
    micros_to_cents_down,
    micros_to_cents_up,
    parse_money,
)
from zenmux_refunds.domain.policy import (
    WINDOW,
    OrderFacts,
    Reason,
    compute_quote,
    evaluate,
)

PAID = st.integers(min_value=1, max_value=10**9)
FEE = st.integers(min_value=0, max_value=100)
MICROS = st.integers(min_value=0, max_value=10**9 * 10_000 * 2)
CENTS = st.integers(min_value=0, max_value=2 * 10**9)


@given(paid=PAID, usage=MICROS, refunded=CENTS, fee=FEE,
       charged=st.integers(min_value=0, max_value=10**12))
def test_quote_invariants(paid: int, usage: int, refunded: int, fee: int, charged: int) -> None:
    q = compute_quote(paid_cents=paid, usage_micros=usage, already_refunded_cents=refunded,
                      fee_percent=fee, charged_currency="CNY", charged_minor=charged)
    # usage is rounded up to the cent, never down
    assert q.usage_cents * 10_000 >= usage > (q.usage_cents - 1) * 10_000
    assert q.refundable_cents == paid - q.usage_cents - refunded
    assert q.final_cents >= 0 and q.fee_cents >= 0
    if q.refundable_cents > 0:
        assert q.final_cents + q.fee_cents == q.refundable_cents
        # final = floor(refundable * (100 - fee) / 100): at most, and within one cent of it
        assert q.final_cents * 100 <= q.refundable_cents * (100 - fee)
        assert (q.final_cents + 1) * 100 > q.refundable_cents * (100 - fee)
        # the fee is at least the fee percentage (rounding always falls to the fee)
        assert q.fee_cents * 100 >= q.refundable_cents * fee
    else:
        assert q.final_cents == 0 and q.fee_cents == 0
    assert q.final_cents <= paid
    assert 0 <= q.final_charged_minor <= charged
    assert q.final_charged_minor * paid <= q.final_cents * charged


@given(paid=PAID, usage=MICROS, refunded=CENTS, fee=FEE)
def test_usd_charged_equals_final(paid: int, usage: int, refunded: int, fee: int) -> None:
    q = compute_quote(paid_cents=paid, usage_micros=usage, already_refunded_cents=refunded,
                      fee_percent=fee)
    assert q.final_charged_minor == q.final_cents


@given(st.integers(min_value=-(10**15), max_value=10**15))
def test_cents_rounding(micros: int) -> None:
    up, down = micros_to_cents_up(micros), micros_to_cents_down(micros)
    assert down * 10_000 <= micros <= up * 10_000
    assert up - down == (0 if micros % 10_000 == 0 else 1)


@given(st.integers(min_value=-(10**12), max_value=10**12))
def test_format_usd_round_trips(cents: int) -> None:
    text = format_usd(cents)
    negative = text.startswith("-")
    plain = text.removeprefix("-").removeprefix("$").replace(",", "")
    assert parse_money(("-" if negative else "") + plain, places=2, field="x",
                       allow_negative=True) == cents


# --------------------------------------------------------------------------- reason order

PAID_AT = datetime(2026, 11, 26, 0, 0, tzinfo=timezone.utc)


# Each failure is drawn rarely, so that orders reaching the later checks are common.
RARELY = st.sampled_from([False, False, False, True])


@st.composite
def order_facts(draw: st.DrawFn) -> OrderFacts:
    kind = draw(st.sampled_from(["subscription", "topup"]))
    paid = draw(st.integers(min_value=1, max_value=10**6))
    usage = draw(st.one_of(st.just(0), st.integers(0, paid * 10_000 * 2)))
    refunded = draw(st.one_of(st.just(0), st.just(paid), st.integers(0, paid * 2)))
    refundable = paid - (usage + 9_999) // 10_000 - refunded
    balance = draw(
        st.one_of(
            st.integers(0, paid * 10_000 * 2),
            # close to the refundable amount, on either side of it
            st.integers(-20_000, 20_000).map(lambda d: max(0, refundable * 10_000 + d)),
        )
    )
    return OrderFacts(
        kind=kind,
        status=draw(st.sampled_from(["paid", "paid", "paid", "pending", "failed", "canceled"])),
        paid_cents=paid,
        paid_at=PAID_AT,
        usage_micros=usage,
        already_refunded_cents=refunded,
        refund_in_progress=draw(RARELY),
        full_refund_done=draw(RARELY),
        gift=draw(RARELY),
        channel=draw(st.sampled_from(["stripe", "antom", "bank_transfer", "paypal"])),
        topup_balance_micros=balance,
    )


def reference_reason(f: OrderFacts, now: datetime, fee: int) -> Reason | None:
    """An independent, literal transcription of the SPEC 2.4 table."""
    usage_cents = (f.usage_micros + 9_999) // 10_000
    refundable = f.paid_cents - usage_cents - f.already_refunded_cents
    checks = [
        (f.status in ("pending", "failed", "canceled"), Reason.NOT_COMPLETED),
        (f.kind == "subscription" and f.gift, Reason.GIFT),
        (f.refund_in_progress, Reason.IN_PROGRESS),
        (f.full_refund_done or f.already_refunded_cents >= f.paid_cents, Reason.FULLY_REFUNDED),
        (f.kind == "topup" and f.channel not in ("stripe", "antom"), Reason.NOT_ONLINE),
        (now >= f.paid_at + timedelta(hours=24), Reason.WINDOW_EXPIRED),
        # nothing left, or nothing left once the fee is taken (refundable of 1 cent)
        (refundable <= 0 or refundable * (100 - fee) // 100 <= 0, Reason.USAGE_EXCEEDS),
        (f.kind == "topup" and (f.topup_balance_micros or 0) < refundable * 10_000,
         Reason.INSUFFICIENT_BALANCE),
    ]
    return next((reason for failed, reason in checks if failed), None)


# Time since payment: spread evenly over two days (hour by hour), plus the edges.
ELAPSED = st.one_of(
    st.builds(
        lambda h, us: timedelta(hours=h, microseconds=us),
        st.integers(0, 47),
        st.integers(0, 3600 * 10**6 - 1),
    ),
    st.sampled_from([timedelta(0), WINDOW - timedelta(microseconds=1), WINDOW]),
)


@settings(max_examples=1000)
@given(facts=order_facts(), elapsed=ELAPSED, fee=FEE)
def test_reason_is_first_failing_check(facts: OrderFacts, elapsed: timedelta, fee: int) -> None:
    now = PAID_AT + elapsed
    d = evaluate(facts, now=now, fee_percent=fee)
    assert d.reason == reference_reason(facts, now, fee)
    assert d.eligible == (d.reason is None)
    assert d.window_ends_at == PAID_AT + WINDOW
    assert d.window_remaining >= timedelta(0)
    assert d.window_remaining == max(PAID_AT + WINDOW - now, timedelta(0))
    if d.eligible:
        assert d.quote.final_cents >= 0 and d.quote.refundable_cents > 0

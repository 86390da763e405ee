"""The credit note of a refund (issue 11, item 5), read back from the PDF with pypdf,
against a real database (SQLite, and PostgreSQL in CI).

The expected amounts are worked out here from the example scenario's own figures with
the policy's formula (usage rounded up to the cent, refundable = paid - usage - already
refunded, amount returned = refundable x 95 % rounded down, the fee the rest, the CNY
amount the same share of the CNY charge rounded down), not taken from the code."""

from __future__ import annotations

import contextlib
import io
from datetime import datetime
from decimal import Decimal

import pytest
import sqlalchemy as sa
from pypdf import PdfReader

from tests.integration._helpers import account_by_ref, approve_by_ref, example_data
from zenmux_refunds import config
from zenmux_refunds.domain import policy
from zenmux_refunds.providers import Outcome
from zenmux_refunds.services import receipts, refunds

FEE_PERCENT = 5  # ZENMUX_FEE_PERCENT's default, which the tests run with


def _minor(text: str, places: int = 2) -> int:
    return int(Decimal(text).scaleb(places))


def _usd(cents: int) -> str:
    return f"${cents // 100:,}.{cents % 100:02d}"


def _expected(account_ref: str, order_ref: str) -> dict:
    """The policy's numbers for one order of the example, from the scenario file."""
    person = next(a for a in example_data()["accounts"] if a["ref"] == account_ref)
    orders = person.get("subscription_payments", []) + person.get("topups", [])
    order = next(o for o in orders if o["ref"] == order_ref)
    subscription = order in person.get("subscription_payments", [])
    billed_to = "subscription" if subscription else "credits"
    paid_at = datetime.fromisoformat(order["paid_at"])
    usage_micros = sum(_minor(u["amount"], 6) for u in person.get("usage", [])
                       if u.get("billed_to", "credits") == billed_to
                       and datetime.fromisoformat(u["at"]) > paid_at)
    paid = _minor(order["amount"])
    usage = -(-usage_micros // 10_000)
    refundable = paid - usage
    returned = refundable * (100 - FEE_PERCENT) // 100
    expected = {"paid": paid, "usage": usage, "refundable": refundable,
                "fee": refundable - returned, "returned": returned}
    if "charged" in order:
        charged = _minor(order["charged"]["amount"])
        code = order["charged"]["currency"]
        expected["charged"] = f"{code} {charged // 100:,}.{charged % 100:02d}"
        back = returned * charged // paid
        expected["returned_charged"] = f"{code} {back // 100:,}.{back % 100:02d}"
    return expected


def _text(pdf: bytes) -> str:
    assert pdf.startswith(b"%PDF-")
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def _lines(pdf: bytes) -> list[str]:
    return [" ".join(line.split()) for line in _text(pdf).splitlines()]


def test_alices_subscription_refund(example_db):
    e = _expected("alice", "SUB-1002")
    assert (e["paid"], e["usage"], e["refundable"], e["fee"], e["returned"]) == (
        2000, 346, 1654, 83, 1571)  # the example's published figures
    approved = approve_by_ref("alice", "SUB-1002")
    alice = account_by_ref("alice")
    pdf = receipts.receipt_pdf(alice.id, approved.refund_ref)
    lines = _lines(pdf)
    for wanted in (
        "Credit note", f"Refund reference {approved.refund_ref}", "Order reference SUB-1002",
        "Name Alice Chen", "E-mail alice@example.com", "Account reference alice",
        "Method Card via Stripe",
        f"Status {policy.STATUS_WORDS['refunding'].label}",
        f"Paid {_usd(e['paid'])}", f"Usage {_usd(e['usage'])}",
        "Already refunded $0.00", f"Refundable {_usd(e['refundable'])}",
        f"Platform fee ({FEE_PERCENT}%) {_usd(e['fee'])}",
        f"Amount returned {_usd(e['returned'])}",
        "Requested 2026-11-26 12:00 UTC", "Sent to the provider not yet", "Settled not yet",
    ):
        assert wanted in lines, (wanted, lines)
    assert "$20.00" in _text(pdf) and "$15.71" in _text(pdf)
    assert "CNY" not in _text(pdf)  # charged in USD: no second currency
    # the same refund in the same state gives the same bytes (no "now" inside)
    assert receipts.receipt_pdf(alice.id, approved.refund_ref) == pdf

    # sent, then settled: the note follows the refund
    refunds.send(approved.refund_id)
    refunds.finish(approved.refund_id, Outcome.SUCCEEDED, actor="provider:sandbox")
    lines = _lines(receipts.receipt_pdf(alice.id, approved.refund_ref))
    for wanted in (f"Status {policy.STATUS_WORDS['refunded'].label}",
                   "Sent to the provider 2026-11-26 12:00 UTC",
                   "Settled 2026-11-26 12:00 UTC", f"Amount returned {_usd(e['returned'])}"):
        assert wanted in lines, (wanted, lines)


def test_pauls_top_up_charged_in_cny(example_db):
    e = _expected("paul", "TOP-3002")
    assert e["returned_charged"] == "CNY 677.08"  # the example's published figure
    approved = approve_by_ref("paul", "TOP-3002")
    pdf = receipts.receipt_pdf(account_by_ref("paul").id, approved.refund_ref)
    lines = _lines(pdf)
    for wanted in (
        f"Refund reference {approved.refund_ref}", "Order reference TOP-3002",
        "Name Paul Payg", "E-mail paul@example.com", "Account reference paul",
        "Method Alipay via Antom", f"Status {policy.STATUS_WORDS['refunding'].label}",
        "USD CNY",
        f"Paid {_usd(e['paid'])} {e['charged']}",
        f"Usage since payment {_usd(e['usage'])} -",
        "Already refunded $0.00 -",
        f"Refundable {_usd(e['refundable'])} -",
        f"Platform fee ({FEE_PERCENT}%) {_usd(e['fee'])} -",
        f"Amount returned {_usd(e['returned'])} {e['returned_charged']}",
    ):
        assert wanted in lines, (wanted, lines)


def test_the_fee_percentage_is_the_one_applied_at_approval(example_db, monkeypatch):
    approved = approve_by_ref("alice", "SUB-1002")
    monkeypatch.setenv("ZENMUX_FEE_PERCENT", "10")  # the fee changes after the approval
    config.settings.cache_clear()
    lines = _lines(receipts.receipt_pdf(account_by_ref("alice").id, approved.refund_ref))
    assert "Platform fee (5%) $0.83" in lines, lines


def test_a_refund_loaded_from_a_scenario_derives_its_numbers_exactly(example_db):
    # fiona's RF-6001: $20.00 released, no approval event to read the percentage from
    lines = _lines(receipts.receipt_pdf(account_by_ref("fiona").id, "RF-6001"))
    for wanted in ("Paid $20.00", "Already refunded $0.00", "Refundable $20.00",
                   "Platform fee (5%) $1.00", "Amount returned $19.00",
                   f"Status {policy.STATUS_WORDS['refunded'].label}"):
        assert wanted in lines, (wanted, lines)


def test_only_the_owner_and_support_get_it(example_db):
    approved = approve_by_ref("alice", "SUB-1002")
    with pytest.raises(LookupError) as foreign:
        receipts.receipt_pdf(account_by_ref("paul").id, approved.refund_ref)
    with pytest.raises(LookupError) as unknown:
        receipts.receipt_pdf(account_by_ref("paul").id, "RF-FFFFFFFF")
    assert str(foreign.value) == str(unknown.value)  # nothing tells them apart
    assert approved.refund_ref not in str(foreign.value)
    # control: support gets the same note as the owner
    sam = account_by_ref("sam")
    assert sam.role == "support"
    pdf = receipts.receipt_pdf(sam.id, approved.refund_ref)
    assert "Name Alice Chen" in _lines(pdf)
    assert pdf == receipts.receipt_pdf(account_by_ref("alice").id, approved.refund_ref)


@contextlib.contextmanager
def _statements():
    """Every SQL statement any engine of this process runs inside the block."""
    seen: list[str] = []

    def count(conn, cursor, statement, *args):
        seen.append(statement)

    sa.event.listen(sa.engine.Engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        sa.event.remove(sa.engine.Engine, "before_cursor_execute", count)


@pytest.mark.parametrize("ref", ["", "RF-", "rf-6001", "RF-6001 ", "RF-6001.pdf",
                                 "RF-" + "A" * 33, "RF-6001' OR '1'='1", "RF-\u0663",
                                 "SUB-1002", None, 6001])
def test_a_malformed_ref_is_refused_before_any_query(example_db, ref):
    fiona = account_by_ref("fiona").id
    with _statements() as seen, pytest.raises(LookupError):
        receipts.receipt_pdf(fiona, ref)
    assert seen == []


def test_control_a_well_formed_ref_is_looked_up(example_db):
    fiona = account_by_ref("fiona").id
    with _statements() as seen:
        assert receipts.receipt_pdf(fiona, "RF-6001").startswith(b"%PDF-")
    assert any("FROM refund" in statement for statement in seen), seen

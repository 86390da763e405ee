"""Races between the refund transitions, made deterministic: a test seam in
``services.refunds`` runs the other transition at the exact point the race needs,
against the real database (SQLite, and PostgreSQL when configured)."""

from __future__ import annotations

import threading

import pytest

from tests.integration._helpers import (
    account_by_ref as _account,
)
from tests.integration._helpers import (
    approve_by_ref as _approve,
)
from tests.integration._helpers import (
    assert_ledger_balances as _assert_ledger_balances,
)
from tests.integration._helpers import (
    balances_of as _balances,
)
from tests.integration._helpers import (
    refund_actions,
    refund_row,
)
from zenmux_refunds.providers import Outcome
from zenmux_refunds.services import refunds

SEND_WAIT_SECONDS = 1.5  # how long the seam lets the concurrent send run










def test_a_send_between_cancels_check_and_apply_never_pays_twice(example_db, monkeypatch):
    """The background pass sends the refund right after cancel found it unsent.

    Paul's top-up TOP-3002 goes through the Sandbox (pending for 20 s after it is
    sent). Whatever the order the two end in, the customer must not get both the
    credits back (Canceled reverses the wallet debit) and the provider's payment.

    Before issue 10 the seam sat between cancel's read-only check and its apply: send
    ran to the end there (marked submitted, asked the Sandbox), then the cancel reversed
    the debit and the Sandbox's "succeeded" was ignored — this test failed with
    "paid twice: cancel said 'canceled' ... trail ['approved', 'sent',
    'effects_reversed', 'canceled', 'ignored']". Now the seam runs under cancel's lock:
    send waits for it, then finds the refund Canceled and never asks the provider."""
    paul = _account("paul")
    before = _balances("paul")
    approved = _approve("paul", "TOP-3002")
    sent: list[str] = []

    def send_now(refund_id: int) -> None:
        worker = threading.Thread(target=lambda: sent.append(refunds.send(refund_id)))
        worker.start()
        worker.join(SEND_WAIT_SECONDS)  # blocked by a lock cancel holds: let it wait
        threads.append(worker)

    threads: list[threading.Thread] = []
    monkeypatch.setattr(refunds, "_cancel_checked", send_now)
    try:
        status = refunds.cancel(approved.refund_id, actor=paul.email, account_id=paul.id)
    except refunds.RefundRefused:
        status = "refused"
    for worker in threads:
        worker.join()
    assert len(threads) == 1 and len(sent) == 1

    row = refund_row(approved.refund_id)
    asked_provider = row.submitted_at is not None
    if asked_provider:  # the Sandbox settles it: its verdict, as webhooks deliver it
        refunds.finish(approved.refund_id, Outcome.SUCCEEDED, actor="provider:sandbox",
                       detail="sandbox: settled")
    row = refund_row(approved.refund_id)
    credits_back = _balances("paul") == before
    assert not (asked_provider and credits_back), (
        f"paid twice: cancel said {status!r}, the refund is {row.status!r}, the provider "
        f"was asked to pay it and the wallet was re-credited; trail {refund_actions(row.id)}")
    _assert_ledger_balances()
    # The interleaving really happened: send started while cancel held the lock, waited,
    # and then saw the cancel.
    assert (status, sent, row.status, row.submitted_at) == ("canceled", ["canceled"],
                                                            "canceled", None)
    assert refund_actions(row.id) == ["approved", "effects_reversed", "canceled"]


def test_once_sent_a_refund_cannot_be_canceled_and_pays_once(example_db):
    """The other order: the send commits first; the cancel (the console still showed
    the refund unsent) is refused under the lock, and the provider's verdict settles it."""
    paul = _account("paul")
    before = _balances("paul")
    approved = _approve("paul", "TOP-3002")
    debited = _balances("paul")
    assert refunds.send(approved.refund_id) == "refunding"  # Sandbox: pending
    with pytest.raises(refunds.RefundRefused, match="already been sent"):
        refunds.cancel(approved.refund_id, actor=paul.email, account_id=paul.id)
    assert refunds.finish(approved.refund_id, Outcome.SUCCEEDED, actor="provider:sandbox",
                          detail="sandbox: settled") == "refunded"
    assert _balances("paul") == debited != before
    assert refund_actions(approved.refund_id) == ["approved", "sent", "refunded"]
    _assert_ledger_balances()

"""The reconciler against localstripe: faults on a share of calls, several reconcilers
at once, and a process killed between approval and the provider call. Whatever
happens, every refund ends terminal, none is paid twice, and the ledger balances."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import stripe
from sqlmodel import select

from zenmux_refunds import config, db
from zenmux_refunds.models import Account, Refund, TopupOrder
from zenmux_refunds.services import ledger, quotes, refunds, scenarios

PROJECT_ROOT = Path(__file__).resolve().parents[2]
NOW = "2026-11-26T12:00:00Z"
ACCOUNTS = 6


def _world() -> dict:
    """Six customers, each with a $20.00 Stripe top-up paid an hour ago and no usage."""
    return {"now": NOW, "accounts": [
        {"ref": f"c{i}", "email": f"c{i}@example.com", "name": f"Customer {i}",
         "password": "pass-word", "topups": [
             {"ref": f"TOP-9{i:03d}", "amount": "20.00", "channel": "stripe",
              "paid_at": "2026-11-26T11:00:00Z", "status": "paid"}]}
        for i in range(ACCOUNTS)]}


def _pay(client: stripe.StripeClient, amount: int) -> str:
    customer = client.v1.customers.create({"email": f"{uuid.uuid4().hex[:8]}@example.com"})
    intent = client.v1.payment_intents.create({
        "amount": amount, "currency": "usd", "customer": customer.id,
        "payment_method": "pm_card_visa", "confirm": True})
    return intent.id


def _prepare(client: stripe.StripeClient) -> dict[str, str]:
    """Load the world and pay every order in localstripe; order ref -> PaymentIntent."""
    scenarios.load(_world(), replace=True)
    intents = {}
    with db.transaction() as s:
        for order in s.exec(select(TopupOrder)).all():
            order.provider_payment_id = intents[order.ref] = _pay(client, order.amount_cents)
            s.add(order)
    return intents


def _approve_all() -> list[int]:
    ids = []
    with db.reading() as s:
        accounts = s.exec(select(Account)).all()
    for account in accounts:
        with db.reading() as s:
            kind, order_id = quotes.order_id_by_ref(s, account, f"TOP-9{int(account.ref[1:]):03d}")
        ids.append(refunds.approve(account_id=account.id, kind=kind, order_id=order_id,
                                   preview_final_cents=None, actor=account.email).refund_id)
    return ids


def _assert_settled_once(client: stripe.StripeClient, intents: dict[str, str]) -> None:
    with db.reading() as s:
        rows = s.exec(select(Refund, TopupOrder.ref)
                      .join(TopupOrder, TopupOrder.id == Refund.topup_order_id)).all()
        for account in s.exec(select(Account)).all():
            assert ledger.balances(s, account.id) == ledger.ledger_sums(s, account.id)
    assert len(rows) == ACCOUNTS
    for refund, order_ref in rows:
        assert refund.status == "refunded", (order_ref, refund.status)
        at_stripe = [r for r in client.v1.refunds.list(
            {"payment_intent": intents[order_ref], "limit": 100}).auto_paging_iter()]
        assert len(at_stripe) == 1, (order_ref, len(at_stripe))
        assert at_stripe[0].amount == refund.final_cents == 1900  # $20.00 less 5%


def test_faults_on_a_share_of_calls_end_terminal_and_paid_once(use_stripe, stripe_client,
                                                                proxy, monkeypatch):
    intents = _prepare(stripe_client)
    monkeypatch.setenv("ZENMUX_PROVIDER_TIMEOUT_SECONDS", "1")
    use_stripe(proxy.url)
    proxy.fail("POST", "/v1/refunds", 503, share=0.3)
    proxy.fail("POST", "/v1/refunds", "forward_then_hang", share=0.3)  # done, never answered
    proxy.fail("GET", "/v1/refunds", 500, share=0.3)
    for refund_id in _approve_all():
        refunds.send(refund_id)
    for _ in range(3):  # the periodic passes, while the faults go on
        refunds.process_refunding(force=True)
    proxy.clear()
    refunds.process_refunding(force=True)
    _assert_settled_once(stripe_client, intents)
    assert any(path.startswith("/v1/refunds") for _m, path in proxy.seen)


def test_several_reconcilers_at_once_pay_each_refund_once(use_stripe, stripe_client, proxy,
                                                          monkeypatch):
    intents = _prepare(stripe_client)
    _approve_all()  # approved, never sent: as if every process died after its commit
    # Refund creation is slow, so that another reconciler asks while one is creating
    # (localstripe ignores idempotency keys: only our lease keeps it single).
    proxy.fail("POST", "/v1/refunds", "slow")
    monkeypatch.setenv("ZENMUX_PROVIDER_TIMEOUT_SECONDS", "5")
    use_stripe(proxy.url)
    env = {**os.environ, "DATABASE_URL": config.settings().database_url,
           "PYTHONPATH": str(PROJECT_ROOT)}
    with ThreadPoolExecutor(3) as pool:
        done = list(pool.map(lambda _: subprocess.run(
            [sys.executable, "-m", "zenmux_refunds", "reconcile"], cwd=PROJECT_ROOT, env=env,
            capture_output=True, text=True, timeout=120), range(3)))
    assert all(d.returncode == 0 for d in done), [d.stderr[-2000:] for d in done]
    refunds.process_refunding(force=True)  # whatever a lease made the others skip
    _assert_settled_once(stripe_client, intents)


def test_a_process_killed_after_approval_is_finished_by_the_reconciler(use_stripe,
                                                                       stripe_client):
    intents = _prepare(stripe_client)
    with db.reading() as s:
        first = s.exec(select(Account).where(Account.ref == "c0")).one()
    script = textwrap.dedent(f"""
        import os, signal
        from zenmux_refunds import db
        from zenmux_refunds.services import quotes, refunds
        from zenmux_refunds.models import Account
        with db.reading() as s:
            account = s.get(Account, {first.id})
            kind, order_id = quotes.order_id_by_ref(s, account, "TOP-9000")
        refunds.approve(account_id=account.id, kind=kind, order_id=order_id,
                        preview_final_cents=None, actor=account.email)
        os.kill(os.getpid(), signal.SIGKILL)  # dies before asking Stripe
    """)
    env = {**os.environ, "DATABASE_URL": config.settings().database_url,
           "PYTHONPATH": str(PROJECT_ROOT)}
    killed = subprocess.run([sys.executable, "-c", script], cwd=PROJECT_ROOT, env=env,
                            capture_output=True, text=True, timeout=120)
    assert killed.returncode == -9, killed.stderr[-2000:]
    with db.reading() as s:
        [refund] = s.exec(select(Refund)).all()
    assert refund.status == "refunding" and refund.submitted_at is None
    assert stripe_client.v1.refunds.list({"payment_intent": intents["TOP-9000"]}).data == []
    reconciled = subprocess.run([sys.executable, "-m", "zenmux_refunds", "reconcile"],
                                cwd=PROJECT_ROOT, env=env, capture_output=True, text=True,
                                timeout=120)
    assert reconciled.returncode == 0, reconciled.stderr[-2000:]
    with db.reading() as s:
        assert s.get(Refund, refund.id).status == "refunded"
    [at_stripe] = stripe_client.v1.refunds.list({"payment_intent": intents["TOP-9000"]}).data
    assert at_stripe.amount == 1900

"""Telling the Sandbox provider what to do with an order's refunds (demo, support)."""

from __future__ import annotations

from sqlmodel import select

from zenmux_refunds import db
from zenmux_refunds.models import SubscriptionPayment, TopupOrder

OUTCOMES = ("succeed", "fail")


def set_outcome(order_ref: str, outcome: str) -> str:
    """Make the Sandbox settle refunds of ``order_ref`` as ``outcome``; return the kind."""
    if outcome not in OUTCOMES:
        raise ValueError(f"outcome must be one of {', '.join(OUTCOMES)}, not {outcome!r}")
    with db.transaction() as s:
        for kind, model in (("subscription", SubscriptionPayment), ("topup", TopupOrder)):
            order = s.exec(select(model).where(model.ref == order_ref)).first()
            if order is not None:
                order.sandbox_outcome = outcome
                s.add(order)
                return kind
    raise LookupError(f"no order {order_ref}")

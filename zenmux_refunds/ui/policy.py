"""Refund policy & FAQ, in our own words, from the facts of the public policy page."""

from __future__ import annotations

import reflex as rx

from zenmux_refunds.config import settings
from zenmux_refunds.ui.layout import page

_FAQ = [
    ("Can I subscribe again after a refund?",
     "Yes. A refunded subscription moves your account to the Free plan straight away, and "
     "you can subscribe or top up again whenever you like."),
    ("Are bonus credits refundable?",
     "No. Discount bonuses, gifts and referral rewards are not paid for, so they are not "
     "refunded; refunding a top-up forfeits the bonus that came with it."),
    ("Are gift subscriptions refundable?",
     "No. A subscription you received as a gift cannot be refunded, and its Refund button "
     "stays disabled."),
    ("How long does a refund take?",
     "Self-service refunds usually arrive within 1-3 business days. Requests by e-mail are "
     "reviewed within 7 business days, and your bank may need another 3-10 banking "
     "business days."),
    ("What if my usage is more than I paid?",
     "Then nothing is left to refund: the order shows \"Usage exceeds refundable amount\"."),
    ("Is a Pay-As-You-Go refund per order or per account?",
     "Per top-up order. Each order is calculated on its own, from the usage after it was "
     "paid, so pick the order in your Transactions list."),
    ("What happens to a referral reward linked to a refunded top-up?",
     "The person who referred you does not receive the $5 reward for that order."),
    ("What does \"Insufficient balance\" mean?",
     "A top-up refund is taken out of your top-up credits. If they no longer cover the "
     "refundable amount, the refund cannot be made online."),
]


def policy_page() -> rx.Component:
    fee = settings().fee_percent
    return page(
        rx.heading("Refund policy & FAQ", size="6"),
        rx.text("You can ask for a refund of a subscription (Pro, Max, Ultra) or of a "
                "Pay-As-You-Go top-up within 24 hours of paying for it. The refund dialog "
                "shows how much time is left."),
        rx.heading("How the amount is calculated", size="4"),
        rx.unordered_list(
            rx.list_item("We start from what you paid for the order."),
            rx.list_item("We subtract the value of the API usage counted for it (rounded up "
                         "to the cent) and anything already refunded for it."),
            rx.list_item(f"A {fee}% platform fee is kept from what remains; the rest "
                         "(rounded down to the cent) goes back to your original payment "
                         "method, in the currency you paid in."),
        ),
        rx.text("Calls that were in flight when you asked may still be billed: the amount "
                "settled when you confirm is the one that counts, and the dialog tells you "
                "if it changed.", color_scheme="gray"),
        rx.heading("When a refund is not possible", size="4"),
        rx.unordered_list(*[rx.list_item(t) for t in (
            "The payment was not completed.",
            "The subscription was a gift.",
            "A refund of the order is already in progress, or it was fully refunded.",
            "The top-up was paid through a channel we cannot refund online — ask us by "
            "e-mail instead.",
            "More than 24 hours have passed since payment.",
            "Usage has used up the refundable amount.",
            "Your top-up credits no longer cover the refundable amount.",
        )]),
        rx.heading("After a refund", size="4"),
        rx.text("A subscription returns to the Free plan at once. A top-up refund is taken "
                "from your top-up credits, forfeits the order's bonus credits and cancels a "
                "referral reward linked to it. If the payment provider fails the refund, "
                "all of this is undone."),
        rx.hstack(rx.link("Request a refund by e-mail", href="/request"), spacing="4"),
        rx.heading("FAQ", size="4"),
        *[rx.vstack(rx.text(q, weight="bold"), rx.text(a), spacing="1") for q, a in _FAQ],
    )

"""Refunds — the public policy page (``/policy``, no sign-in), in the policy's own words.

The wording is the public policy's (``shared/seed/refunds.md``), with two sources of
truth kept single: the non-refundable cases are the refusal reasons the Refund button
shows (``policy.Reason``, in check order), and the status table is the dialog's own
(``policy.STATUS_WORDS``). The platform fee is the configured one. The page is public:
signed in or not, everyone reads the same policy.
"""

from __future__ import annotations

import reflex as rx

from zenmux_refunds.config import settings
from zenmux_refunds.domain.policy import STATUS_WORDS, Reason
from zenmux_refunds.ui.components import labelled_cells, stacked_table
from zenmux_refunds.ui.i18n import t, tf
from zenmux_refunds.ui.layout import page

# Each refusal reason (the words the Refund button shows) and what it means.
_CASES = (
    (Reason.NOT_COMPLETED, "The order has not been successfully paid"),
    (Reason.GIFT, "Subscriptions received as a Gift are non-refundable"),
    (Reason.IN_PROGRESS, "A refund is already being processed — wait for it to complete"),
    (Reason.FULLY_REFUNDED, "The order has already been fully refunded"),
    (Reason.NOT_ONLINE, "Only Stripe and Antom (Alipay) payments can be refunded online; "
                        "other channels can be refunded by email request"),
    (Reason.WINDOW_EXPIRED, "More than 24 hours since subscription or purchase"),
    (Reason.USAGE_EXCEEDS, "API usage since payment has consumed all refundable credits"),
    (Reason.INSUFFICIENT_BALANCE, "Top-up wallet balance is insufficient to process the "
                                  "refund (Pay-As-You-Go)"),
)

_FAQ = (
    ("Can I subscribe again after a refund?",
     "Yes. After a refund, your account will be downgraded to the Free plan and you can "
     "re-subscribe at any time."),
    ("Are bonus credits refundable?",
     "No. Credits obtained through top-up bonuses, platform gifts, or referral rewards are "
     "non-refundable and will be forfeited upon refund approval."),
    ("Are gift subscriptions refundable?",
     "No. Subscriptions received as a Gift are not eligible for refunds — the Refund button "
     "will be disabled."),
    ("How long does a refund take?",
     "Self-service refunds typically arrive within 1-3 business days. Email-based refunds "
     "require a 7 business day review period, plus an additional 3-10 banking business "
     "days for processing."),
    ("Can I get a refund if my usage exceeds the subscription amount?",
     "No. If the equivalent API usage value exceeds your subscription payment, the "
     "subscription is not eligible for a refund."),
    ("Are Pay-As-You-Go refunds per-order or per-account?",
     "Per individual top-up order. You need to find the specific top-up order in your "
     "Transactions list and initiate the refund from there. Each order's refundable amount "
     "is calculated independently."),
    ("What happens to linked referral rewards after a refund?",
     "If the refunded top-up order is linked to a referral reward, the referrer will not "
     "receive the $5 referral reward for that order."),
    ("What if the Pay-As-You-Go refund shows \"Insufficient balance\"?",
     "The refund amount is deducted from your top-up wallet balance. If your current "
     "balance is insufficient to cover the refund, the system will reject the request. "
     "Please ensure your wallet has enough top-up balance."),
)


def _table(header: tuple[str, ...], rows, table_id: str) -> rx.Component:
    return stacked_table(header, *[rx.table.row(*labelled_cells(
        header, *[t(c) if isinstance(c, str) else c for c in row])) for row in rows],
        id=table_id)


def _h(text: str) -> rx.Component:
    return rx.heading(t(text), size="4", as_="h2")


def policy_page() -> rx.Component:
    fee = settings().fee_percent
    return page(
        rx.heading(t("Refunds"), size="6", as_="h1"),
        rx.text(t("If you're unsatisfied with your subscription or Pay-As-You-Go purchase, you "
                "can request a refund provided you meet the eligibility requirements. This "
                "page covers refund eligibility, calculation methods, and step-by-step "
                "instructions.")),
        _h("Refund Eligibility"),
        _table(("Payment Method", "Refund Conditions"), (
            ("Subscription (Pro / Max / Ultra)", "Within 24 hours of subscribing, and API "
             "usage value has not exceeded the subscription amount"),
            ("Pay-As-You-Go", "Within 24 hours of each top-up order; refund applies to unused "
             "paid credits from that order (excludes bonus credits)"),
        ), "policy-eligibility"),
        rx.callout(t("Refund requests must be submitted within 24 hours of a successful "
                   "subscription or purchase. Requests after this window cannot be "
                   "processed. The refund dialog displays the remaining refund window."),
                   icon="clock", color_scheme="amber", size="1"),
        _h("Non-Refundable Cases"),
        rx.text(t("The Refund button shows the reason when an order cannot be refunded:")),
        _table(("Case", "Description"), [(str(r), d) for r, d in _CASES], "policy-cases"),
        _h("Refund Calculation"),
        _table(("Item", "Description"), (
            ("Total paid", "Full amount paid for the subscription or the top-up order"),
            ("- Actual usage", "Equivalent value of API calls consumed since payment"),
            ("- Already refunded", "Amount previously refunded (if any)"),
            ("= Refundable balance", "Remaining refundable amount after deducting usage and "
                                     "refunds"),
            (tf("- Platform fee ({fee}%)", fee=fee), "Platform refund processing fee"),
            ("= Final refund amount", "Amount actually returned to your payment method"),
        ), "policy-calculation"),
        rx.text(tf("Formula: Refund Amount = (Total Paid - Actual Usage - Already Refunded) × "
                   "(1 - {fee}%)", fee=fee), weight="medium", id="policy-formula"),
        rx.text(t("Pay-As-You-Go refunds are processed on a per top-up order basis, with each "
                "order calculated independently. Credits obtained through top-up bonuses "
                "(Discount), platform gifts (Gift), or referral rewards (Referral) are "
                "non-refundable and will be forfeited upon refund approval. If the refunded "
                "order is linked to a referral reward, the referrer will not receive the $5 "
                "reward for that order.")),
        rx.text(t("API requests in transit between payment and refund initiation may still be "
                "billed. The final refund amount may differ from the amount shown in the "
                "refund preview — the actual settled amount prevails."), color_scheme="gray"),
        _h("Refund Status"),
        _table(("Status", "Description"), [
            (rx.fragment(w.emoji, " ", t(w.label)), w.description)
            for key, w in STATUS_WORDS.items() if key != "needs_attention"
        ], "policy-statuses"),
        _h("Refund Process"),
        rx.unordered_list(
            rx.list_item(t("Subscription: on the Subscription Management page, click Refund "
                         "in the Billing History, check the preview, click Submit Refund and "
                         "confirm.")),
            rx.list_item(t("Pay-As-You-Go: on the Credits Management page, find the Stripe or "
                         "Antom top-up order in the Transactions list and click Refund on "
                         "that row. The refund amount is deducted from your top-up wallet "
                         "balance.")),
            rx.list_item(rx.fragment(
                t("Any payment method: "), rx.link(t("request a refund by email"),
                                                   href="/request", underline="always"),
                t(". We will review your request within 7 business days. Eligible refunds are "
                  "processed to your original payment account in the original currency via "
                  "the original payment method."))),
        ),
        rx.text(t("Actual refund arrival times vary by payment institution and may take an "
                "additional 3-10 banking business days."), color_scheme="gray"),
        _h("Supported Payment Methods"),
        rx.text(t("Refunds are returned to the original payment channel:")),
        _table(("Payment Channel", "Applicable To"), (
            ("Stripe (credit/debit card)", "Subscription + Pay-As-You-Go"),
            ("Antom (Alipay, etc.)", "Pay-As-You-Go"),
        ), "policy-channels"),
        _h("After Refund"),
        _table(("Payment Method", "Impact After Refund"), (
            ("Subscription", "Subscription is immediately downgraded to the Free plan"),
            ("Pay-As-You-Go", "Refund amount is deducted from the top-up wallet balance; "
             "associated bonus credits are forfeited; if the order is linked to a referral "
             "reward, the referrer's $5 reward is revoked"),
        ), "policy-after"),
        rx.unordered_list(
            rx.list_item(t("Refunded funds will be returned to the original payment method "
                         "within 1-3 business days")),
            rx.list_item(t("Pending API calls may affect the final refund amount")),
            rx.list_item(t("Any exchange rate differences are borne by the user")),
        ),
        _h("FAQ"),
        *[rx.vstack(rx.text(t(q), weight="bold", as_="p"), rx.text(t(a)), spacing="1")
          for q, a in _FAQ],
    )

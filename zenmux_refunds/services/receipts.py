"""The credit note of a refund, as a PDF (issue 11, item 5): what the customer can
keep. Reads only.

``receipt_pdf(viewer, ref)`` answers the refund's owner and support; anyone else — and
a ref that does not exist or is malformed — gets the same ``NoSuchReceipt`` (a
LookupError), so refs cannot be probed.

Every number is a stored integer of the refund or its order, formatted with
``domain.money``: paid (the order), usage, refundable, fee, amount returned (the
refund), and in the charged currency what was charged and what is returned (the
order's ``charged_minor``, the refund's ``final_minor``). "Already refunded" and the
fee percentage come from the approval's audit detail (``refunds.approve`` records
them) or, for refunds approved before it did, are derived exactly by
``domain.credit_note``; a percentage that cannot be known exactly is not printed.
Usage, refunds and the fee are counted in USD credits: the note converts nothing else
into the charged currency, since the policy defines no such conversion.

The PDF (fpdf2) embeds DejaVu Sans when the machine has it (any character it lacks
prints as "?"), else uses the core Helvetica with the text kept to Latin-1. Its
creation date is the refund's latest date, not now: the same refund in the same state
gives the same bytes.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlmodel import select

from zenmux_refunds import db
from zenmux_refunds.domain import credit_note, money, policy
from zenmux_refunds.domain.vocabulary import OrderKind, RefundStatus
from zenmux_refunds.models import Account, Refund, RefundEvent, SubscriptionPayment, TopupOrder
from zenmux_refunds.services import auth, billing, business_days

# What refunds.approve names its refunds ("RF-" and 8 hex digits; scenario refunds such
# as "RF-6001" fit too), bounded before anything reaches the database.
REF_PATTERN = re.compile(r"RF-[0-9A-F]{1,32}", re.ASCII)
METHODS = {"stripe": "Card via Stripe", "antom": "Alipay via Antom"}
FONT_DIRS = (Path("/usr/share/fonts/truetype/dejavu"), Path("/usr/share/fonts/dejavu"),
             Path("/usr/local/share/fonts/dejavu"))


class NoSuchReceipt(LookupError):
    """No such refund, or not one the viewer may see (deliberately the same)."""


def valid_ref(ref: object) -> bool:
    return isinstance(ref, str) and REF_PATTERN.fullmatch(ref) is not None


def filename(ref: str) -> str:
    return f"credit-note-{ref}.pdf"


@dataclass(frozen=True)
class AmountLine:
    label: str
    usd: str
    other: str = ""  # in the charged currency, when the note has that column


@dataclass(frozen=True)
class CreditNote:
    """The credit note's content, every value already formatted."""

    refund_ref: str
    order_ref: str
    order_text: str  # what was bought, and when
    account_name: str
    account_email: str
    account_ref: str
    amounts: tuple[AmountLine, ...]
    other_currency: str  # "" when the order was charged in USD
    method: str
    status: str  # the customer's word
    status_text: str  # and its sentence
    dates: tuple[tuple[str, str], ...]
    notes: tuple[str, ...]
    created_at: datetime  # the PDF's creation date: the refund's latest instant


def credit_note_for(viewer_account_id: int, refund_ref: str) -> CreditNote:
    """The content of ``refund_ref``'s credit note, if ``viewer_account_id`` may see it."""
    if not valid_ref(refund_ref):
        raise NoSuchReceipt("no such refund")
    with db.reading() as s:
        viewer = s.get(Account, viewer_account_id) if isinstance(viewer_account_id, int) else None
        refund = s.exec(select(Refund).where(Refund.ref == refund_ref)).first()
        if (viewer is None or refund is None
                or (refund.account_id != viewer.id and viewer.role != auth.SUPPORT)):
            raise NoSuchReceipt("no such refund")
        owner = s.get(Account, refund.account_id)
        subscription = refund.order_kind == OrderKind.SUBSCRIPTION
        order = (s.get(SubscriptionPayment, refund.subscription_payment_id) if subscription
                 else s.get(TopupOrder, refund.topup_order_id))
        events = list(s.exec(select(RefundEvent).where(RefundEvent.refund_id == refund.id)
                             .order_by(RefundEvent.id)).all())
    return _compose(refund, order, owner, events, subscription)


def receipt_pdf(viewer_account_id: int, refund_ref: str) -> bytes:
    """The credit note of ``refund_ref`` as PDF bytes; NoSuchReceipt (a LookupError)
    when the refund does not exist or is neither the viewer's nor is the viewer
    support."""
    return render(credit_note_for(viewer_account_id, refund_ref))


# ------------------------------------------------------------------ content


def _approval_detail(events: list[RefundEvent]) -> dict:
    for event in events:
        if event.action == "approved":
            try:
                detail = json.loads(event.detail or "{}")
            except ValueError:
                return {}
            return detail if isinstance(detail, dict) else {}
    return {}


def _stored_int(detail: dict, key: str) -> int | None:
    value = detail.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _first(events: list[RefundEvent], action: str) -> datetime | None:
    return next((e.at for e in events if e.action == action), None)


def _compose(refund: Refund, order, owner: Account, events: list[RefundEvent],
             subscription: bool) -> CreditNote:
    detail = _approval_detail(events)
    paid = order.amount_cents
    already = _stored_int(detail, "already_refunded_cents")
    if already is None:
        already = credit_note.already_refunded_cents(
            paid_cents=paid, usage_cents=refund.usage_cents, gross_cents=refund.gross_cents)
    percent = _stored_int(detail, "fee_percent")
    if percent is None:
        percent = credit_note.fee_percent_of(gross_cents=refund.gross_cents,
                                             fee_cents=refund.fee_cents)
    usd = money.format_usd
    other = ""
    if (not subscription and refund.currency != "USD"
            and order.charged_currency.upper() == refund.currency.upper()):
        other = refund.currency.upper()
    amounts = (
        AmountLine("Paid", usd(paid),
                   money.format_currency(order.charged_minor, other) if other else ""),
        AmountLine("Usage" if subscription else "Usage since payment", usd(refund.usage_cents)),
        AmountLine("Already refunded", usd(already)),
        AmountLine("Refundable", usd(refund.gross_cents)),
        AmountLine(f"Platform fee ({percent}%)" if percent is not None else "Platform fee",
                   usd(refund.fee_cents)),
        AmountLine("Amount returned", usd(refund.final_cents),
                   money.format_currency(refund.final_minor, other) if other else ""),
    )
    notes = ["Refundable = paid - usage - already refunded; the platform fee is taken from "
             "it and the rest is returned. Usage is rounded up to the cent."]
    if other:
        notes.append(
            f"The order was charged {money.format_currency(order.charged_minor, other)}. "
            f"The amount returned in {other} is the same share of that charge as "
            f"{usd(refund.final_cents)} is of {usd(paid)}, rounded down: no new exchange "
            "rate is applied. Usage, refunds and the fee are counted in USD credits.")
    if percent is None:
        notes.append("The fee percentage was not recorded at approval and cannot be read "
                     "exactly from these amounts.")

    shown = billing.shown_status(refund)
    words = policy.STATUS_WORDS[shown]
    sent = _first(events, "sent")
    status = RefundStatus(refund.status)
    dates = [("Requested", money.format_instant(refund.requested_at)),
             ("Sent to the provider", money.format_instant(sent) if sent else "not yet")]
    if status is RefundStatus.REFUNDING:
        first, last = business_days.arrival_dates(refund.requested_at)
        dates.append(("Expected arrival", f"between {first:%a %Y-%m-%d} and {last:%a %Y-%m-%d}"))
        dates.append(("Settled", "not yet"))
    else:
        label = "Settled" if status is RefundStatus.REFUNDED else f"{status.value.capitalize()} on"
        dates.append((label, money.format_instant(refund.settled_at)
                      if refund.settled_at else "unknown"))
    instants = [t for t in (refund.requested_at, sent, refund.settled_at) if t is not None]

    what = (f"{order.plan} subscription payment" if subscription else "Pay-As-You-Go top-up")
    method = METHODS.get(order.channel.lower()) or (
        f"{billing.method_label(order.channel)} (manual channel: paid out by support)")
    return CreditNote(
        refund_ref=refund.ref, order_ref=order.ref,
        order_text=f"{what}, paid {money.format_instant(order.paid_at)}",
        account_name=owner.name, account_email=owner.email, account_ref=owner.ref,
        amounts=amounts, other_currency=other, method=method,
        status=words.label, status_text=words.description,
        dates=tuple(dates), notes=tuple(notes), created_at=max(instants),
    )


# ------------------------------------------------------------------ PDF


def _dejavu() -> tuple[Path, Path] | None:
    for folder in FONT_DIRS:
        regular, bold = folder / "DejaVuSans.ttf", folder / "DejaVuSans-Bold.ttf"
        if regular.is_file() and bold.is_file():
            return regular, bold
    return None


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def render(note: CreditNote) -> bytes:
    from fpdf import FPDF
    from fpdf.enums import Align, XPos, YPos

    pdf = FPDF(format="A4", unit="mm")
    pdf.set_margins(20, 20, 20)
    pdf.set_auto_page_break(True, margin=20)
    pdf.set_creation_date(note.created_at)
    pdf.set_title(f"Credit note {note.refund_ref}")
    pdf.set_author("ZenMux")
    pdf.set_creator("ZenMux Refunds")
    pdf.set_lang("en")
    fonts = _dejavu()
    family = "Helvetica"
    if fonts is not None:
        family = "DejaVu"
        pdf.add_font(family, "", str(fonts[0]))
        pdf.add_font(family, "B", str(fonts[1]))
    pdf.add_page()

    def fit(text: str) -> str:
        """The text with what the current font cannot print replaced by "?"."""
        text = _CONTROL.sub(" ", text)
        cmap = getattr(pdf.current_font, "cmap", None)
        if cmap is None:  # a core font: Latin-1 only
            return text.encode("latin-1", "replace").decode("latin-1")
        return "".join(ch if ord(ch) in cmap else "?" for ch in text)

    def line(text: str, *, size: float = 10, bold: bool = False, h: float = 6,
             w: float = 0, align=Align.L, last: bool = True) -> None:
        pdf.set_font(family, "B" if bold else "", size)
        pdf.cell(w, h, fit(text), align=align,
                 new_x=XPos.LMARGIN if last else XPos.RIGHT,
                 new_y=YPos.NEXT if last else YPos.TOP)

    def pair(label: str, value: str) -> None:
        line(label, bold=True, w=55, last=False)
        pdf.set_font(family, "", 10)
        pdf.multi_cell(0, 6, fit(value), align=Align.L, new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def heading(text: str) -> None:
        pdf.ln(4)
        line(text, size=12, bold=True, h=8)

    line("ZenMux", size=10, bold=True)
    line("Credit note", size=20, bold=True, h=12)
    line(f"Refund {note.refund_ref}", size=12, h=8)

    heading("Refund")
    pair("Refund reference", note.refund_ref)
    pair("Order reference", note.order_ref)
    pair("Order", note.order_text)
    pair("Method", note.method)
    pair("Status", note.status)
    pair("", note.status_text)

    heading("Account")
    pair("Name", note.account_name)
    pair("E-mail", note.account_email)
    pair("Account reference", note.account_ref)

    heading("Amounts")
    line("", w=80, last=False)
    line("USD", bold=True, w=40, align=Align.R, last=not note.other_currency)
    if note.other_currency:
        line(note.other_currency, bold=True, w=40, align=Align.R)
    for amount in note.amounts:
        bold = amount.label == "Amount returned"
        line(amount.label, bold=bold, w=80, last=False)
        line(amount.usd, bold=bold, w=40, align=Align.R, last=not note.other_currency)
        if note.other_currency:
            line(amount.other or "-", bold=bold, w=40, align=Align.R)

    heading("Dates (UTC)")
    for label, value in note.dates:
        pair(label, value)

    pdf.ln(4)
    for text in note.notes:
        pdf.set_font(family, "", 8)
        pdf.multi_cell(0, 4.5, fit(text), align=Align.L, new_x=XPos.LMARGIN,
                       new_y=YPos.NEXT)
        pdf.ln(1)
    return bytes(pdf.output())

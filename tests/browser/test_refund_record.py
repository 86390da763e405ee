"""The customer's refund record (issue 11 items 1, 2 and 4), as customers see it on
both billing pages: the Refunds section, the timeline opened from a record or from an
amount's tag, the exact amounts of a refund's Transactions line, "Refund failed", a
forged event naming someone else's refund, and the section at phone width (example
scenario, clock frozen at 2026-11-26 12:00 UTC; the Sandbox settles after 5 s)."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.browser.conftest import shot, sign_in_as
from tests.support.sockets import forge_events

RECORD_REF = re.compile(r"RF-[0-9A-F]{8}")


def _credits(page: Page, persona: str) -> None:
    sign_in_as(page, persona)
    page.get_by_role("link", name="Credits").click()
    page.wait_for_url("**/credits{,/}")
    expect(page.locator(".tx-order").first).to_be_visible()


def _events(page: Page) -> list[str]:
    """The open timeline's lines (they arrive in one update: the first means all)."""
    events = page.locator("#refund-timeline .timeline-event")
    expect(events.first).to_be_visible()
    return events.all_inner_texts()


def _refund_through_the_dialog(page: Page, order_ref: str) -> None:
    page.locator(f"#refund-{order_ref}").click()
    page.locator("#submit-refund").click()
    page.locator("#confirm-refund").click()
    expect(page.locator("#refund-status")).to_have_text("Refunding")


def _new_record_ref(page: Page) -> str:
    record = page.locator(".refund-record").first
    expect(record).to_be_visible()
    ref = RECORD_REF.search(record.get_attribute("id") or "")
    assert ref, record.get_attribute("id")
    return ref.group(0)


def test_subscription_refund_stays_on_record_with_its_timeline(page: Page):
    sign_in_as(page, "alice")
    expect(page.locator("#no-refunds")).to_have_text(
        "No refunds of your subscription payments yet.")
    _refund_through_the_dialog(page, "SUB-1002")
    ref = _new_record_ref(page)
    # while Refunding: the dialog's arrival words, in the record behind it
    expect(page.locator(f"#arrival-{ref}")).to_have_text(
        "Expected between Fri 2026-11-27 and Tue 2026-12-01")
    expect(page.locator("#refund-status")).to_have_text("Refunded", timeout=30_000)
    page.locator("#close-dialog").click()

    record = page.locator(f"#record-{ref}")
    expect(record).to_contain_text("Order SUB-1002")
    expect(page.locator(f"#requested-{ref}")).to_have_text("Requested 2026-11-26 12:00 UTC")
    expect(page.locator(f"#refundable-{ref}")).to_have_text("$16.54")
    expect(page.locator(f"#fee-{ref}")).to_have_text("$0.83")
    expect(page.locator(f"#returned-amount-{ref}")).to_have_text("$15.71")
    expect(page.locator(f"#returned-currency-{ref}")).to_have_count(0)  # charged in USD
    expect(page.locator(f"#record-tag-{ref}")).to_have_text("Refunded")
    expect(page.locator(f"#arrival-{ref}")).to_have_count(0)  # arrived
    expect(page.locator(f"#receipt-{ref}")).to_have_attribute("href", f"/api/receipts/{ref}.pdf")
    page.locator("#refund-records").scroll_into_view_if_needed()
    shot(page, "record-subscription-section")

    page.locator(f"#open-{ref}").click()
    timeline = page.locator("#refund-timeline")
    expect(timeline).to_be_visible()
    expect(timeline.get_by_role("heading", name=f"Refund {ref}")).to_be_visible()
    expect(page.locator("#timeline-tag")).to_have_text("Refunded")
    expect(page.locator("#timeline-returned")).to_have_text("$15.71")
    expect(page.locator("#refund-timeline .timeline-event")).to_have_count(3)
    assert [e.split("\n") for e in _events(page)] == [
        ["2026-11-26 12:00 UTC", "Refund approved: $15.71 to be returned"],
        ["2026-11-26 12:00 UTC", "Sent to the Sandbox"],
        ["2026-11-26 12:00 UTC", "Refunded: $15.71 returned to your payment method"],
    ]
    expect(timeline).not_to_contain_text("alice@example.com")
    expect(page.locator("#receipt-timeline")).to_have_attribute(
        "href", f"/api/receipts/{ref}.pdf")
    shot(page, "record-subscription-timeline")
    page.locator("#close-timeline").click()
    expect(timeline).to_have_count(0)

    # the amount column's tag opens the same view
    page.locator("#tag-SUB-1002").click()
    expect(timeline).to_be_visible()
    expect(timeline.get_by_role("heading", name=f"Refund {ref}")).to_be_visible()
    expect(page.locator("#refund-timeline .timeline-event")).to_have_count(3)


def test_a_failed_subscription_refund_reads_refund_failed(page: Page, app_server):
    app_server.cli("sandbox", "fail", "SUB-1002")
    sign_in_as(page, "alice")
    _refund_through_the_dialog(page, "SUB-1002")
    expect(page.locator("#refund-status")).to_have_text("Failed", timeout=30_000)
    page.locator("#close-dialog").click()
    ref = _new_record_ref(page)
    expect(page.locator("#tag-SUB-1002")).to_have_text("Refund failed")
    expect(page.locator(f"#record-tag-{ref}")).to_have_text("Refund failed")
    page.locator("#tag-SUB-1002").click()
    expect(page.locator("#timeline-tag")).to_have_text("Refund failed")
    expect(page.locator("#refund-timeline .timeline-event").last).to_contain_text(
        "Refund failed — please contact support")
    shot(page, "record-subscription-failed-timeline")


def test_credits_records_transactions_amounts_and_tags(page: Page):
    _credits(page, "fiona")
    # item 2: the wallet lost the refundable amount; the line says what came back
    line = page.locator("tr", has=page.locator("#returned-RF-6001"))
    expect(line).to_contain_text("-$20.00")
    expect(page.locator("#returned-RF-6001")).to_have_text("returned $19.00")
    line.scroll_into_view_if_needed()
    shot(page, "record-credits-transactions-fiona")
    # item 4: the failed refund's tag
    expect(page.locator("#tag-TOP-6002")).to_have_text("Refund failed")
    expect(page.locator("#tag-TOP-6001")).to_have_text("Refunded")

    # item 1: the section, newest first
    expect(page.locator(".refund-record")).to_have_count(2)
    expect(page.locator(".refund-record").first).to_have_id("record-RF-6002")
    expect(page.locator("#record-tag-RF-6002")).to_have_text("Refund failed")
    expect(page.locator("#returned-label-RF-6002")).to_have_text("Not returned")
    expect(page.locator("#returned-label-RF-6001")).to_have_text("Amount returned")
    expect(page.locator("#records-pager")).to_have_count(0)  # one page: no pager
    expect(page.locator("#refundable-RF-6001")).to_have_text("$20.00")
    expect(page.locator("#fee-RF-6001")).to_have_text("$1.00")
    expect(page.locator("#returned-amount-RF-6001")).to_have_text("$19.00")
    page.locator("#refund-records").scroll_into_view_if_needed()
    shot(page, "record-credits-section-fiona")

    # the order row's tag and the refund line's tag open the timeline
    page.locator("#tag-TOP-6002").click()
    expect(page.locator("#refund-timeline").get_by_role(
        "heading", name="Refund RF-6002")).to_be_visible()
    assert [e.split("\n")[1] for e in _events(page)] == [
        "Refund approved: $14.25 to be returned", "Refund failed — please contact support"]
    page.locator("#close-timeline").click()
    page.locator("#tag-RF-6001").click()
    expect(page.locator("#refund-timeline").get_by_role(
        "heading", name="Refund RF-6001")).to_be_visible()
    expect(page.locator("#timeline-tag")).to_have_text("Refunded")
    shot(page, "record-credits-timeline-fiona")


def test_a_cny_top_up_refund_on_record_and_in_transactions(page: Page):
    _credits(page, "paul")
    expect(page.locator("#no-refunds")).to_have_text("No refunds of your top-ups yet.")
    _refund_through_the_dialog(page, "TOP-3002")
    ref = _new_record_ref(page)
    expect(page.locator(f"#returned-amount-{ref}")).to_have_text("$94.04")
    expect(page.locator(f"#returned-currency-{ref}")).to_have_text("returned as CNY 677.08")
    expect(page.locator(f"#refundable-{ref}")).to_have_text("$98.99")
    expect(page.locator(f"#fee-{ref}")).to_have_text("$4.95")
    expect(page.locator("#refund-status")).to_have_text("Refunded", timeout=30_000)
    page.locator("#close-dialog").click()
    expect(page.locator(f"#record-tag-{ref}")).to_have_text("Refunded")
    # the Transactions line: the debit and what went back, in the charged currency
    line = page.locator("tr", has=page.locator(f"#returned-{ref}"))
    expect(line).to_contain_text("-$98.99")
    expect(page.locator(f"#returned-{ref}")).to_have_text("returned CNY 677.08 ($94.04)")
    line.scroll_into_view_if_needed()
    shot(page, "record-credits-transactions-cny")
    page.locator(f"#tag-{ref}").click()
    assert [e.split("\n")[1] for e in _events(page)] == [
        "Refund approved: CNY 677.08 ($94.04) to be returned", "Sent to the Sandbox",
        "Refunded: CNY 677.08 ($94.04) returned to your payment method"]
    expect(page.locator("#timeline-returned-currency")).to_have_text("returned as CNY 677.08")
    shot(page, "record-credits-timeline-cny")


def test_a_refunding_record_shows_its_arrival_dates(page: Page):
    _credits(page, "rita")
    expect(page.locator("#record-tag-RF-4001")).to_have_text("Refunding")
    expect(page.locator("#arrival-RF-4001")).to_have_text(
        "Expected between Fri 2026-11-27 and Tue 2026-12-01")
    expect(page.locator("#returned-RF-4001")).to_have_text("returning $19.00")
    page.locator("#open-RF-4001").click()
    expect(page.locator("#timeline-arrival")).to_have_text(
        "Expected between Fri 2026-11-27 and Tue 2026-12-01")
    shot(page, "record-credits-timeline-refunding")


def test_a_forged_refund_id_opens_nothing(page: Page, app_server):
    [(rf_4001,)] = app_server.rows("select id from refund where ref = 'RF-4001'")
    forged = iter([{"refund_id": rf_4001}, {"refund_id": "1 or 1=1"}, None])

    def rewrite(name, payload):
        if name.endswith(".open_record"):
            args = next(forged)
            return (name, args) if args is not None else None
        return None

    sent = forge_events(page, rewrite)
    _credits(page, "fiona")
    for attempt in (1, 2):
        page.locator("#open-RF-6001").click()
        for _ in range(50):  # the forged message has left the page
            if len(sent) == attempt:
                break
            page.wait_for_timeout(100)
        assert len(sent) == attempt
        page.wait_for_timeout(500)
        expect(page.locator("#refund-timeline")).to_have_count(0)
    expect(page.get_by_text("RF-4001")).to_have_count(0)
    # the control: the same click, unforged, opens fiona's own refund
    page.locator("#open-RF-6001").click()
    expect(page.locator("#refund-timeline").get_by_role(
        "heading", name="Refund RF-6001")).to_be_visible()


def test_the_section_wraps_at_phone_width(page: Page):
    page.set_viewport_size({"width": 390, "height": 844})
    _credits(page, "fiona")
    section = page.locator("#refund-records")
    section.scroll_into_view_if_needed()
    expect(page.locator(".refund-record")).to_have_count(2)
    width = page.evaluate("window.innerWidth")
    for box in [section.bounding_box()] + [
            r.bounding_box() for r in page.locator(".refund-record").all()]:
        assert box["x"] >= 0 and box["x"] + box["width"] <= width + 0.5, box
    overflowing = page.evaluate("""() => [...document.querySelectorAll(
        '#refund-records, #refund-records *')].filter(e => e.scrollWidth > e.clientWidth + 1
        && getComputedStyle(e).overflowX !== 'visible').map(e => e.id || e.className)""")
    assert overflowing == []
    shot(page, "record-credits-section-390px")
    page.locator("#open-RF-6002").click()
    box = page.locator("#refund-timeline").bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= width + 0.5, box
    shot(page, "record-credits-timeline-390px")

"""E-mail requests and the support console, as a customer and an agent use them."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.browser.conftest import shot, sign_in_as


def _file_request(page: Page, when: str, amount: str, reason: str) -> None:
    page.get_by_role("link", name="Email request").click()
    page.wait_for_url("**/request{,/}")
    expect(page.locator("#req-contact")).to_have_value("paul@example.com")
    expect(page.locator("#req-balance")).to_have_value("$179.37")
    page.locator("#req-purchase-at").fill(when)
    page.locator("#req-amount").fill(amount)
    page.locator("#req-reason").fill(reason)
    page.locator("#req-submit").click()


def _request_ref(page: Page) -> str:
    filed = page.locator("#req-filed")
    expect(filed).to_contain_text("recorded")
    return filed.inner_text().split()[1]


def _as_sam(browser, app_server) -> Page:
    context = browser.new_context(viewport={"width": 1400, "height": 1000},
                                  base_url=app_server.base_url)
    context.set_default_timeout(30_000)
    sam = context.new_page()
    sign_in_as(sam, "sam")  # support lands on the console
    sam.wait_for_url("**/support{,/}")
    expect(sam.locator("#support-refund-RF-6001")).to_be_visible()  # its load has run
    return sam


def test_bank_transfer_request_is_approved_paid_out_and_seen_by_the_customer(
        page: Page, browser, app_server):
    sign_in_as(page, "paul")
    _file_request(page, "2026-11-26 10:00", "10.00", "Paid by bank transfer by mistake")
    ref = _request_ref(page)
    expect(page.locator("#req-filed")).to_contain_text("Review due by 2026-12-07 12:00 UTC")
    expect(page.locator("#req-filed")).to_contain_text("TOP-3004")
    expect(page.locator("#review-promise")).to_contain_text("7 business days")
    expect(page.locator("#review-promise")).to_contain_text("3-10 banking business days")
    expect(page.locator("#req-mailto")).to_have_attribute("href", r_mailto())
    expect(page.locator(f"#request-status-{ref}")).to_have_text("Pending")
    shot(page, "request-filed")

    sam = _as_sam(browser, app_server)
    row = sam.locator(f"#support-request-{ref}")
    expect(row).to_contain_text("TOP-3004")
    expect(row).to_contain_text("2026-12-07 12:00 UTC")
    sam.locator(f"#approve-{ref}").click()
    # support reads the customer, the order and the amounts before approving:
    # TOP-3004 $10.00, usage since 10:00 $1.01, refundable $8.99, fee 5% $0.45, $8.54 back
    check = sam.locator("#check-dialog")
    expect(check).to_contain_text(f"Approve {ref}?")
    expect(sam.locator("#check-customer")).to_have_text("Paul Payg (paul@example.com)")
    expect(sam.locator("#check-order")).to_contain_text("matched order TOP-3004")
    lines = sam.locator("#check-lines")
    for label, amount in (("Paid", "$10.00"), ("Usage since payment", "$1.01"),
                          ("Refundable", "$8.99"), ("Platform fee (5%)", "$0.45"),
                          ("Amount returned", "$8.54")):
        expect(lines.locator("tr").filter(has_text=label)).to_contain_text(amount)
    shot(sam, "support-confirm-approve")
    sam.locator("#check-confirm").click()
    expect(sam.locator("#support-message")).to_contain_text("Approved: refund RF-")
    refund_ref = sam.locator("#support-message").inner_text().split()[-1].rstrip(".")
    shot(sam, "support-approved")

    page.reload()
    expect(page.locator(f"#request-status-{ref}")).to_have_text("Approved")
    expect(page.locator(f"#request-refund-{ref}")).to_have_text("Refunding")

    sam.locator(f"#payout-{refund_ref}").click()
    expect(sam.locator("#check-dialog")).to_contain_text(f"Record the payout of {refund_ref}?")
    expect(sam.locator("#check-lines")).to_contain_text("$8.54")
    sam.locator("#check-confirm").click()
    expect(sam.locator("#support-message")).to_contain_text("Payout recorded: refunded")
    sam.locator(f"#trail-{refund_ref}").click()
    trail = sam.locator("#audit-trail")
    expect(trail).to_contain_text("sam@zenmux.example")
    expect(trail).to_contain_text("approved")
    # the trail reads as sentences, not fee_cents=45
    expect(trail).to_contain_text("Refundable $8.99, fee $0.45, returned $8.54")
    expect(trail).not_to_contain_text("fee_cents")
    expect(trail).to_contain_text("refunded")
    shot(sam, "support-audit-trail")
    sam.context.close()

    page.reload()
    expect(page.locator(f"#request-refund-{ref}")).to_have_text("Refunded")
    page.get_by_role("link", name="Credits").click()
    # 179.376543 - refundable 8.99 (usage since 10:00 was $1.01)
    expect(page.locator("#balance-topup")).to_have_text("$170.38")
    expect(page.locator("#tag-TOP-3004")).to_have_text("Refunded")
    shot(page, "request-refunded-credits")


def r_mailto():
    import re

    return re.compile(r"^mailto:support@zenmux\.ai\?subject=Refund%20request&body=.*")


def test_a_denied_request_shows_the_reason(page: Page, browser, app_server):
    sign_in_as(page, "paul")
    _file_request(page, "2026-11-24 10:00", "25.00", "I no longer need it")
    ref = _request_ref(page)
    sam = _as_sam(browser, app_server)
    sam.locator(f"#deny-{ref}").click()  # on the request's own row
    expect(sam.locator("#check-dialog")).to_contain_text(f"Deny {ref}?")
    expect(sam.locator("#check-lines")).to_contain_text("$25.00")
    sam.locator("#check-confirm").click()  # no reason yet: refused, nothing denied
    expect(sam.locator("#support-message")).to_contain_text("reason")
    expect(sam.locator(f"#support-request-{ref}")).to_contain_text("Pending")
    sam.locator(f"#deny-{ref}").click()
    sam.locator("#check-reason").fill("The refund window had closed before the request")
    shot(sam, "support-confirm-deny")
    sam.locator("#check-confirm").click()
    expect(sam.locator("#support-message")).to_have_text("Request denied.")
    sam.context.close()
    page.reload()
    expect(page.locator(f"#request-status-{ref}")).to_have_text("Denied")
    expect(page.locator(f"#request-note-{ref}")).to_have_text(
        "Reason: The refund window had closed before the request")
    shot(page, "request-denied")


def test_a_request_with_a_bad_date_is_refused_and_nothing_recorded(page: Page):
    sign_in_as(page, "paul")
    _file_request(page, "26/11/2026 10:00", "10.00", "Wrong format on purpose")
    expect(page.locator("#req-error")).to_have_text(
        "Purchase date and time: use the format YYYY-MM-DD HH:mm with digits 0-9, e.g. "
        "2026-11-26 10:00 (UTC)")
    expect(page.locator("#req-filed")).to_have_count(0)
    expect(page.locator("[id^=request-status-]")).to_have_count(0)
    page.reload()
    expect(page.locator("[id^=request-status-]")).to_have_count(0)
    shot(page, "request-bad-date")


def test_a_customer_gets_nothing_from_the_console(page: Page):
    sign_in_as(page, "paul")
    page.goto("/support")
    page.wait_for_url("**/subscription{,/}")
    expect(page.get_by_role("heading", name="Support console")).to_have_count(0)
    expect(page.get_by_role("link", name="Support console")).to_have_count(0)


def test_support_tells_the_sandbox_to_fail_an_order(page: Page, app_server):
    sign_in_as(page, "sam")  # support lands on the console; act once its load has run
    expect(page.locator("#support-refund-RF-6001")).to_be_visible()
    page.locator("#sandbox-order").fill("TOP-3002")
    page.locator("#sandbox-apply").click()
    expect(page.locator("#support-message")).to_have_text(
        "The Sandbox will fail refunds of that topup order.")
    page.locator("#sandbox-order").fill("TOP-9999")
    page.locator("#sandbox-apply").click()
    expect(page.locator("#support-message")).to_have_text("no order TOP-9999")
    import sqlalchemy as sa

    engine = sa.create_engine(app_server.database_url)
    with engine.connect() as conn:
        outcome = conn.execute(sa.text(
            "select sandbox_outcome from topuporder where ref = 'TOP-3002'")).scalar_one()
    engine.dispose()
    assert outcome == "fail"


def test_a_refund_paid_after_it_was_canceled_needs_attention_until_resolved(
        page: Page, browser, app_server, monkeypatch):
    """Sam cancels rita's unsent RF-4001; the provider then reports it paid (applied here
    through the same service the webhooks use, on the app's database). The console
    flags it, rita reads "Under review", and sam marks it resolved with a note."""
    from zenmux_refunds import config, db
    from zenmux_refunds.providers import Outcome
    from zenmux_refunds.services import refunds

    sam = _as_sam(browser, app_server)
    sam.locator("#cancel-RF-4001").click()
    expect(sam.locator("#check-customer")).to_contain_text("rita@example.com")
    expect(sam.locator("#check-lines")).to_contain_text("$19.00")
    sam.locator("#check-confirm").click()
    expect(sam.locator("#support-message")).to_have_text("Refund canceled.")

    monkeypatch.setenv("DATABASE_URL", app_server.database_url)
    config.settings.cache_clear()
    try:
        with db.reading() as s:
            from sqlmodel import select

            from zenmux_refunds.models import Refund
            refund_id = s.exec(select(Refund.id).where(Refund.ref == "RF-4001")).one()
        assert refunds.finish(refund_id, Outcome.SUCCEEDED, actor="provider:stripe",
                              detail="webhook refund.updated evt_late",
                              provider_refund_id="re_late") == "canceled"
    finally:
        db.dispose_all()
        monkeypatch.undo()
        config.settings.cache_clear()

    sam.locator("#refund-filter").click()
    sam.get_by_role("option", name="needs_attention").click()
    row = sam.locator("#support-refund-RF-4001")
    expect(row).to_contain_text("Needs attention (Canceled)")
    expect(sam.locator("[id^=support-refund-]")).to_have_count(1)
    sam.locator("#trail-RF-4001").click()
    expect(sam.locator("#audit-trail")).to_contain_text("needs_attention")
    expect(sam.locator("#audit-trail")).to_contain_text("re_late")
    shot(sam, "support-needs-attention")

    sign_in_as(page, "rita")
    page.get_by_role("link", name="Credits").click()
    expect(page.locator("#tag-TOP-4001")).to_have_text("Under review")

    sam.locator("#resolve-pick").click()
    sam.get_by_role("option", name="RF-4001").click()
    sam.locator("#resolve-note").fill("Asked rita to return the credits, ticket 77")
    sam.locator("#resolve-submit").click()
    expect(sam.locator("#support-message")).to_contain_text("Marked resolved (canceled)")
    expect(sam.locator("[id^=support-refund-]")).to_have_count(0)
    sam.context.close()
    page.reload()
    expect(page.locator("#tag-TOP-4001")).to_have_text("Canceled")


def test_support_finds_a_stale_success_was_not_paid_and_retries_the_refund(
        page: Page, browser, app_server, monkeypatch):
    """fiona's RF-6002 failed; Stripe then delivers an older "succeeded" (events come in
    any order). The console flags it; sam checks Stripe's records, resolves it as "did
    not pay", and the Failed refund can be retried — the order is not blocked for good."""
    from zenmux_refunds import config, db
    from zenmux_refunds.providers import Outcome
    from zenmux_refunds.services import refunds

    monkeypatch.setenv("DATABASE_URL", app_server.database_url)
    config.settings.cache_clear()
    try:
        with db.reading() as s:
            from sqlmodel import select

            from zenmux_refunds.models import Refund
            refund_id = s.exec(select(Refund.id).where(Refund.ref == "RF-6002")).one()
        assert refunds.finish(refund_id, Outcome.SUCCEEDED, actor="provider:stripe",
                              detail="webhook refund.updated evt_stale") == "failed"
    finally:
        db.dispose_all()
        monkeypatch.undo()
        config.settings.cache_clear()

    sam = _as_sam(browser, app_server)
    expect(sam.locator("#support-refund-RF-6002")).to_contain_text("Needs attention (Failed)")
    expect(sam.locator("#retry-RF-6002")).to_have_count(0)  # counted as paid until checked
    sam.locator("#resolve-pick").click()
    sam.get_by_role("option", name="RF-6002").click()
    sam.locator("#resolve-finding").click()
    sam.get_by_role("option", name="Provider did not pay (stale notice)").click()
    sam.locator("#resolve-note").fill("Stripe dashboard: re_… failed, nothing paid")
    sam.locator("#resolve-submit").click()
    expect(sam.locator("#support-message")).to_contain_text("Marked resolved (failed)")
    shot(sam, "support-resolved-not-paid")
    sam.locator("#retry-RF-6002").click()
    expect(sam.locator("#check-dialog")).to_contain_text("Retry RF-6002?")
    expect(sam.locator("#check-lines")).to_contain_text("Amount returned")
    sam.locator("#check-confirm").click()
    expect(sam.locator("#support-message")).to_contain_text("Retried as RF-")
    sam.context.close()


def test_the_request_form_fills_in_a_picked_order_and_refuses_the_same_request_twice(
        page: Page):
    """Item 7: pick the order from the list (date, time, amount filled in), submit;
    the same request again is refused beside the order picker, naming the pending one."""
    sign_in_as(page, "paul")
    page.get_by_role("link", name="Email request").click()
    page.wait_for_url("**/request{,/}")
    page.locator("#req-order").click()
    page.get_by_role("option", name="TOP-3004", exact=False).click()
    expect(page.locator("#req-purchase-at")).to_have_value("2026-11-26 10:00")
    expect(page.locator("#req-amount")).to_have_value("10.00")
    page.locator("#req-reason").fill("Paid by bank transfer by mistake")
    shot(page, "request-order-picked")
    page.locator("#req-submit").click()
    ref = _request_ref(page)
    expect(page.locator("#req-filed")).to_contain_text("TOP-3004")

    page.locator("#req-submit").click()  # the same request again
    error = page.locator("#req-error")
    expect(error).to_contain_text(f"You already asked for this order: {ref}")
    # shown beside the order picker, not in a box far from it
    expect(page.locator("#req-order").locator("xpath=..").locator("#req-error")).to_have_count(1)
    shot(page, "request-duplicate-refused")
    expect(page.locator("[id^=request-status-]")).to_have_count(1)

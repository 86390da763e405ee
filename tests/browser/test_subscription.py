"""Subscription Management and the subscription refund dialog, as a customer uses them
(example scenario, clock frozen at 2026-11-26 12:00 UTC; Sandbox settles after 5 s)."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator

import sqlalchemy as sa
from playwright.sync_api import Page, expect

from tests.browser.conftest import shot, sign_in_as
from tests.support.sockets import record_frames
from zenmux_refunds.config import _database_url_from

ALICE_PREVIEW = [
    ("Current plan", "Pro"),
    ("Total paid", "$20.00"),
    ("Actual usage", "$3.46"),
    ("Already refunded", "$0.00"),
    ("Refundable balance", "$16.54"),
    ("Platform fee (5%)", "$0.83"),
]


def _open_refund(page: Page, ref: str) -> None:
    page.locator(f"#refund-{ref}").click()
    expect(page.locator("#refund-dialog")).to_be_visible()


def _alice_on_confirm(page: Page) -> None:
    """Alice on the confirm step of SUB-1002 (its $15.71 shown)."""
    sign_in_as(page, "alice")
    _open_refund(page, "SUB-1002")
    page.locator("#submit-refund").click()
    expect(page.locator("#confirm-text")).to_contain_text("$15.71")


def test_alice_preview_matches_the_expectations(page: Page):
    sign_in_as(page, "alice")
    expect(page.locator("#current-plan")).to_have_text("Pro")
    expect(page.locator("#refund-SUB-1001")).to_be_disabled()
    expect(page.locator("#reason-SUB-1001")).to_have_text("Refund window expired")
    expect(page.locator("#refund-SUB-1002")).to_be_enabled()
    _open_refund(page, "SUB-1002")
    dialog = page.locator("#refund-dialog")
    for label, value in ALICE_PREVIEW:
        row = dialog.locator("div", has=page.get_by_text(label, exact=True)).last
        expect(row).to_contain_text(value)
    expect(page.locator("#final-amount")).to_have_text("$15.71")
    expect(page.locator("#refund-window")).to_have_text("Refund window remaining 14h 0m")
    expect(dialog).to_contain_text("API requests in transit between payment and refund")
    shot(page, "subscription-preview-alice")


def test_gift_and_heavy_usage_are_disabled_with_their_reasons(page: Page):
    sign_in_as(page, "gary")
    button = page.locator("#refund-SUB-1501")
    expect(button).to_be_disabled()
    expect(page.locator("#reason-SUB-1501")).to_have_text(
        "Gift subscriptions are not eligible for refunds")
    button.hover(force=True)
    expect(page.get_by_role("tooltip")).to_have_text(
        "Gift subscriptions are not eligible for refunds")
    shot(page, "subscription-gift-gary")

    page.locator("#sign-out").click()
    sign_in_as(page, "hana")
    expect(page.locator("#refund-SUB-2001")).to_be_disabled()
    expect(page.locator("#reason-SUB-2001")).to_have_text("Usage exceeds refundable amount")
    shot(page, "subscription-usage-exceeds-hana")


def test_alice_refund_goes_refunding_then_refunded(page: Page):
    _alice_on_confirm(page)
    expect(page.locator("#confirm-text")).to_contain_text("your card (Stripe)")
    shot(page, "subscription-confirm-alice")
    page.locator("#confirm-refund").click()
    expect(page.locator("#refund-status")).to_have_text("Refunding")
    expect(page.locator("#status-description")).to_contain_text("1-3 business days")
    # approved Thursday 2026-11-26: 1 to 3 business days, skipping the weekend
    expect(page.locator("#arrival")).to_have_text(
        "Expected between Fri 2026-11-27 and Tue 2026-12-01")
    # the downgrade is immediate, visible behind the open dialog
    expect(page.locator("#current-plan")).to_have_text("Free")
    expect(page.locator("#tag-SUB-1002")).to_have_text("Refunding")
    shot(page, "subscription-status-refunding")
    expect(page.locator("#refund-status")).to_have_text("Refunded", timeout=30_000)
    expect(page.locator("#tag-SUB-1002")).to_have_text("Refunded")
    shot(page, "subscription-status-refunded")
    page.locator("#close-dialog").click()
    expect(page.locator("#reason-SUB-1002")).to_have_text("Fully refunded")
    expect(page.locator("#current-plan")).to_have_text("Free")


def _deltas(frames: list[str]) -> list[dict]:
    """The state deltas (state's full name -> its changed vars) the frames carried."""
    found = []
    for frame in frames:
        if frame.startswith("42/_event,"):
            update = json.loads(frame[len("42/_event,"):])[1]
            if update.get("delta"):
                found.append(update["delta"])
    return found


def test_the_confirms_answer_changes_only_the_dialogs_step_state(page: Page):
    """The status goes out in a delta of the dialog's step state alone. The browser
    re-renders every component that reads a state a delta names: the preview's and the
    confirmation's components, which read RefundDialogState, stay as they are."""
    frames = record_frames(page)
    _alice_on_confirm(page)
    frames.set_mark()
    page.locator("#confirm-refund").click()
    expect(page.locator("#refund-status")).to_have_text("Refunding")
    carrying = [delta for delta in _deltas(frames.received[frames.mark:])
                if any(vars_.get("status_label_rx_state_") == "Refunding"
                       for vars_ in delta.values())]
    assert len(carrying) == 1, carrying
    states = {name.rsplit(".", 1)[-1]: vars_ for name, vars_ in carrying[0].items()}
    assert set(states) == {"zenmux_refunds___ui___refund_dialog____refund_step_state"}, states
    assert states["zenmux_refunds___ui___refund_dialog____refund_step_state"][
        "step_rx_state_"] == "status"


def test_failed_refund_restores_the_plan(page: Page, app_server):
    app_server.cli("sandbox", "fail", "SUB-1002")
    sign_in_as(page, "alice")
    _open_refund(page, "SUB-1002")
    page.locator("#submit-refund").click()
    page.locator("#confirm-refund").click()
    expect(page.locator("#refund-status")).to_have_text("Refunding")
    expect(page.locator("#current-plan")).to_have_text("Free")
    expect(page.locator("#refund-status")).to_have_text("Failed", timeout=30_000)
    expect(page.locator("#status-description")).to_contain_text("please contact support")
    expect(page.locator("#current-plan")).to_have_text("Pro")
    expect(page.locator("#tag-SUB-1002")).to_have_text("Refund failed")
    shot(page, "subscription-status-failed")
    page.locator("#close-dialog").click()
    # Failed counts nothing: the order can be refunded again
    expect(page.locator("#refund-SUB-1002")).to_be_enabled()


def _refunds_of(app_server, order_ref: str) -> int:
    return app_server.rows(
        "SELECT count(*) FROM refund r JOIN subscriptionpayment p"
        " ON p.id = r.subscription_payment_id WHERE p.ref = :ref", ref=order_ref)[0][0]


@contextlib.contextmanager
def _alice_confirms_while_her_account_is_locked(page: Page,
                                                app_server) -> Iterator[sa.Connection]:
    """Alice on the confirm step of SUB-1002 clicks Confirm while the test holds her
    account's lock (every approval takes it first: ledger.lock_account), so the approval
    waits; the Confirm button is then busy. Yields the connection holding the lock,
    in its open transaction: the test commits or rolls it back."""
    _alice_on_confirm(page)
    engine = sa.create_engine(_database_url_from(app_server.database_url))
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("UPDATE account SET lock_version = lock_version + 1"
                                 " WHERE ref = 'alice'"))
            page.locator("#confirm-refund").click()
            expect(page.locator("#confirm-refund")).to_be_disabled()
            yield conn
    finally:
        engine.dispose()


def test_a_double_click_on_confirm_makes_one_refund(page: Page, app_server):
    """Confirm is a plain event of the tab (not a background task): a quick approval
    shows the status with no busy button in between, and a second click, queued behind
    the first, finds the status step and does nothing."""
    _alice_on_confirm(page)
    page.locator("#confirm-refund").dblclick()
    expect(page.locator("#refund-status")).to_have_text("Refunding")
    expect(page.locator("#dialog-error")).to_have_count(0)
    assert _refunds_of(app_server, "SUB-1002") == 1


def test_a_slow_approval_shows_the_confirm_button_busy(page: Page, app_server):
    """An approval that waits (here for the account's lock, which the test holds) shows
    the Confirm button busy, so it cannot be clicked again, then the status once the
    lock is free: one refund."""
    with _alice_confirms_while_her_account_is_locked(page, app_server) as conn:
        expect(page.locator("#refund-status")).not_to_be_visible()
        expect(page.locator("#confirm-refund")).to_be_visible()
        conn.rollback()
    expect(page.locator("#refund-status")).to_have_text("Refunding")
    assert _refunds_of(app_server, "SUB-1002") == 1


def test_the_tab_stays_usable_while_a_slow_approval_waits(page: Page, app_server):
    """A slow approval is waited for by a background task, not under the tab's state
    lock: the customer can close the dialog while it waits (with the lock held, Escape
    would only be handled once the approval ended; with Redis, a lock held past its
    expiration loses the tab's state). The approval then stands, once, and the page's
    rows show it."""
    with _alice_confirms_while_her_account_is_locked(page, app_server) as conn:
        page.keyboard.press("Escape")
        expect(page.locator("#refund-dialog")).to_have_count(0)  # lock still held
        assert _refunds_of(app_server, "SUB-1002") == 0
        conn.rollback()
    expect(page.locator("#tag-SUB-1002")).to_have_text("Refunding")
    assert _refunds_of(app_server, "SUB-1002") == 1
    expect(page.locator("#refund-dialog")).to_have_count(0)  # it does not pop up again


def test_a_slow_approval_that_is_refused_shows_the_preview_with_the_reason(page: Page,
                                                                           app_server):
    """The slow path's refusal: while the approval waits for the account's lock, the
    lock's holder marks the payment not completed; the approval then refuses, and the
    dialog (handed to the background task) is back on the preview with the reason."""
    with _alice_confirms_while_her_account_is_locked(page, app_server) as conn:
        conn.execute(sa.text("UPDATE subscriptionpayment SET status = 'pending'"
                             " WHERE ref = 'SUB-1002'"))
        conn.commit()
    expect(page.locator("#dialog-error")).to_have_text("Order not completed")
    expect(page.locator("#submit-refund")).to_be_disabled()
    assert _refunds_of(app_server, "SUB-1002") == 0

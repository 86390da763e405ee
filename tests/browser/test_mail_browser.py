"""The demo Mailbox (issue 11, item 6): a customer confirms a refund, then finds its
approval mail, written by the approval's own transaction, on /mailbox; another persona
sees none of it (example scenario, demo mode, no SMTP: mails wait in the outbox)."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.browser.conftest import shot, sign_in_as

APPROVAL = re.compile(r"Refund RF-[0-9A-F]{8} approved: \$15\.71 on its way")


def test_the_approval_mail_is_in_the_customers_mailbox(page: Page):
    sign_in_as(page, "alice")
    page.locator("#refund-SUB-1002").click()
    expect(page.locator("#refund-dialog")).to_be_visible()
    page.locator("#submit-refund").click()
    page.locator("#confirm-refund").click()
    expect(page.locator("#refund-status")).to_have_text("Refunding")
    page.locator("#close-dialog").click()

    page.get_by_role("link", name="Mailbox", exact=True).click()
    page.wait_for_url("**/mailbox{,/}")
    subject = page.locator("#mailbox-list").get_by_text(APPROVAL)
    expect(subject).to_be_visible()
    row = page.locator("#mailbox-list tr").filter(has_text=APPROVAL)
    expect(row).to_contain_text("2026-11-26 12:00 UTC")
    expect(row).to_contain_text(re.compile(r"Waiting|Sent"))
    subject.click()
    expect(page.locator("#mail-subject")).to_have_text(APPROVAL)
    text = page.locator("#mail-text")
    for fact in ("Hello Alice Chen", "SUB-1002", "$16.54", "$0.83", "$15.71",
                 "Fri 2026-11-27", "Tue 2026-12-01"):
        expect(text).to_contain_text(fact)
    shot(page, "mailbox-approval-mail-alice")

    # another persona's Mailbox holds none of Alice's mail
    page.locator("#sign-out").click()
    sign_in_as(page, "paul")
    page.goto("/mailbox")
    expect(page.locator("#mailbox-empty")).to_be_visible()
    expect(page.get_by_text(APPROVAL)).to_have_count(0)
    shot(page, "mailbox-empty-paul")

"""Every word the customer pages show passes through the catalog, and 简体中文 has each
one (issue 12 item 3): build every page (as Reflex compiles it) and ask the catalog
which of the msgids ``t()`` saw it cannot translate."""

from __future__ import annotations

from zenmux_refunds import i18n


def _build_customer_pages() -> set[str]:
    from zenmux_refunds.ui import (
        credits,
        i18n as ui_i18n,
        mailbox,
        policy,
        request,
        sign_in,
        subscription,
    )
    ui_i18n.USED.clear()
    for build in (credits.credits_page, mailbox.mailbox_page, policy.policy_page,
                  request.request_page, sign_in.sign_in_page,
                  subscription.subscription_page):
        build()
    return set(ui_i18n.USED)


def test_every_word_of_the_customer_pages_has_its_chinese():
    used = _build_customer_pages()
    # the pages really went through t(): the dialog's and the policy's words are there
    assert {"Submit Refund", "Final refund amount", "Refund window expired",
            "Skip to main content"} <= used
    assert i18n.missing(used) == []


def test_a_word_without_its_chinese_is_found():
    # the check above can fail: a string the catalog has never seen is reported
    assert i18n.missing({"Submit Refund", "A sentence no catalog has"}) == [
        "A sentence no catalog has"]

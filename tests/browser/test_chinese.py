"""简体中文 (issue 12 item 3): the language switch in the header, remembered on the
account, ``<html lang>`` to match; the refund dialog's words and amounts in zh-CN
(Babel: US$15.71); times in the browser's time zone with the UTC instant in the hover
title; axe-clean and no sideways scroll in Chinese too, with screenshots at 390 and
1400 px (example scenario, clock frozen at 2026-11-26 12:00 UTC)."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.browser.conftest import check_page, live, sign_in_as


def _to_chinese(page: Page) -> None:
    live(page.locator("#lang-zh-CN")).click()
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    expect(page.locator("#lang-zh-CN")).to_have_attribute("aria-pressed", "true")


def _clean(page: Page, name: str, failures: list[str]) -> None:
    # axe and the sideways check on a phone; at 1400 px too (scroll, screenshot)
    check_page(page, f"zh-{name}", failures, also_at=(1400,))


def test_the_refund_dialog_in_chinese(page: Page):
    page.set_viewport_size({"width": 390, "height": 900})
    failures: list[str] = []
    # a visitor switches on the sign-in page (for as long as the tab lives)
    page.goto("/sign-in")
    _to_chinese(page)
    expect(page.get_by_role("button", name="登录", exact=True)).to_be_visible()
    _clean(page, "sign-in", failures)
    sign_in_as(page, "alice")
    # signed in, the account's own language applies (English until it is changed)
    expect(page.locator("html")).to_have_attribute("lang", "en")
    _to_chinese(page)
    expect(page.get_by_role("heading", name="订阅管理")).to_be_visible()
    expect(page.locator("#refund-SUB-1002")).to_have_text("退款")
    _clean(page, "subscription", failures)

    page.locator("#refund-SUB-1002").click()
    dialog = page.locator("[role=dialog]")
    expect(dialog.get_by_role("heading")).to_have_text("退款 SUB-1002")
    expect(page.locator("#final-amount")).to_have_text("US$15.71")
    expect(dialog).to_contain_text("最终退款金额")
    expect(page.locator("#submit-refund")).to_have_text("提交退款")
    expect(page.locator("#refund-window")).to_contain_text("小时")
    _clean(page, "dialog-preview", failures)
    page.locator("#submit-refund").click()
    expect(page.locator("#confirm-text")).to_contain_text("US$15.71")
    expect(page.locator("#confirm-refund")).to_have_text("确认退款")
    _clean(page, "dialog-confirm", failures)
    page.locator("#confirm-refund").click()
    expect(dialog.get_by_role("heading")).to_have_text("退款状态")
    expect(page.locator("#refund-status")).not_to_have_text("Refunding")
    _clean(page, "dialog-status", failures)
    page.locator("#close-dialog").click()

    # remembered on the account: a new page load is still in Chinese
    page.goto("/credits")
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    expect(page.get_by_role("heading", name="额度管理")).to_be_visible()
    _clean(page, "credits", failures)
    page.goto("/subscription")
    page.locator(".refund-record button").first.click()
    expect(page.locator("#refund-timeline")).to_contain_text("时间线")
    _clean(page, "timeline", failures)
    page.locator("#close-timeline").click()
    for route, ready in (("/request", "#req-contact"),
                         ("/mailbox", "#mailbox-list, #mailbox-empty"),
                         ("/policy", "#policy-cases")):
        page.goto(route)
        expect(page.locator(ready).first).to_be_visible()
        expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
        _clean(page, route.strip("/"), failures)
        if route == "/request":
            # a field's error is in Chinese too, tied to its field
            page.locator("#req-submit").click()
            expect(page.locator("#req-error")).to_contain_text("请使用 YYYY-MM-DD HH:mm 格式")
    expect(page.locator("#policy-cases")).to_contain_text("退款期限已过")
    assert failures == []


def test_back_to_english_and_times_in_the_browsers_zone(browser, app_server):
    context = browser.new_context(viewport={"width": 1280, "height": 900},
                                  base_url=app_server.base_url, timezone_id="Asia/Shanghai")
    try:
        app_server.load_scenario("example")
        page = context.new_page()
        sign_in_as(page, "alice")
        # the browser's zone (UTC+8) is kept on the session: SUB-1002 was paid at 02:00 UTC
        date = page.locator("#row-SUB-1002 td").first.locator("span")
        expect(date).to_contain_text("10:00")
        expect(date).to_have_attribute("title", "2026-11-26 02:00 UTC")
        _to_chinese(page)
        expect(page.locator("#row-SUB-1002 td").first).to_contain_text("2026年11月26日")
        page.locator("#lang-en").click()
        expect(page.locator("html")).to_have_attribute("lang", "en")
        expect(page.get_by_role("heading", name="Subscription Management")).to_be_visible()
        page.reload()
        expect(page.locator("#refund-SUB-1002")).to_have_text("Refund")
    finally:
        context.close()

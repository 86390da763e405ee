"""The credit note as a customer gets it (issue 11 item 5, in the browser): the link on a
refund's record downloads a PDF that names the refund and the amount returned, and the
same URL answers another signed-in customer 404 (example scenario: fiona's RF-6001,
$20.00 refundable, $1.00 fee, $19.00 returned)."""

from __future__ import annotations

import io

from playwright.sync_api import Page, expect
from pypdf import PdfReader

from tests.browser.conftest import shot, sign_in_as

REF = "RF-6001"
URL = f"/api/receipts/{REF}.pdf"


def _pdf_lines(data: bytes) -> list[str]:
    assert data.startswith(b"%PDF-"), data[:40]
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(data)).pages)
    return [" ".join(line.split()) for line in text.splitlines()]


def test_the_owner_downloads_the_credit_note_and_another_customer_gets_404(page: Page, browser,
                                                                              app_server):
    sign_in_as(page, "fiona")
    page.get_by_role("link", name="Credits").click()
    page.wait_for_url("**/credits{,/}")
    link = page.locator(f"#receipt-{REF}")
    expect(link).to_have_attribute("href", URL)
    link.scroll_into_view_if_needed()
    shot(page, "credit-note-link")

    with page.expect_download() as info:
        link.click()
    download = info.value
    assert download.suggested_filename == f"credit-note-{REF}.pdf"
    lines = _pdf_lines(open(download.path(), "rb").read())
    assert f"Refund reference {REF}" in lines, lines
    assert "Order reference TOP-6001" in lines, lines
    assert "Amount returned $19.00" in lines, lines  # what the record says was returned
    assert "Platform fee (5%) $1.00" in lines, lines

    # the owner's own request with the context's cookies: the control for the 404 below
    assert page.request.get(URL).status == 200

    # another signed-in customer (paul, in a context of his own) asks for the same URL
    other = browser.new_context(base_url=app_server.base_url)
    try:
        paul = other.new_page()
        sign_in_as(paul, "paul")
        answer = paul.request.get(URL)
        assert answer.status == 404, answer.status
        assert not answer.body().startswith(b"%PDF")
        # and a ref that does not exist answers him the same way
        assert paul.request.get("/api/receipts/RF-FFFFFFFF.pdf").status == 404
    finally:
        other.close()

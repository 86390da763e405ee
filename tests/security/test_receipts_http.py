"""A refund's credit note over real HTTP against a production build (issue 11, item 5):
``GET /api/receipts/{ref}.pdf`` answers the owner (and support) with the PDF, and
everyone else — another signed-in customer, no session, a token in the URL, a forged
cookie, a malformed ref — with the same 404 that says nothing about the refund.

Signed in through ``/api/auth/sign-in`` as a browser would; the refund is approved in
the server's database by the approval service itself (as the dialog would)."""

from __future__ import annotations

import io
import subprocess
import sys

import httpx
import pytest
from pypdf import PdfReader

from tests.support.appserver import PROJECT_ROOT

SERVER_ENV: dict[str, str] = {}  # shares the build of the other demo-off modules
ALICE = ("alice@example.com", "alice-demo-pass")
PAUL = ("paul@example.com", "paul-demo-pass")
SAM = ("sam@zenmux.example", "sam-demo-pass")
# alice's SUB-1002: $20.00 paid, $3.46 usage, 5 % fee: $15.71 returned
AMOUNTS = (b"15.71", b"1571", b"16.54", b"1654")

APPROVE = r'''
from sqlmodel import select
from zenmux_refunds import db
from zenmux_refunds.models import Account
from zenmux_refunds.services import quotes, refunds
with db.reading() as s:
    alice = s.exec(select(Account).where(Account.ref == "alice")).one()
    kind, order_id = quotes.order_id_by_ref(s, alice, "SUB-1002")
print(refunds.approve(account_id=alice.id, kind=kind, order_id=order_id,
                      preview_final_cents=None, actor=alice.email).refund_ref)
'''


def _client(server) -> httpx.Client:
    return httpx.Client(base_url=server.base_url, timeout=30, follow_redirects=False)


def _sign_in(server, email: str, password: str) -> str:
    """The session cookie header the sign-in endpoint sets for this account."""
    with _client(server) as client:
        answer = client.post("/api/auth/sign-in", data={"email": email, "password": password},
                             headers={"Origin": server.base_url})
    assert answer.status_code == 303, answer.text[:300]
    name, value = next((k, v) for k, v in answer.cookies.items() if "zenmux_session" in k)
    return f"{name}={value}"


@pytest.fixture(scope="module")
def world(server) -> dict:
    server.load_scenario("example")
    done = subprocess.run([sys.executable, "-c", APPROVE], cwd=PROJECT_ROOT, env=server.env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    ref = done.stdout.strip().splitlines()[-1]
    return {"ref": ref, "url": f"/api/receipts/{ref}.pdf",
            "alice": _sign_in(server, *ALICE), "paul": _sign_in(server, *PAUL),
            "sam": _sign_in(server, *SAM)}


def _get(server, path: str, cookie: str | None = None) -> httpx.Response:
    with _client(server) as client:
        return client.get(path, headers={"Cookie": cookie} if cookie else {})


def _assert_refused(answer: httpx.Response) -> None:
    assert answer.status_code == 404, (answer.status_code, answer.text[:300])
    assert answer.headers["content-type"].startswith("application/json")
    assert answer.json() == {"error": "not found"}
    assert "content-disposition" not in answer.headers
    assert "location" not in answer.headers
    assert not any(amount in answer.content for amount in AMOUNTS), answer.content


def test_the_owner_downloads_the_credit_note(server, world):
    answer = _get(server, world["url"], world["alice"])
    assert answer.status_code == 200, answer.text[:300]
    assert answer.content.startswith(b"%PDF-")
    assert answer.headers["content-type"] == "application/pdf"
    assert answer.headers["content-disposition"] == (
        f'attachment; filename="credit-note-{world["ref"]}.pdf"')
    assert answer.headers["cache-control"] == "no-store"
    assert answer.headers["x-content-type-options"] == "nosniff"
    text = PdfReader(io.BytesIO(answer.content)).pages[0].extract_text()
    assert world["ref"] in text and "Alice Chen" in text and "$15.71" in text


def test_support_downloads_it_too(server, world):
    answer = _get(server, world["url"], world["sam"])
    assert answer.status_code == 200, answer.text[:300]
    assert "$15.71" in PdfReader(io.BytesIO(answer.content)).pages[0].extract_text()


def test_another_customer_gets_404_like_an_unknown_ref(server, world):
    foreign = _get(server, world["url"], world["paul"])
    _assert_refused(foreign)
    unknown = _get(server, "/api/receipts/RF-FFFFFFFF.pdf", world["paul"])
    _assert_refused(unknown)
    assert foreign.content == unknown.content


def test_without_a_session_it_is_404_not_a_redirect(server, world):
    token = world["alice"].split("=", 1)[1]
    _assert_refused(_get(server, world["url"]))
    _assert_refused(_get(server, f"{world['url']}?token={token}"))  # never a URL token
    _assert_refused(_get(server, f"{world['url']}?session={token}"))
    _assert_refused(_get(server, world["url"], "zenmux_session=forged-" + token[:20]))
    _assert_refused(_get(server, world["url"], f"__Host-zenmux_session={token}"))  # http: no


@pytest.mark.parametrize("path", [
    "/api/receipts/rf-{hex}.pdf",  # refs are upper-case
    "/api/receipts/RF-{hex}%20.pdf",
    "/api/receipts/RF-{hex}'%20OR%20'1'='1.pdf",
    "/api/receipts/RF-" + "A" * 40 + ".pdf",
    "/api/receipts/SUB-1002.pdf",
    "/api/receipts/RF-.pdf",
])
def test_a_malformed_ref_is_404(server, world, path):
    hex_part = world["ref"].removeprefix("RF-")
    path = path.replace("{hex}", hex_part.lower() if path.startswith("/api/receipts/rf-")
                        else hex_part)
    _assert_refused(_get(server, path, world["alice"]))

"""The customer's views and e-mails in 简体中文 and in the customer's time zone (issue 12
item 3), against the example scenario: every service that builds words takes a Locale;
the default is today's English in UTC (the other tests pin it). Every msgid the services
look up while rendering in zh-CN has a translation."""

from __future__ import annotations

import re
from enum import Enum

import pytest
from sqlmodel import select

from tests.integration._helpers import account_by_ref, approve_by_ref
from zenmux_refunds import db
from zenmux_refunds.domain.vocabulary import OrderKind
from zenmux_refunds.i18n import ENGLISH, Locale, catalog
from zenmux_refunds.models import OutboxMail, Refund, SubscriptionPayment, TopupOrder
from zenmux_refunds.services import (
    auth,
    billing,
    credits,
    mail,
    preferences,
    refund_record,
    requests,
)

ZH = Locale("zh-CN", "Asia/Shanghai")
TOPUP, SUBSCRIPTION = OrderKind.TOPUP, OrderKind.SUBSCRIPTION


@pytest.fixture
def untranslated(monkeypatch):
    """Every msgid looked up in zh-CN that the catalog does not translate."""
    misses: set[str] = set()
    real = catalog._messages

    class Recording(dict):
        def get(self, key, default=None):
            if key not in self:
                misses.add(key)
            return super().get(key, default)

    monkeypatch.setattr(catalog, "_messages", lambda lang: Recording(real(lang)))
    return misses


def _id(ref: str) -> int:
    return account_by_ref(ref).id


def _order_id(model, ref: str) -> int:
    with db.reading() as s:
        return s.exec(select(model.id).where(model.ref == ref)).one()


# a view model's fields the page does not show as words: colours, keys, links, enums
NOT_WORDS = {"tag_color", "color", "refund_color", "key", "kind", "receipt_url",
             "support_mailto"}


def _shown(obj) -> str:
    """Every string a view model shows as words, nested ones too."""
    if isinstance(obj, Enum):
        return ""
    if isinstance(obj, str):
        return obj
    if isinstance(obj, (list, tuple)):
        return "\n".join(_shown(o) for o in obj)
    if hasattr(obj, "__dataclass_fields__"):
        return "\n".join(_shown(getattr(obj, f)) for f in obj.__dataclass_fields__
                         if f not in NOT_WORDS)
    return ""


LATIN_WORDS = re.compile(r"\b(?!UTC\b|US\b|CN\b|JP\b|API\b|PDF\b|Free\b|Pro\b|Max\b|Ultra\b"
                         r"|Stripe\b|Antom\b|Discount\b|Gift\b|Referral\b|Insurance\b"
                         r"|RF\b|TOP\b|SUB\b|REQ\b)[A-Za-z]{3,}\b")


def _english_left(text: str, *allowed: str) -> list[str]:
    for word in allowed:
        text = text.replace(word, "")
    return LATIN_WORDS.findall(text)


def test_the_billing_history_and_plan_card_in_chinese(example_db, untranslated):
    card = billing.plan_card(_id("alice"), ZH)
    assert card.price == "US$20.00/月"
    assert "UTC+8" in card.cycle and "年" in card.cycle
    page = billing.subscription_history(_id("alice"), locale=ZH)
    shown = _shown(page.rows)
    assert "US$20.00" in shown and "已支付" in shown and "银行卡（Stripe）" in shown
    assert _english_left(shown) == []
    assert all(r.date_utc.endswith(" UTC") and r.date.endswith("UTC+8") for r in page.rows)
    assert card.cycle_utc.count(" UTC") == 2
    gift = billing.subscription_history(_id("gary"), locale=ZH).rows[0]
    assert gift.plan == "Max（赠送）"
    assert gift.reason == "赠送的订阅不支持退款"
    assert untranslated == set()


def test_the_preview_in_chinese(example_db, untranslated):
    view = billing.preview(_id("paul"), TOPUP, _order_id(TopupOrder, "TOP-3002"), locale=ZH)
    labels = [label for label, _ in view.lines]
    assert labels[:3] == ["订单金额", "实际扣款金额", "支付时间"]
    assert dict(view.lines)["实际扣款金额"] == "CN¥720.00"
    assert dict(view.lines)["支付时间"] == "2026年11月26日 17:15 UTC+8"
    assert view.paid_at_utc == "2026年11月26日 09:15 UTC"
    assert dict(view.lines)["平台手续费（5%）"] == "US$4.95"
    assert (view.final, view.final_in_currency) == ("US$94.04", "CN¥677.08")
    assert view.destination == "您的支付宝账户（Antom）"
    assert view.window.startswith("退款剩余时间 ")
    assert view.effects == ("US$98.99 充值额度将立即从您的钱包中扣除",)
    assert _english_left(_shown(view)) == []
    bonus = billing.preview(_id("paul"), TOPUP, _order_id(TopupOrder, "TOP-3001"), locale=ZH)
    assert any("充值赠送额度" in line for line in bonus.forfeits)
    assert any("推荐奖励" in line for line in bonus.forfeits)
    sub = billing.preview(_id("alice"), SUBSCRIPTION,
                          _order_id(SubscriptionPayment, "SUB-1002"), locale=ZH)
    assert [label for label, _ in sub.lines][0] == "当前套餐"
    assert _english_left(_shown(sub)) == []
    assert untranslated == set()


def test_english_stays_exactly_as_it_was(example_db):
    order = _order_id(TopupOrder, "TOP-3002")
    assert billing.preview(_id("paul"), TOPUP, order) == billing.preview(
        _id("paul"), TOPUP, order, locale=ENGLISH)
    assert billing.preview(_id("paul"), TOPUP, order).final_in_currency == "CNY 677.08"


def test_the_status_the_record_and_the_timeline_in_chinese(example_db, untranslated):
    approved = approve_by_ref("paul", "TOP-3002")
    status = billing.refund_status(_id("paul"), approved.refund_id, ZH)
    assert (status.label, status.final) == ("退款中", "CN¥677.08 (US$94.04)")
    assert status.description == "退款正在处理中，将在 1-3 个工作日内退回"
    assert status.arrival == "预计于 2026年11月27日 周五 至 2026年12月1日 周二 之间到账"
    [row] = refund_record.refunds_page(_id("paul"), TOPUP, locale=ZH).rows
    assert (row.tag, row.returned_label, row.returned_in_currency) == (
        "退款中", "待退还金额", "CN¥677.08")
    assert row.requested == "2026年11月26日 20:00 UTC+8"
    # the UTC instant, one hover away
    assert row.requested_utc == "2026年11月26日 12:00 UTC"
    view = refund_record.timeline(_id("paul"), approved.refund_id, ZH)
    assert view.events[0].text == "退款已批准：将退还 CN¥677.08 (US$94.04)"
    assert (view.events[0].at, view.events[0].at_utc) == (
        "2026年11月26日 20:00 UTC+8", "2026年11月26日 12:00 UTC")
    assert _english_left(_shown(view)) == []
    failed = refund_record.refunds_page(_id("fiona"), TOPUP, locale=ZH).rows
    assert {r.tag for r in failed} == {"已退款", "退款失败"}
    assert _english_left(_shown(refund_record.timeline(_id("fiona"), failed[0].id, ZH))) == []
    assert untranslated == set()


def test_credits_in_chinese(example_db, untranslated):
    approve_by_ref("paul", "TOP-3001")
    overview = credits.balances(_id("paul"), ZH)
    assert overview.balances.total.startswith("US$")
    assert [label for label, _ in overview.breakdown][:2] == ["充值", "充值赠送（Discount）"]
    page = credits.transactions(_id("paul"), locale=ZH)
    shown = _shown(page.rows)
    assert "充值 · 待处理" in shown or "充值 · 待发放" in shown
    assert "TOP-3001 的退款 RF-" in shown and "平台赠送额度" in shown
    assert _english_left(shown) == []
    rewards = credits.referral_rewards(_id("rita"), ZH)
    assert rewards and rewards[0].status == "已撤销" and not rewards[0].pending
    assert untranslated == set()


def test_every_mail_is_written_in_the_accounts_language(example_db, untranslated):
    token = auth.sign_in("paul@example.com", "paul-demo-pass")
    preferences.set_time_zone(token, "Asia/Shanghai")
    preferences.set_language(_id("paul"), "zh-CN")
    approved = approve_by_ref("paul", "TOP-3002")
    with db.reading() as s:
        mails = s.exec(select(OutboxMail).where(OutboxMail.account_id == _id("paul"))
                       .order_by(OutboxMail.id)).all()
    first = mails[0]
    assert first.subject == f"退款 {approved.refund_ref} 已批准：CN¥677.08 正在退回"
    assert "您好" in first.text and "CN¥677.08" in first.text
    assert "2026年11月26日 20:00 UTC+8" in first.text
    assert "2026年11月27日 周五" in first.text
    assert '<html lang="zh-CN">' in first.html
    assert _english_left(first.text, "Paul Payg", "support@zenmux.ai", "zenmux") == []
    rows = mail.mailbox(_id("paul"), locale=ZH)
    assert rows[0].status in ("等待发送", "已发送") and "UTC+8" in rows[0].at
    assert untranslated == set()


def test_a_request_mail_in_chinese(example_db, untranslated):
    preferences.set_language(_id("paul"), "zh-CN")
    filed = requests.file_request(_id("paul"), contact="paul@example.com",
                                  purchase_at="2026-11-26 10:00", amount="10.00",
                                  unused_balance="", reason="不需要了")
    with db.reading() as s:
        sent = s.exec(select(OutboxMail).where(OutboxMail.key.like("request:%"))).one()
    assert sent.subject == f"已收到退款申请 {filed.ref}"
    assert "TOP-3004" in sent.text and "我们已收到您的退款申请" in sent.text
    assert untranslated == set()


def test_the_customers_requests_and_order_picker_in_chinese(example_db, untranslated):
    requests.file_request(_id("paul"), contact="paul@example.com",
                          purchase_at="2026-11-26 10:00", amount="10.00",
                          unused_balance="", reason="x")
    [row] = requests.my_requests(_id("paul"), locale=ZH)
    assert (row.status, row.order, row.amount) == ("待处理", "TOP-3004", "US$10.00")
    assert row.submitted.endswith("UTC+8")
    assert _english_left(_shown(row)) == []
    picks = {c.value: c for c in requests.orders_to_pick(_id("paul"), ZH)}
    bank = next(c for c in picks.values() if c.label.startswith("TOP-3004"))
    # the time stays UTC: it is what the form's field takes
    assert bank.label == "TOP-3004 · 充值 · 2026-11-26 10:00 UTC · US$10.00 · 银行转账"
    assert (bank.purchase_at, bank.amount) == ("2026-11-26 10:00", "10.00")
    assert untranslated == set()


def test_every_word_table_of_the_services_is_translated():
    """The tables the services pick customer words from, whole (some entries are rare:
    a clawback reversal, a refund sent to the Sandbox)."""
    from zenmux_refunds.i18n import missing

    words = [*billing.TAG_WORDS.values(), billing.EXPIRED_TAG,
             *credits.KIND_LABELS.values(), *(label for label, _ in credits.BREAKDOWN),
             *refund_record.RETURNED_LABELS.values(), *refund_record._CLOSING.values(),
             *refund_record.PROVIDER_NAMES.values(), *mail._CLOSED_SUBJECTS.values(),
             *(billing.method_label(c) for c in ("stripe", "antom", "bank_transfer")),
             *(billing.destination_label(c) for c in ("stripe", "antom"))]
    words = [w for w in words if w not in ("Stripe", "Antom")]  # names, not words
    assert missing(words) == []


def test_a_refunding_row_waits_in_every_language_and_a_settled_one_does_not(example_db):
    """The billing pages update by themselves while a refund is Refunding
    (``ui/live.waits_for_background``): that reads the rows' ``waiting``, set from the
    refund's status, not from its tag, whose words depend on the page's language."""
    from zenmux_refunds.ui import live

    approve_by_ref("paul", "TOP-3002")
    approve_by_ref("alice", "SUB-1002")
    for locale in (ENGLISH, ZH):
        tx = credits.transactions(_id("paul"), locale=locale).rows
        records = refund_record.refunds_page(_id("paul"), TOPUP, locale=locale).rows
        subs = billing.subscription_history(_id("alice"), locale=locale).rows
        waiting = {r.ref for r in (*tx, *records, *subs) if r.waiting}
        assert {"TOP-3002", "SUB-1002"} <= waiting, locale
        assert live.waits_for_background(rows=tx, records=records)
        assert live.waits_for_background(rows=subs)
    assert not live.waits_for_background(
        rows=billing.subscription_history(_id("gary"), locale=ZH).rows)
    for locale in (ENGLISH, ZH):  # fiona's refunds are Refunded and Failed: tags, no wait
        tx = credits.transactions(_id("fiona"), locale=locale).rows
        records = refund_record.refunds_page(_id("fiona"), TOPUP, locale=locale).rows
        assert {r.tag for r in records} == ({"Refunded", "Refund failed"} if locale is ENGLISH
                                            else {"已退款", "退款失败"}), locale
        assert not live.waits_for_background(rows=tx, records=records)

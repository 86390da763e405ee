"""The request form's field errors in the customer's language (issue 12 item 3): each
problem is a catalog msgid, filled after translation, and 简体中文 has every one."""

from __future__ import annotations

import pytest

from zenmux_refunds import i18n
from zenmux_refunds.services import requests


@pytest.mark.parametrize("call, field", [
    (lambda: requests.parse_purchase_time("26/11/2026"), requests.WHEN),
    (lambda: requests.parse_purchase_time("2026-02-30 10:00"), requests.WHEN),
    (lambda: requests.parse_purchase_time("2019-12-31 23:59"), requests.WHEN),
    (lambda: requests.parse_amount("ten"), requests.AMOUNT),
    (lambda: requests.parse_amount("0"), requests.AMOUNT),
    (lambda: requests.parse_amount("99999999"), requests.AMOUNT),
])
def test_each_field_error_reads_in_both_languages(call, field):
    with pytest.raises(requests.RequestError) as caught:
        call()
    error = caught.value
    assert error.field == field
    # English is what it always said
    assert error.in_language("en") == str(error)
    assert str(error).startswith(f"{field}: ")
    # Chinese: the field and the problem both translated, the values kept
    assert i18n.missing([error.field, error.problem]) == []
    chinese = error.in_language("zh-CN")
    assert chinese.startswith(i18n.gettext(field, "zh-CN") + ": ")
    assert chinese != str(error)
    for value in error.values.values():
        assert str(value) in chinese


def test_every_problem_the_service_raises_is_in_the_catalog():
    import ast
    import inspect

    tree = ast.parse(inspect.getsource(requests))
    problems = [node.args[1].value for node in ast.walk(tree)
                if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "RequestError"
                and len(node.args) > 1 and isinstance(node.args[1], ast.Constant)]
    assert len(problems) >= 10
    assert i18n.missing(problems) == []


def test_the_sign_in_refusals_read_in_both_languages():
    from zenmux_refunds import auth_api
    from zenmux_refunds.services import auth

    # English is what the throttle itself says
    assert auth_api.message_for("locked", "15") == str(auth.SignInLocked(15))
    assert auth_api.message_for("locked", "1") == str(auth.SignInLocked(1))
    assert auth_api.message_for("wrong") == "Wrong e-mail or password."
    assert auth_api.message_for("no-such-code") == ""
    # 简体中文, the minutes kept; a forged minutes value falls back to 15
    assert auth_api.message_for("locked", "15", "zh-CN") == "登录尝试次数过多——请在 15 分钟后重试。"
    assert "15" in auth_api.message_for("locked", "<script>", "zh-CN")
    for code in auth_api.MESSAGES:
        chinese = auth_api.message_for(code, "", "zh-CN")
        assert chinese and chinese != auth_api.MESSAGES[code]

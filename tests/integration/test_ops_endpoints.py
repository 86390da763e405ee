"""The operator's side: /metrics (bearer token, Prometheus text, counters summed over
processes), /_ready (database, Redis, broker told apart), the background process, and
the structured log line of an approval. Real database, real HTTP semantics (Starlette's
test client on our routes), real processes for the multiprocess counters."""

from __future__ import annotations

import io
import json
import logging
import os
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from sqlmodel import select
from starlette.testclient import TestClient

from zenmux_refunds import api, config, db, log_safety, logs, metrics
from zenmux_refunds.models import Account, Refund
from zenmux_refunds.services import quotes, refunds, throttle

PROJECT_ROOT = Path(__file__).resolve().parents[2]
METRICS_TOKEN = "metrics-token-for-tests-0123456789"
USAGE_TOKEN = "usage-token-for-tests"


@pytest.fixture
def client(example_db, monkeypatch):
    monkeypatch.setenv("ZENMUX_METRICS_TOKEN", METRICS_TOKEN)
    monkeypatch.setenv("ZENMUX_USAGE_TOKEN", USAGE_TOKEN)
    config.settings.cache_clear()
    with TestClient(api.build()) as c:
        yield c
    config.settings.cache_clear()


def _scrape(client, token=METRICS_TOKEN):
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    return client.get("/metrics", headers=headers)


def _value(text: str, series: str) -> float:
    """The value of one exposition line (``name{labels}``), 0 when absent."""
    for line in text.splitlines():
        if line.startswith(series + " "):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def _order(account_ref: str, order_ref: str):
    with db.reading() as s:
        account = s.exec(select(Account).where(Account.ref == account_ref)).one()
        kind, order_id = quotes.order_id_by_ref(s, account, order_ref)
    return account, kind, order_id


def _approve(account_ref: str, order_ref: str) -> refunds.Approved:
    account, kind, order_id = _order(account_ref, order_ref)
    return refunds.approve(account_id=account.id, kind=kind, order_id=order_id,
                           preview_final_cents=None, actor=account.email)


# ------------------------------------------------------------------- /metrics


def test_no_token_configured_means_no_metrics_at_all(example_db, monkeypatch):
    monkeypatch.delenv("ZENMUX_METRICS_TOKEN", raising=False)
    config.settings.cache_clear()
    with TestClient(api.build()) as c:
        answer = c.get("/metrics", headers={"Authorization": "Bearer anything-at-all-here"})
    assert answer.status_code == 404
    assert "zenmux_" not in answer.text


@pytest.mark.parametrize("token", [None, "wrong-token-wrong-token", METRICS_TOKEN + "x", ""])
def test_a_missing_or_wrong_token_is_refused(client, token):
    answer = _scrape(client, token)
    assert answer.status_code == 401
    assert answer.headers["www-authenticate"].startswith("Bearer")
    assert "zenmux_" not in answer.text


def test_a_short_token_is_refused_at_start_without_repeating_it(monkeypatch):
    monkeypatch.setenv("ZENMUX_METRICS_TOKEN", "short-secret")
    config.settings.cache_clear()
    with pytest.raises(config.ConfigError) as refused:
        config.settings()
    assert "ZENMUX_METRICS_TOKEN" in str(refused.value)
    assert "short-secret" not in str(refused.value)
    config.settings.cache_clear()


def test_the_series_an_on_call_engineer_needs_after_a_refund(client):
    before = _scrape(client).text
    # a refund approved and sent to the Sandbox (settles later: still Refunding)
    account, kind, order_id = _order("paul", "TOP-3001")
    refunds.request_refund(account_id=account.id, kind=kind, order_id=order_id,
                           actor=account.email, dispatch=refunds.send_now)
    # an approval refused: that order has a refund open now
    with pytest.raises(refunds.RefundRefused):
        _approve("paul", "TOP-3001")
    # usage: one recorded, one duplicate, one rejected
    call = {"call_id": "m-1", "account": "paul", "amount": "0.01", "billed_to": "credits",
            "at": "2026-11-26T11:59:00Z"}
    auth = {"Authorization": f"Bearer {USAGE_TOKEN}"}
    assert client.post(api.USAGE_PATH, json=call, headers=auth).status_code == 200
    assert client.post(api.USAGE_PATH, json=call, headers=auth).status_code == 200
    assert client.post(api.USAGE_PATH, json={**call, "amount": "x"},
                       headers=auth).status_code == 400
    # sign-in: wrong passwords up to the lock
    limiter = throttle.throttle()
    for _ in range(config.settings().signin_max_failures):
        limiter.failed("nobody@example.com", "198.51.100.7")

    answer = _scrape(client)
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain")
    text = answer.text

    def grew(series: str) -> float:
        return _value(text, series) - _value(before, series)

    assert _value(text, 'zenmux_refunds{kind="topup",status="refunding"}') >= 2  # rita's too
    assert grew('zenmux_refunds{kind="topup",status="refunding"}') == 1
    assert grew('zenmux_approvals_refused_total{reason="Refund in progress"}') == 1
    assert grew('zenmux_provider_call_seconds_count{call="submit",outcome="pending",'
                'provider="sandbox"}') == 1
    assert 'zenmux_provider_call_seconds_bucket{call="submit"' in text
    assert grew('zenmux_usage_calls_total{result="recorded"}') == 1
    assert grew('zenmux_usage_calls_total{result="duplicate"}') == 1
    assert grew('zenmux_usage_calls_total{result="rejected"}') == 1
    assert grew("zenmux_signin_failures_total") == config.settings().signin_max_failures
    assert grew("zenmux_signin_lockouts_total") == 1
    # the example's RF-4001, requested at 11:30 on the frozen clock (12:00)
    assert _value(text, "zenmux_oldest_refunding_age_seconds") == 1800
    assert "zenmux_refunds_needing_attention " in text
    # the approval's mail waits in the outbox (no SMTP configured)
    assert _value(text, "zenmux_outbox_pending") >= 1
    assert _value(text, "zenmux_metrics_database_up") == 1


def test_usage_ingested_refuses_a_negative_count():
    with pytest.raises(ValueError, match="rejected must be >= 0"):
        metrics.usage_ingested(rejected=-1)


_COUNT_ONE = """
from zenmux_refunds import metrics
metrics.usage_ingested(recorded=1, rejected=2)
"""
_RENDER = """
import sys
from zenmux_refunds import metrics
sys.stdout.write(metrics.render().decode())
"""


def test_counters_are_summed_over_processes_even_after_they_exit(example_db, tmp_path):
    """Two processes count (then exit), a third one serves the scrape: it sees both."""
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "prom"),
           "DATABASE_URL": example_db}
    for _ in range(2):
        subprocess.run([sys.executable, "-c", _COUNT_ONE], cwd=PROJECT_ROOT, env=env,
                       check=True, timeout=60)
    scraped = subprocess.run([sys.executable, "-c", _RENDER], cwd=PROJECT_ROOT, env=env,
                             check=True, timeout=60, capture_output=True, text=True).stdout
    assert _value(scraped, 'zenmux_usage_calls_total{result="recorded"}') == 2
    assert _value(scraped, 'zenmux_usage_calls_total{result="rejected"}') == 4
    assert _value(scraped, "zenmux_outbox_pending") >= 0  # the database gauges too


def test_a_scrape_before_any_event_already_shows_the_alerting_series_at_zero(
        example_db, tmp_path):
    """A fresh host (a new metrics directory) that has ingested nothing and refused
    nothing: the usage results and the refusal reasons are there, at 0."""
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "prom"),
           "DATABASE_URL": example_db}
    scraped = subprocess.run([sys.executable, "-c", _RENDER], cwd=PROJECT_ROOT, env=env,
                             check=True, timeout=60, capture_output=True, text=True).stdout
    lines = set(scraped.splitlines())  # _value says 0 for an absent series: look for it
    for result in ("recorded", "duplicate", "rejected"):
        assert f'zenmux_usage_calls_total{{result="{result}"}} 0.0' in lines
    for reason in ("Insufficient balance", "Refund window expired", "Refund in progress"):
        assert f'zenmux_approvals_refused_total{{reason="{reason}"}} 0.0' in lines
    assert "zenmux_signin_lockouts_total 0.0" in lines


# --------------------------------------------------------------------- /_ready


class _FakeNats:
    """A TCP server that greets like NATS (``INFO {...}``)."""

    def __init__(self, greeting: bytes = b'INFO {"server_id":"test"}\r\n'):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen()
        self.port = self.sock.getsockname()[1]
        self.greeting = greeting
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                conn.sendall(self.greeting)


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _ready(example_db, monkeypatch, **env) -> tuple[int, dict]:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    config.settings.cache_clear()
    with TestClient(api.build()) as c:
        answer = c.get("/_ready")
    config.settings.cache_clear()
    return answer.status_code, answer.json()


def test_ready_with_only_a_database(example_db, monkeypatch):
    monkeypatch.delenv("REFLEX_REDIS_URL", raising=False)
    monkeypatch.delenv("ZENMUX_NATS_URL", raising=False)
    assert _ready(example_db, monkeypatch) == (200, {
        "ready": True, "database": "ok", "redis": "not configured",
        "broker": "not configured"})


def test_ready_tells_redis_and_the_broker_apart(example_db, monkeypatch):
    nats = _FakeNats()
    status, answer = _ready(example_db, monkeypatch,
                            REFLEX_REDIS_URL=f"redis://:pw-not-shown@127.0.0.1:{_closed_port()}",
                            ZENMUX_NATS_URL=f"nats://127.0.0.1:{nats.port}")
    assert status == 503
    assert answer["ready"] is False and answer["database"] == "ok"
    assert answer["broker"] == "ok"
    assert answer["redis"].startswith("error: ")
    assert "pw-not-shown" not in json.dumps(answer)

    status, answer = _ready(example_db, monkeypatch,
                            ZENMUX_NATS_URL=f"nats://127.0.0.1:{_closed_port()}",
                            REFLEX_REDIS_URL="")
    assert status == 503 and answer["broker"].startswith("error: ")
    assert answer["redis"] == "not configured"


def test_ready_with_a_real_redis_when_there_is_one(example_db, monkeypatch):
    try:
        socket.create_connection(("127.0.0.1", 6379), timeout=1).close()
    except OSError:
        pytest.skip("no Redis on 127.0.0.1:6379")
    status, answer = _ready(example_db, monkeypatch, REFLEX_REDIS_URL="redis://127.0.0.1:6379")
    assert (status, answer["redis"]) == (200, "ok")


def test_a_bad_broker_url_is_refused_with_its_name(monkeypatch):
    monkeypatch.setenv("ZENMUX_NATS_URL", "http://broker")
    config.settings.cache_clear()
    with pytest.raises(config.ConfigError, match="ZENMUX_NATS_URL"):
        config.settings()
    config.settings.cache_clear()


# ------------------------------------------------------------------ the logs


@pytest.fixture
def log_lines():
    """What the zenmux_refunds loggers write, rendered as in production (JSON lines)."""
    log_safety.install()  # as the app does (its record factory meets structlog's)
    logs.configure()
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(logs.formatter("json"))
    logger = logging.getLogger("zenmux_refunds")
    logger.addHandler(handler)
    yield lambda: [line for line in out.getvalue().splitlines() if line.strip()]
    logger.removeHandler(handler)


def test_an_approval_log_line_is_json_holding_its_refs(example_db, log_lines):
    approved = _approve("paul", "TOP-3001")
    lines = [json.loads(line) for line in log_lines()]  # every line is valid JSON
    [line] = [entry for entry in lines if entry["event"] == "refund approved"]
    assert line["refund_ref"] == approved.refund_ref
    assert line["order_ref"] == "TOP-3001"
    assert line["account_ref"] == "paul"
    assert line["level"] == "info" and line["time"].endswith("Z")
    assert line["final_cents"] == approved.quote.final_cents


def test_a_refused_approval_logs_its_reason_and_refs(example_db, log_lines):
    with pytest.raises(refunds.RefundRefused):
        _approve("paul", "TOP-3003")  # its window has closed
    [line] = [json.loads(x) for x in log_lines() if "refund refused" in x]
    assert line["reason"] == "Refund window expired"
    assert (line["order_ref"], line["account_ref"]) == ("TOP-3003", "paul")


def test_secrets_never_reach_a_log_line(log_lines):
    log = logs.get_logger("zenmux_refunds.test")
    with logs.bound(refund_ref="RF-1", session_token="tok-SECRET-1"):
        log.info("paid with card 4242 4242 4242 4242, header Authorization: Bearer "
                 "tok-SECRET-2 via smtp://mailer:pw-SECRET-3@smtp.example.com",
                 password="pw-SECRET-4", stripe_api_key="sk_SECRET-5", card_last4="4242",
                 amount_cents=4072)
    logging.getLogger("zenmux_refunds.test").warning(
        "stdlib too: Bearer tok-SECRET-6 and 5555-5555-5555-4444")
    try:
        raise RuntimeError("connect smtp://u:pw-SECRET-7@mail.example failed")
    except RuntimeError:
        logging.getLogger("zenmux_refunds.test").exception("with a traceback")
    text = "\n".join(log_lines())
    assert "SECRET" not in text and "4242 4242" not in text and "5555-5555" not in text
    first, second, third = (json.loads(x) for x in log_lines())
    assert first["refund_ref"] == "RF-1" and first["amount_cents"] == 4072
    assert first["password"] == "[redacted]" and first["session_token"] == "[redacted]"
    assert second["level"] == "warning"
    assert third["level"] == "error" and "RuntimeError" in third["exception"]


# ------------------------------------------------------- the background process


def test_two_background_processes_settle_a_refund_once(example_db, tmp_path):
    """``python -m zenmux_refunds worker`` twice at once: the refund settles, once."""
    approved = _approve("paul", "TOP-3001")
    env = {**os.environ, "DATABASE_URL": example_db, "ZENMUX_SANDBOX_SETTLE_SECONDS": "0",
           "ZENMUX_WORKER_INTERVAL_SECONDS": "1"}
    logs_of = [tmp_path / f"worker-{i}.log" for i in range(2)]
    procs = [subprocess.Popen([sys.executable, "-m", "zenmux_refunds", "worker"],
                              cwd=PROJECT_ROOT, env=env, stderr=path.open("w"))
             for path in logs_of]
    try:
        import time

        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with db.reading() as s:
                refund = s.exec(select(Refund).where(Refund.ref == approved.refund_ref)).one()
            started = all("background process started" in p.read_text() for p in logs_of)
            if refund.status == "refunded" and started:
                break
            time.sleep(0.5)
        assert refund.status == "refunded" and started
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(timeout=30)
    errors = [p.read_text() for p in logs_of]
    assert [p.returncode for p in procs] == [0, 0]  # SIGTERM ends the loop cleanly
    assert all("Traceback" not in e for e in errors), errors
    with db.reading() as s:
        from zenmux_refunds.models import RefundEvent

        finished = s.exec(select(RefundEvent).where(
            RefundEvent.refund_id == approved.refund_id,
            RefundEvent.to_status == "refunded")).all()
    assert len(finished) == 1
    assert any('"background process started' in e for e in errors)  # JSON lines


def test_a_bad_background_setting_is_refused(monkeypatch):
    monkeypatch.setenv("ZENMUX_BACKGROUND", "sometimes")
    config.settings.cache_clear()
    with pytest.raises(config.ConfigError, match="ZENMUX_BACKGROUND: expected one of inline, off"):
        config.settings()
    config.settings.cache_clear()

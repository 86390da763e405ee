"""What an on-call engineer watches, in Prometheus' text format (``prometheus-client``),
served at ``/metrics`` behind ``ZENMUX_METRICS_TOKEN``.

Two kinds of series:

- **Counted where it happens** (counters and a histogram): approvals refused by reason,
  provider calls by provider, call and outcome with their latency, usage calls
  recorded / duplicate / rejected, sign-in failures and lockouts. Several processes
  count them (the app's workers, the background process, the usage consumer), so with
  ``PROMETHEUS_MULTIPROC_DIR`` set every process writes its counts to files in that
  directory (prometheus-client's multiprocess mode) and a scrape of any worker sums the
  files of every process of the host — including processes that have exited, so a
  counter never goes backwards when a worker restarts. Unset (the single-process demo):
  the counts are this process's.
- **Read from the database at scrape** (gauges): refunds by status and kind, the age
  of the oldest refund still Refunding, refunds needing attention, mails waiting in the
  outbox. The database is the truth; every worker answers the same.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timezone

import sqlalchemy as sa

from zenmux_refunds import clock, db
from zenmux_refunds.config import settings
from zenmux_refunds.domain.policy import Reason
from zenmux_refunds.domain.vocabulary import RefundStatus
from zenmux_refunds.models import OutboxMail, Refund

# PROMETHEUS_MULTIPROC_DIR must exist before prometheus-client opens its files (at the
# first metric without labels): the settings make it.
settings()

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest  # noqa: E402
from prometheus_client import CONTENT_TYPE_LATEST  # noqa: E402,F401 (for the route)
from prometheus_client.core import GaugeMetricFamily  # noqa: E402

log = logging.getLogger(__name__)

# Our own registry: no process/platform collectors (meaningless summed over workers).
_REGISTRY = CollectorRegistry(auto_describe=True)

APPROVALS_REFUSED = Counter(
    "zenmux_approvals_refused", "Refund approvals refused, by the reason given",
    ["reason"], registry=_REGISTRY)
PROVIDER_CALLS = Histogram(
    "zenmux_provider_call_seconds",
    "Calls to a payment provider (submit or inquire) by provider and outcome, with "
    "their latency; _count is the number of calls",
    ["provider", "call", "outcome"], registry=_REGISTRY,
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30))
USAGE_CALLS = Counter(
    "zenmux_usage_calls", "Billed API calls reported by the gateway: recorded, duplicate "
    "(a call id already counted) or rejected (a bad report)", ["result"], registry=_REGISTRY)
# Every series an alert may watch exists from the start at 0, so that "rejected calls
# grew" or "refusals for Insufficient balance grew" need no absent() guard, and a scrape
# before the first event already shows them.
for _result in ("recorded", "duplicate", "rejected"):
    USAGE_CALLS.labels(result=_result)
for _reason in Reason:
    APPROVALS_REFUSED.labels(reason=_reason.value)
SIGNIN_FAILURES = Counter(
    "zenmux_signin_failures", "Wrong passwords at sign-in", registry=_REGISTRY)
SIGNIN_LOCKOUTS = Counter(
    "zenmux_signin_lockouts", "E-mails locked after too many wrong passwords",
    registry=_REGISTRY)

# a refusal reason is one of a few fixed sentences; anything else is counted as "other"
_MAX_REASON = 80


def approval_refused(reason: str) -> None:
    reason = (reason or "unknown").strip()
    APPROVALS_REFUSED.labels(reason=reason if len(reason) <= _MAX_REASON else "other").inc()


@contextmanager
def provider_call(provider: str, call: str) -> Iterator[dict]:
    """Time one provider call: ``with provider_call("stripe", "submit") as seen:
    result = ...; seen["outcome"] = result.outcome``. An exception counts as "error"."""
    seen = {"outcome": "error"}
    started = time.perf_counter()
    try:
        yield seen
    finally:
        PROVIDER_CALLS.labels(provider=provider, call=call,
                              outcome=str(seen["outcome"])).observe(
            time.perf_counter() - started)


def usage_ingested(recorded: int = 0, duplicate: int = 0, rejected: int = 0) -> None:
    """Count billed calls from any way in (the HTTP feed, its batch endpoint, the broker
    consumer): new ones recorded, repeats of a counted call id, and rejected reports."""
    for result, n in (("recorded", recorded), ("duplicate", duplicate),
                      ("rejected", rejected)):
        if n < 0:
            raise ValueError(f"usage_ingested: {result} must be >= 0, got {n}")
        if n:
            USAGE_CALLS.labels(result=result).inc(n)


def signin_failed(*, locked: bool) -> None:
    SIGNIN_FAILURES.inc()
    if locked:
        SIGNIN_LOCKOUTS.inc()


class _DatabaseGauges:
    """The gauges read from the database at each scrape (a few indexed counts)."""

    def collect(self):
        by_status = GaugeMetricFamily("zenmux_refunds", "Refunds by status and order kind",
                                      labels=["status", "kind"])
        oldest = GaugeMetricFamily(
            "zenmux_oldest_refunding_age_seconds",
            "Age (app clock) of the oldest refund still Refunding; 0 when there is none")
        attention = GaugeMetricFamily(
            "zenmux_refunds_needing_attention",
            "Refunds flagged for support (stuck, requires action, paid after close) "
            "and not yet resolved")
        outbox = GaugeMetricFamily("zenmux_outbox_pending",
                                   "Mails written to the outbox and not yet sent")
        up = GaugeMetricFamily("zenmux_metrics_database_up",
                               "1 when the database answered this scrape")
        try:
            with db.reading() as s:
                for status, kind, n in s.exec(
                        sa.select(Refund.status, Refund.order_kind, sa.func.count())
                        .group_by(Refund.status, Refund.order_kind)).all():
                    by_status.add_metric([status, kind], n)
                first = s.exec(sa.select(sa.func.min(Refund.requested_at))
                               .where(Refund.status == RefundStatus.REFUNDING)).one()[0]
                age = 0.0
                if first is not None:
                    if first.tzinfo is None:
                        first = first.replace(tzinfo=timezone.utc)
                    age = max(0.0, (clock.now(s) - first).total_seconds())
                oldest.add_metric([], age)
                attention.add_metric([], s.exec(
                    sa.select(sa.func.count()).select_from(Refund).where(
                        Refund.attention.is_not(None),
                        Refund.attention_resolved_at.is_(None))).one()[0])
                outbox.add_metric([], s.exec(
                    sa.select(sa.func.count()).select_from(OutboxMail)
                    .where(OutboxMail.sent_at.is_(None))).one()[0])
            up.add_metric([], 1)
        except Exception:  # noqa: BLE001 - a scrape must still answer (and say so)
            log.exception("metrics: the database did not answer")
            up.add_metric([], 0)
            yield up
            return
        yield from (by_status, oldest, attention, outbox, up)


def render() -> bytes:
    """The whole exposition: the counters (summed over every process of the host in
    multiprocess mode) and the database gauges."""
    scrape = CollectorRegistry(auto_describe=False)
    if settings().metrics_dir:
        from prometheus_client import multiprocess

        multiprocess.MultiProcessCollector(scrape, path=settings().metrics_dir)
        counted = generate_latest(scrape)
    else:
        counted = generate_latest(_REGISTRY)
    gauges = CollectorRegistry(auto_describe=False)
    gauges.register(_DatabaseGauges())
    return counted + generate_latest(gauges)

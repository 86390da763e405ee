"""Benchmark: does a flood of wrong passwords stall the app?

Starts a production build (demo mode off, its own port and SQLite database), then
measures ``/_health`` while idle and while N clients post wrong passwords to
``/api/auth/sign-in`` as fast as they can (argon2 runs on one thread of its own, off the
event loop, and the throttle refuses an address after 50 failures). Prints the median
and worst health-check times, and how the flood's answers were spread.

    .venv/bin/python benchmarks/sign_in_flood.py [CLIENTS] [REQUESTS]   # default 16 200
"""

from __future__ import annotations

import collections
import concurrent.futures
import statistics
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.support.appserver import running_app  # noqa: E402


def _health_times(base: str, stop: threading.Event, out: list[float]) -> None:
    while not stop.is_set():
        started = time.perf_counter()
        with urllib.request.urlopen(f"{base}/_health", timeout=60) as resp:
            resp.read()
        out.append(time.perf_counter() - started)
        time.sleep(0.05)


def _guess(base: str, i: int) -> str:
    request = urllib.request.Request(
        f"{base}/api/auth/sign-in", method="POST",
        data=f"email=user{i % 40}%40example.com&password=guess{i}".encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded"})

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    try:
        urllib.request.build_opener(NoRedirect).open(request, timeout=120)
    except urllib.error.HTTPError as exc:
        return exc.headers.get("location", str(exc.code)).split("?")[-1]
    return "no redirect"


def main() -> None:
    clients = int(sys.argv[1]) if len(sys.argv) > 1 else 16
    requests = int(sys.argv[2]) if len(sys.argv) > 2 else 200
    with running_app(Path(tempfile.mkdtemp())) as app:
        idle: list[float] = []
        stop = threading.Event()
        probe = threading.Thread(target=_health_times, args=(app.base_url, stop, idle))
        probe.start()
        time.sleep(3)
        stop.set()
        probe.join()

        flood: list[float] = []
        stop = threading.Event()
        probe = threading.Thread(target=_health_times, args=(app.base_url, stop, flood))
        probe.start()
        started = time.perf_counter()
        with concurrent.futures.ThreadPoolExecutor(clients) as pool:
            answers = collections.Counter(pool.map(lambda i: _guess(app.base_url, i),
                                                   range(requests)))
        took = time.perf_counter() - started
        stop.set()
        probe.join()

    def ms(values: list[float]) -> str:
        return (f"median {statistics.median(values) * 1000:.1f} ms, "
                f"worst {max(values) * 1000:.1f} ms ({len(values)} checks)")

    print(f"/_health idle:         {ms(idle)}")
    print(f"/_health during flood: {ms(flood)}")
    print(f"flood: {requests} wrong passwords from {clients} clients in {took:.1f} s; "
          f"answers: {dict(answers)}")


if __name__ == "__main__":
    main()

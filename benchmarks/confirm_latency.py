"""Benchmark: the refund dialog's confirm → "Refunding", in the browser, against the
Reflex floor (one button whose handler writes one SQLite row and shows "Written N").

    .venv/bin/python benchmarks/confirm_latency.py [--runs 15] [--orders SUB-1002,TOP-3001]
                                                   [--ports 3400-3499] [--baseline DIR]
                                                   [--split]

Starts two production builds (``reflex run --env prod``), each on a free port of
``--ports`` and in a Reflex work directory of its own (``.run/bench-app``,
``.run/bench-floor``), so that it may run beside the test suites:

- the app, as ``tests/support/appserver.py``'s ``running_app`` starts it (SQLite, demo
  mode, the example scenario, reloaded before every run). Each run signs a persona in
  in a fresh browser context, opens the order's refund dialog, submits, and once the
  page has settled measures the click on ``#confirm-refund`` until ``#refund-status``
  says "Refunding": SUB-1002 is Alice's subscription payment (the plan drops to Free),
  TOP-3001 Paul's top-up (a debit, a Discount bonus, a referral reward: the most an
  approval writes);
- the floor, ``benchmarks/reflex_floor/`` (its own ``rxconfig.py``): the click on
  ``#write`` until the page says "Written 1", in a fresh context too.

``--baseline DIR`` also starts the app from another checkout (an older commit
exported with ``git archive``, its ``.tools`` linked to this one's) in
``.run/bench-baseline`` and measures it the same way in the same rounds: before and
after under the same load.

``--split`` also times, in the page, when the WebSocket frame that carried the change
arrived: each row then adds the median of click → that frame (the server and the
network) and of that frame → the text in the DOM (the browser's own work).

Both are timed inside the page (``performance.now()`` before the click, a
MutationObserver that resolves when the text is in the DOM), so Playwright's own round
trips are not counted. Runs alternate between the targets (after two warm-up rounds),
so that both see the same load. Prints, per target, the median and the 90th percentile
in ms, and the ratio of each app row to the floor (medians; p90s).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from playwright.sync_api import Browser, expect, sync_playwright  # noqa: E402

from tests.support import appserver  # noqa: E402

FLOOR_DIR = ROOT / "benchmarks" / "reflex_floor"
CHROMIUM = os.environ.get("ZENMUX_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
WARMUP = 2
SETTLE_MS = 600  # after the dialog reaches its confirmation: late page events end

# order ref -> (persona, page the order is on)
ORDERS = {"SUB-1002": ("alice", "/subscription"), "TOP-3001": ("paul", "/credits")}

# With --split: when each WebSocket frame arrived (window.__frames), for MEASURE_JS.
FRAMES_JS = """(() => {
  window.__frames = [];
  const Native = window.WebSocket;
  window.WebSocket = function (...args) {
    const ws = new Native(...args);
    ws.addEventListener('message', () => window.__frames.push(performance.now()));
    return ws;
  };
  window.WebSocket.prototype = Native.prototype;
  Object.assign(window.WebSocket, Native);
})();"""

# Resolves with [ms from the click until the element `target` has the text `text`
# (checked at every DOM mutation, before the browser paints), ms from the click until
# the last WebSocket frame before that (null without FRAMES_JS)].
MEASURE_JS = """([button, target, text]) => new Promise((resolve, reject) => {
  let t0 = 0;
  const shown = () => { const el = document.querySelector(target);
                        return el !== null && el.textContent.trim() === text; };
  const watch = new MutationObserver(() => {
    if (!shown()) return;
    const t1 = performance.now();
    watch.disconnect();
    const frames = (window.__frames || []).filter(t => t >= t0 && t <= t1);
    resolve([t1 - t0, frames.length ? frames[frames.length - 1] - t0 : null]);
  });
  watch.observe(document.body, {subtree: true, childList: true, characterData: true});
  setTimeout(() => { watch.disconnect(); reject(new Error(target + ' never said ' + text)); },
             30000);
  t0 = performance.now();
  document.querySelector(button).click();
})"""


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--runs", type=int, default=15, help="measured runs per target")
    p.add_argument("--orders", default="SUB-1002,TOP-3001",
                   help=f"the app's orders to confirm, among {', '.join(ORDERS)}")
    p.add_argument("--ports", default="3400-3499", help="the range the servers may use")
    p.add_argument("--baseline", type=Path, default=None,
                   help="also measure the app served from this checkout (e.g. an older commit)")
    p.add_argument("--split", action="store_true",
                   help="also split each time at the arrival of the frame that carried it")
    return p.parse_args()


def free_ports(span: str, count: int) -> list[int]:
    low, high = (int(x) for x in span.split("-"))
    found = []
    for port in range(low, high + 1):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        found.append(port)
        if len(found) == count:
            return found
    raise SystemExit(f"fewer than {count} free ports in {span}")


def _wait_for_ping(base_url: str, proc: subprocess.Popen, log_path: Path) -> None:
    deadline = time.monotonic() + appserver.START_TIMEOUT_S
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"reflex exited early:\n{log_path.read_text()[-4000:]}")
        with contextlib.suppress(OSError):
            with urllib.request.urlopen(f"{base_url}/ping", timeout=2) as resp:
                if resp.status == 200:
                    return
        if time.monotonic() > deadline:
            raise RuntimeError(f"reflex did not start:\n{log_path.read_text()[-4000:]}")
        time.sleep(0.5)


@contextlib.contextmanager
def running_floor(port: int, workdir: Path) -> Iterator[str]:
    """``reflex run --env prod`` in benchmarks/reflex_floor, its SQLite file new."""
    workdir.mkdir(parents=True, exist_ok=True)
    for leftover in workdir.glob("floor.db*"):
        leftover.unlink()
    env = {k: v for k, v in os.environ.items() if not k.startswith("REFLEX_REDIS")}
    env.update({"REFLEX_WEB_WORKDIR": str(workdir / "web"),
                "REFLEX_STATES_WORKDIR": str(workdir / "states"),
                "FLOOR_DB": str(workdir / "floor.db"),
                "REFLEX_TELEMETRY_ENABLED": "false", "REFLEX_CHECK_LATEST_VERSION": "false"})
    log_path = workdir / "reflex.log"
    reflex = str(Path(sys.executable).parent / "reflex")
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            [reflex, "run", "--env", "prod", "--frontend-port", str(port),
             "--backend-port", str(port)],
            cwd=FLOOR_DIR, env=env, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True)
    try:
        base_url = f"http://127.0.0.1:{port}"
        _wait_for_ping(base_url, proc, log_path)
        yield base_url
    finally:
        appserver._stop(proc)


@contextlib.contextmanager
def running_app(port: int, workdir: Path, root: Path = ROOT) -> Iterator[appserver.AppServer]:
    """The app as the browser tests start it, on ``port`` (appserver picks its port
    with ``free_port``: pointed at ours here), served from the checkout ``root``
    (scenarios are loaded by this checkout's command runner: the same schema)."""
    picked, project = appserver.free_port, appserver.PROJECT_ROOT
    appserver.free_port, appserver.PROJECT_ROOT = (lambda: port), root.resolve()
    try:
        with appserver.running_app(
                Path(tempfile.mkdtemp(prefix="bench-confirm-")),
                {"ZENMUX_DEMO": "1",
                 # the production default, not the tests' 1 s: the background pass
                 # runs beside the measurements as often as it would for real
                 "ZENMUX_WORKER_INTERVAL_SECONDS": "2"},
                workdir=workdir) as server:
            appserver.free_port, appserver.PROJECT_ROOT = picked, project
            yield server
    finally:
        appserver.free_port, appserver.PROJECT_ROOT = picked, project


def _context(browser: Browser, base_url: str, split: bool):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, base_url=base_url)
    context.set_default_timeout(30_000)
    if split:
        context.add_init_script(FRAMES_JS)
    return context


def measure_confirm(browser: Browser, app: appserver.AppServer, order: str,
                    split: bool = False) -> tuple[float, float | None]:
    persona, path = ORDERS[order]
    app.load_scenario("example")
    before = app.rows("SELECT count(*) FROM refund")[0][0]
    context = _context(browser, app.base_url, split)
    try:
        page = context.new_page()
        page.goto("/sign-in")
        page.locator(f"#persona-{persona}").click()
        page.wait_for_url(appserver_home())
        expect(page.locator("#account-name")).not_to_have_text("")
        if path != "/subscription":
            page.goto(path)
        page.locator(f"#refund-{order}").click()
        page.locator("#submit-refund").click()
        expect(page.locator("#confirm-refund")).to_be_enabled()
        page.wait_for_timeout(SETTLE_MS)
        took = tuple(page.evaluate(MEASURE_JS,
                                   ["#confirm-refund", "#refund-status", "Refunding"]))
        assert app.rows("SELECT count(*) FROM refund")[0][0] == before + 1, \
            f"confirming {order} wrote no refund"
        return took
    finally:
        context.close()


def appserver_home():
    import re

    return re.compile(r".*/(subscription|support)/?$")


def measure_floor(browser: Browser, base_url: str,
                  split: bool = False) -> tuple[float, float | None]:
    context = _context(browser, base_url, split)
    try:
        page = context.new_page()
        page.goto("/")
        expect(page.locator("#written")).to_have_text("Written 0")
        page.wait_for_timeout(SETTLE_MS)
        return tuple(page.evaluate(MEASURE_JS, ["#write", "#written", "Written 1"]))
    finally:
        context.close()


def quantile(values: list[float], q: float) -> float:
    """The q-quantile, linear between the two nearest ranks."""
    ordered = sorted(values)
    at = (len(ordered) - 1) * q
    low = int(at)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (at - low)


def main() -> None:
    args = parse_args()
    orders = [o.strip() for o in args.orders.split(",") if o.strip()]
    unknown = [o for o in orders if o not in ORDERS]
    if unknown:
        raise SystemExit(f"unknown orders {unknown}; known: {', '.join(ORDERS)}")
    app_port, floor_port, baseline_port = free_ports(args.ports, 3)
    apps = {"app": None, "baseline": None} if args.baseline else {"app": None}
    times: dict[tuple[str, str], list[float]] = {}
    frames: dict[tuple[str, str], list[float]] = {}  # click → the frame, with --split
    started = time.monotonic()
    with contextlib.ExitStack() as stack:
        floor_url = stack.enter_context(running_floor(floor_port, ROOT / ".run" / "bench-floor"))
        apps["app"] = stack.enter_context(running_app(app_port, ROOT / ".run" / "bench-app"))
        if args.baseline:
            apps["baseline"] = stack.enter_context(running_app(
                baseline_port, ROOT / ".run" / "bench-baseline", root=args.baseline))
        pw = stack.enter_context(sync_playwright())
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        load_before = os.getloadavg()[0]
        for round_no in range(WARMUP + args.runs):
            measured = {(name, o): measure_confirm(browser, server, o, args.split)
                        for name, server in apps.items() for o in orders}
            measured[("floor", "")] = measure_floor(browser, floor_url, args.split)
            if round_no >= WARMUP:
                for target, (ms, frame_ms) in measured.items():
                    times.setdefault(target, []).append(ms)
                    if frame_ms is not None:
                        frames.setdefault(target, []).append(frame_ms)
            print(f"round {round_no + 1 - WARMUP:>3}: " + "  ".join(
                f"{n} {o} {ms:6.1f}" for (n, o), (ms, _) in measured.items()),
                file=sys.stderr, flush=True)
        load_after = os.getloadavg()[0]
        browser.close()

    floor_median = statistics.median(times[("floor", "")])
    floor_p90 = quantile(times[("floor", "")], 0.9)

    def split(target: tuple[str, str]) -> str:
        """click → the frame, the frame → the DOM: medians (with --split)."""
        if len(frames.get(target, [])) != len(times[target]):
            return ""
        browser_ms = [t - f for t, f in zip(times[target], frames[target])]
        return (f" {statistics.median(frames[target]):>8.1f} "
                f"{statistics.median(browser_ms):>9.1f}")

    print(f"confirm latency in Chromium, {args.runs} runs each (after {WARMUP} warm-up), "
          f"{os.cpu_count()} CPUs, load average {load_before:.1f} → {load_after:.1f}, "
          f"{time.monotonic() - started:.0f} s")
    print(f"{'what':<44} {'median ms':>9} {'p90 ms':>8} {'ratio':>6} {'p90 ratio':>9}"
          + (f" {'→ frame':>8} {'→ DOM':>9}" if args.split else ""))
    for name in apps:
        for order in orders:
            persona, _ = ORDERS[order]
            ms = times[(name, order)]
            median, p90 = statistics.median(ms), quantile(ms, 0.9)
            print(f"{f'{name}: {persona} confirms {order} → Refunding':<44} {median:>9.1f} "
                  f"{p90:>8.1f} {median / floor_median:>5.2f}× {p90 / floor_p90:>8.2f}×"
                  + split((name, order)))
    print(f"{'floor: click → Written N (one SQLite row)':<44} {floor_median:>9.1f} "
          f"{floor_p90:>8.1f} {1:>5.2f}× {1:>8.2f}×" + split(("floor", "")))


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # the servers stop on the way out
    main()

"""localstripe (PyPI, GPL; a test server only, never shipped) and a fault-injecting proxy.

``LocalStripe`` starts ``localstripe --port N --from-scratch`` on a free port in its own
process group, waits until it answers, and kills the group when stopped. The binary is
``$ZENMUX_LOCALSTRIPE`` (set by scripts/test) or ``.tools/localstripe/bin/localstripe``.

``FaultProxy`` is a small HTTP proxy in front of it. Each request passes through unless a
fault rule matches its method and path:
- ``hang``: accept and never answer (the client times out; Stripe never saw it);
- ``forward_then_hang``: forward to localstripe, then never answer (Stripe did it, the
  client times out — the dangerous case);
- an HTTP status (``503``, ``429``, ...): answer it with a Stripe-shaped error body.
"""

from __future__ import annotations

import http.client
import json
import os
import random
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_BINARY = PROJECT_ROOT / ".tools" / "localstripe" / "bin" / "localstripe"


def binary() -> Path | None:
    """The localstripe executable to use, or None when there is none."""
    configured = os.environ.get("ZENMUX_LOCALSTRIPE", "").strip()
    if configured:
        return Path(configured)
    return DEFAULT_BINARY if DEFAULT_BINARY.exists() else None


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LocalStripe:
    def __init__(self, executable: Path, log_path: Path):
        self.executable = executable
        self.log_path = log_path
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 30.0) -> LocalStripe:
        if not self.executable.exists():
            raise RuntimeError(f"localstripe not found at {self.executable}")
        log = open(self.log_path, "wb")  # noqa: SIM115 - closed with the process
        self.proc = subprocess.Popen(
            [str(self.executable), "--port", str(self.port), "--from-scratch"],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True,  # its own process group, killed as one
        )
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"localstripe exited with {self.proc.returncode}: "
                                   f"{self.log_path.read_text(errors='replace')[-2000:]}")
            if self._answers():
                return self
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"localstripe did not answer on {self.url} within {timeout}s")

    def _answers(self) -> bool:
        req = urllib.request.Request(f"{self.url}/v1/customers?limit=1",
                                     headers={"Authorization": "Bearer sk_test_probe"})
        try:
            with urllib.request.urlopen(req, timeout=1) as resp:
                return resp.status == 200
        except (urllib.error.URLError, OSError):
            return False

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        for sig, wait in ((signal.SIGTERM, 5), (signal.SIGKILL, 5)):
            try:
                os.killpg(self.proc.pid, sig)
            except ProcessLookupError:
                return
            try:
                self.proc.wait(timeout=wait)
                return
            except subprocess.TimeoutExpired:
                continue


class FaultProxy:
    """An HTTP proxy to ``upstream`` that can hang or fail chosen requests."""

    def __init__(self, upstream: str):
        self.upstream = upstream.removeprefix("http://")
        self.rules: list[tuple[str, str, str | int, float]] = []
        self._random = random.Random(20261126)  # the same faults at every run
        self.slow_seconds = 1.5
        self.seen: list[tuple[str, str]] = []
        self._release = threading.Event()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # quiet
                pass

            def _any(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                proxy.seen.append((self.command, self.path))
                fault = proxy._fault_for(self.command, self.path)
                if fault == "hang":
                    proxy._release.wait()
                    self.close_connection = True
                    return
                if isinstance(fault, int):
                    payload = json.dumps({"error": {"type": "api_error",
                                                    "message": f"injected {fault}"}}).encode()
                    self.send_response(fault)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                    return
                if fault == "slow":  # forwarded, but only after a while
                    time.sleep(proxy.slow_seconds)
                status, headers, answer = proxy._forward(self.command, self.path,
                                                         self.headers, body)
                if fault == "forward_then_hang":
                    proxy._release.wait()
                    self.close_connection = True
                    return
                self.send_response(status)
                for name, value in headers:
                    if name.lower() not in ("content-length", "transfer-encoding",
                                            "connection", "date", "server"):
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            do_GET = do_POST = do_DELETE = _any

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> FaultProxy:
        self._thread.start()
        return self

    def fail(self, method: str, path_prefix: str, fault: str | int, *,
             share: float = 1.0) -> None:
        """Inject ``fault`` into matching requests; ``share`` of them (seeded), or all."""
        self.rules.append((method.upper(), path_prefix, fault, share))

    def clear(self) -> None:
        self.rules.clear()

    def _fault_for(self, method: str, path: str):
        for rule_method, prefix, fault, share in self.rules:
            if rule_method in (method, "*") and path.startswith(prefix):
                if share >= 1.0 or self._random.random() < share:
                    return fault
        return None

    def _forward(self, method, path, headers, body):
        conn = http.client.HTTPConnection(self.upstream, timeout=10)
        try:
            keep = {k: v for k, v in headers.items()
                    if k.lower() not in ("host", "connection", "content-length")}
            conn.request(method, path, body=body or None, headers=keep)
            resp = conn.getresponse()
            return resp.status, resp.getheaders(), resp.read()
        finally:
            conn.close()

    def stop(self) -> None:
        self._release.set()
        self.server.shutdown()
        self.server.server_close()

"""``python -m zenmux_refunds ARGS`` for a test server, run in one long-lived process
started with the server's environment.

Each browser and attack test starts by loading a scenario into its server's database.
Run as a fresh ``python -m zenmux_refunds scenario load`` every time, that took ~4 s,
2.7 s of which was importing the app and 1.4 s hashing the scenario's passwords with
argon2 (scenarios memoize those hashes per process). Both are paid once here. The
commands are the same ``zenmux_refunds.__main__.main``, with the same environment as
the server, so they do exactly what the command line does; ``tests/integration/
test_cli.py`` still runs the real command line.

Protocol (one JSON object per line): the parent writes ``{"argv": [...]}`` on stdin;
the child answers ``{"rc": int, "out": str, "err": str}`` on its stdout. Anything
else the app prints (alembic's log lines) goes to the child's stderr, a log file."""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys
import traceback
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]


class CliRunner:
    """The parent's end: start lazily, ``run(*argv)``, ``close()``."""

    def __init__(self, env: dict[str, str], log_path: Path):
        self.env = env
        self.log_path = log_path
        self.proc: subprocess.Popen | None = None
        self._log = None

    def run(self, *argv: str) -> tuple[int, str, str]:
        if self.proc is None or self.proc.poll() is not None:
            self._log = open(self.log_path, "a")  # noqa: SIM115 - closed in close()
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "tests.support.cli_runner"], cwd=PROJECT_ROOT,
                env=self.env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                stderr=self._log, text=True, start_new_session=True)
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(json.dumps({"argv": list(argv)}) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"the command runner died running {argv}; its log:\n"
                               f"{self.log_path.read_text(errors='replace')[-4000:]}")
        answer = json.loads(line)
        return answer["rc"], answer["out"], answer["err"]

    def close(self) -> None:
        if self.proc is not None:
            with contextlib.suppress(OSError):
                self.proc.stdin.close()  # the child's loop ends at end of input
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.proc = None
        if self._log is not None:
            self._log.close()
            self._log = None


def _serve() -> None:
    from zenmux_refunds.__main__ import main

    channel = os.fdopen(os.dup(sys.stdout.fileno()), "w", buffering=1)
    sys.stdout = sys.stderr  # stray prints must not break the protocol
    for line in sys.stdin:
        argv = json.loads(line)["argv"]
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                rc = main(argv)
            except SystemExit as exc:  # argparse refusing its arguments
                rc = exc.code if isinstance(exc.code, int) else 2
            except Exception:  # noqa: BLE001 - reported to the test, which fails on rc
                traceback.print_exc()
                rc = 1
        channel.write(json.dumps({"rc": rc, "out": out.getvalue(), "err": err.getvalue()})
                      + "\n")


if __name__ == "__main__":
    _serve()

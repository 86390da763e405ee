"""deploy/: the systemd units are valid (``systemd-analyze verify``, when it is there),
say what the production shape is (several app workers without the background pass, one
background process, the usage consumer), run commands our CLI has, share one metrics
directory; the env example names only settings the README documents; Caddy proxies to
the app's port and keeps /metrics private."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
UNITS = DEPLOY / "systemd"
APP, BACKGROUND, CONSUMER = "zenmux-app.service", "zenmux-background.service", \
    "zenmux-usage-consumer.service"


def parse_unit(path: Path) -> dict[str, dict[str, list[str]]]:
    """A unit file as {section: {key: [values in order]}} (keys may repeat)."""
    sections: dict[str, dict[str, list[str]]] = {}
    current = None
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], {})
            continue
        assert current is not None and "=" in line, f"{path.name}: cannot read {raw!r}"
        key, value = line.split("=", 1)
        current.setdefault(key.strip(), []).append(value.strip())
    return sections


def _env(unit: dict) -> dict[str, str]:
    return dict(v.split("=", 1) for v in unit["Service"].get("Environment", []))


def _command(unit: dict) -> list[str]:
    [start] = unit["Service"]["ExecStart"]
    return shlex.split(start)


def test_every_unit_parses_and_the_target_wants_all_three():
    units = {p.name: parse_unit(p) for p in UNITS.iterdir()}
    assert {APP, BACKGROUND, CONSUMER, "zenmux.target"} == set(units)
    wants = units["zenmux.target"]["Unit"]["Wants"][0].split()
    assert sorted(wants) == sorted([APP, BACKGROUND, CONSUMER])
    for name in (APP, BACKGROUND, CONSUMER):
        assert units[name]["Install"]["WantedBy"] == ["zenmux.target"]
        assert units[name]["Service"]["EnvironmentFile"] == ["/etc/zenmux/zenmux.env"]
        assert units[name]["Service"]["User"] == ["zenmux"]  # never root


def test_the_app_runs_several_workers_without_the_background_pass():
    app = parse_unit(UNITS / APP)
    env = _env(app)
    assert env["ZENMUX_BACKGROUND"] == "off"
    assert int(env["GRANIAN_WORKERS"]) >= 2
    command = _command(app)
    assert command[-7:] == ["run", "--env", "prod", "--frontend-port", "8000",
                            "--backend-port", "8000"]
    assert any("db upgrade" in pre for pre in app["Service"]["ExecStartPre"])


def test_the_background_pass_is_one_process_of_a_command_we_have():
    from zenmux_refunds.__main__ import main

    background = parse_unit(UNITS / BACKGROUND)
    command = _command(background)
    assert command[1:] == ["-m", "zenmux_refunds", "worker"]
    assert "@" not in BACKGROUND  # not a template: one instance
    with pytest.raises(SystemExit) as shown:  # the subcommand exists (its --help)
        main(["worker", "--help"])
    assert shown.value.code == 0


def test_the_usage_consumer_unit_runs_usage_consume():
    assert _command(parse_unit(UNITS / CONSUMER))[1:] == ["-m", "zenmux_refunds", "usage",
                                                          "consume"]


def test_every_process_writes_counters_to_one_directory():
    dirs = {_env(parse_unit(UNITS / n))["PROMETHEUS_MULTIPROC_DIR"]
            for n in (APP, BACKGROUND, CONSUMER)}
    assert dirs == {"/run/zenmux-metrics"}
    for name in (APP, BACKGROUND, CONSUMER):
        service = parse_unit(UNITS / name)["Service"]
        assert service["RuntimeDirectory"] == ["zenmux-metrics"]
        assert service["RuntimeDirectoryPreserve"] == ["yes"]  # counters survive restarts


def _documented_settings() -> set[str]:
    readme = (ROOT / "README.md").read_text()
    return set(re.findall(r"^\| `([A-Z][A-Z0-9_]+)`", readme, flags=re.M))


def test_the_env_example_names_only_documented_settings_and_never_demo_mode():
    example = (DEPLOY / "zenmux.env.example").read_text()
    names = dict(line.split("=", 1) for line in example.splitlines()
                 if line.strip() and not line.lstrip().startswith("#"))
    documented = _documented_settings() | {"REFLEX_TELEMETRY_ENABLED",
                                           "REFLEX_CHECK_LATEST_VERSION"}
    # `ANTOM_PRIVATE_KEY` / `_FILE` documents both
    undocumented = {n for n in names if n not in documented
                    and not (n.endswith("_FILE") and n[:-5] in documented)}
    assert undocumented == set()
    assert names["ZENMUX_DEMO"] == "0"
    assert names["ZENMUX_PUBLIC_URL"].startswith("https://")
    for needed in ("DATABASE_URL", "REFLEX_REDIS_URL", "ZENMUX_METRICS_TOKEN",
                   "ZENMUX_USAGE_TOKEN", "REFLEX_TRUSTED_PROXY_HOPS"):
        assert needed in names


def test_caddy_proxies_the_site_to_the_app_and_hides_metrics():
    """What the file says; tests/browser/test_behind_caddy.py runs it for real."""
    caddy = (DEPLOY / "Caddyfile").read_text()
    assert caddy.count("{") == caddy.count("}")
    assert re.search(r"handle /metrics\*\s*\{\s*respond \"not found\" 404", caddy)
    assert re.findall(r"^\s*reverse_proxy (\S+)", caddy, re.M) == ["127.0.0.1:8000"]


@pytest.mark.skipif(shutil.which("caddy") is None, reason="no caddy (scripts/test installs it)")
def test_caddy_accepts_the_caddyfile():
    """``caddy validate``: Debian 12's Caddy (2.6) adapts and provisions the file (an
    option of a later Caddy would be refused here)."""
    done = subprocess.run(["caddy", "validate", "--adapter", "caddyfile",
                           "--config", str(DEPLOY / "Caddyfile")],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and "Valid configuration" in done.stdout + done.stderr, \
        done.stderr[-2000:]


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd-analyze")
def test_systemd_accepts_the_units(tmp_path):
    """``systemd-analyze verify`` with /opt/zenmux pointed at this checkout (it checks
    that the executables exist)."""
    for unit in UNITS.iterdir():
        text = unit.read_text().replace("/opt/zenmux", str(ROOT))
        (tmp_path / unit.name).write_text(text)
    done = subprocess.run(["systemd-analyze", "verify", "--man=no",
                           *sorted(str(p) for p in tmp_path.iterdir())],
                          capture_output=True, text=True, timeout=60)
    problems = [line for line in done.stderr.splitlines()
                # this machine has no such user, database or broker: not the units' fault
                if not re.search(r"(postgresql|redis-server|nats-server|network-online)"
                                 r"\.(service|target)", line)]
    assert done.returncode == 0 and problems == [], done.stderr

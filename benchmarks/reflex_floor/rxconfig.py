"""The Reflex floor's configuration (benchmarks/confirm_latency.py starts it with
``reflex run --env prod`` from this directory; FLOOR_DB is its SQLite file)."""

import os
from pathlib import Path

import reflex as rx

os.environ.setdefault("REFLEX_TELEMETRY_ENABLED", "false")
os.environ.setdefault("REFLEX_CHECK_LATEST_VERSION", "false")

# the bun scripts/setup.sh installs for the app, when there is one
_BUN = Path(__file__).resolve().parents[2] / ".tools" / "node_modules" / ".bin" / "bun"

config = rx.Config(
    **({"bun_path": _BUN} if _BUN.exists() else {}),
    app_name="floor",
    telemetry_enabled=False,
    show_built_with_reflex=False,
    # the same theme plugin as the app's, so that the button is the same component
    plugins=[rx.plugins.RadixThemesPlugin(theme=rx.theme(accent_color="indigo"))],
    disable_plugins=[rx.plugins.SitemapPlugin],
)

"""Reflex configuration. Application settings live in zenmux_refunds/config.py."""

import os
from pathlib import Path

import reflex as rx

from zenmux_refunds.config import settings

os.environ.setdefault("REFLEX_TELEMETRY_ENABLED", "false")
os.environ.setdefault("REFLEX_CHECK_LATEST_VERSION", "false")

# scripts/setup.sh installs bun into .tools/ when none >= 1.4.4 is on PATH; naming it
# here lets a bare `reflex run` use it too (without it Reflex falls back to the system's
# Node, too old on this machine). Without .tools, Reflex's own default stands.
_BUN = Path(__file__).resolve().parent / ".tools" / "node_modules" / ".bin" / "bun"
_bun_path = {"bun_path": _BUN} if _BUN.exists() else {}

config = rx.Config(
    **_bun_path,
    app_name="zenmux_refunds",
    db_url=settings().database_url,
    telemetry_enabled=False,
    show_built_with_reflex=False,
    plugins=[rx.plugins.RadixThemesPlugin(theme=rx.theme(accent_color="indigo", radius="medium"))],
    disable_plugins=[rx.plugins.SitemapPlugin],
    # CORS and the WebSocket's Origin check (python-engineio) accept only these origins.
    # Reflex's default "*" makes Starlette's CORSMiddleware (allow_credentials=True)
    # reflect any Origin back, credentials included.
    cors_allowed_origins=list(settings().allowed_origins),
)

"""Reflex configuration. Application settings live in zenmux_refunds/config.py."""

import os

import reflex as rx

from zenmux_refunds.config import settings

os.environ.setdefault("REFLEX_TELEMETRY_ENABLED", "false")
os.environ.setdefault("REFLEX_CHECK_LATEST_VERSION", "false")

config = rx.Config(
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

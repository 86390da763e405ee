"""Test servers and helpers shared by the integration tests (never shipped)."""

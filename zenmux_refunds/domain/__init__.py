"""Pure domain layer: money arithmetic and the refund policy (stdlib only, no I/O, no clock)."""

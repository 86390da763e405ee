"""Use cases: each owns its transaction and its locks; the only code that changes money."""

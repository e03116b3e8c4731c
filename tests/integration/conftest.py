"""Fixtures live in tests/conftest.py (shared with tests/infra and tests/e2e)."""

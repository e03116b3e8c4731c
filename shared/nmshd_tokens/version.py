"""The service's version: what GET /Monitoring/Version reports and what pyproject.toml builds."""

VERSION = "0.2.0"

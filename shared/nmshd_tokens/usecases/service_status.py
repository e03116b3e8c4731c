"""Health and version, as the Connector reports them (SPEC §13): cheap, time-bounded probes of each dependency."""

from __future__ import annotations

import platform
from dataclasses import dataclass
from typing import Any

from .ports import HealthProbe

HEALTHY = "healthy"
UNHEALTHY = "unhealthy"


@dataclass(frozen=True)
class Health:
    database: HealthProbe
    backbone_connection: HealthProbe
    backbone_authentication: HealthProbe

    def report(self) -> dict[str, Any]:
        """`{"isHealthy", "services": {"database", "backboneConnection", "backboneAuthentication"}}`."""
        services = {
            "database": self.database(),
            "backboneConnection": self.backbone_connection(),
            "backboneAuthentication": self.backbone_authentication(),
        }
        return {
            "isHealthy": all(services.values()),
            "services": {name: HEALTHY if healthy else UNHEALTHY for name, healthy in services.items()},
        }


@dataclass(frozen=True)
class BuildInfo:
    version: str
    build: str
    date: str
    commit: str

    def report(self) -> dict[str, Any]:
        """The Connector's shape; `runtimeVersion` is the Python runtime's (the Connector names its runtime's)."""
        return {
            "version": self.version,
            "build": self.build,
            "date": self.date,
            "commit": self.commit,
            "runtimeVersion": platform.python_version(),
            "modules": {},
        }

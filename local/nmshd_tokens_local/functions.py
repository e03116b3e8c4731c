"""The real Lambda handlers, imported in-process and invoked like one warm Lambda instance each."""

from __future__ import annotations

import importlib.util
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from .routes import FunctionSpec

Handler = Callable[[dict[str, Any], Any], Any]


@dataclass
class LocalContext:
    """The attributes of a Lambda context object that the handlers (and Powertools) read."""

    function_name: str
    memory_limit_in_mb: int
    aws_request_id: str
    timeout_s: int
    function_version: str = "$LATEST"
    log_group_name: str = "local"
    log_stream_name: str = "local"
    _started: float = field(default_factory=time.monotonic)

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:local:000000000000:function:{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.timeout_s - (time.monotonic() - self._started)) * 1000))


def load_module(spec: FunctionSpec) -> ModuleType:
    """Import `<CodeUri>/<module>.py` under a unique name: every function's handler file is called app.py."""
    module_name = f"nmshd_tokens_local_fn_{spec.logical_id}"
    if module_name in sys.modules:
        return sys.modules[module_name]
    import_spec = importlib.util.spec_from_file_location(module_name, spec.source)
    if import_spec is None or import_spec.loader is None:
        raise ImportError(f"cannot import {spec.source}")
    module = importlib.util.module_from_spec(import_spec)
    sys.modules[module_name] = module
    try:
        import_spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[module_name]
        raise
    return module


class LocalFunction:
    """One function, one instance: requests to it run one at a time, as in a single Lambda execution environment.

    The serialisation is not only realism: a Powertools resolver keeps the current event on a module-level
    object, so two concurrent requests in one process would read each other's event.
    """

    def __init__(self, spec: FunctionSpec, handler: Handler) -> None:
        self.spec = spec
        self._handler = handler
        self._lock = threading.Lock()

    @classmethod
    def load(cls, spec: FunctionSpec) -> LocalFunction:
        handler = getattr(load_module(spec), spec.attribute)
        if not callable(handler):
            raise ImportError(f"{spec.logical_id}: {spec.module}.{spec.attribute} is not callable")
        return cls(spec, handler)

    def invoke(self, event: dict[str, Any], request_id: str) -> Any:
        context = LocalContext(self.spec.logical_id, self.spec.memory_mb, request_id, self.spec.timeout_s)
        with self._lock:
            return self._handler(event, context)

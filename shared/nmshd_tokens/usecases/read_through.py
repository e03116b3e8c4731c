"""The records table as a cache of the team's Connector (SPEC §15): what the creation use cases load a File or
RelationshipTemplate from when a Connector is configured.

A record is looked for in this instance's memory, then in the table, then at the Connector:
- a copy the tooling wrote (records add-*, import, seed) is used as it is and never replaced;
- a Connector copy younger than the cache period is used without a call; an older one, or none, is read from the
  Connector, stored with the time it was read, and used;
- the Connector's 404 means the record does not exist: a copy of it is removed;
- within one warm instance the table is read at most once per record per cache period (the memory holds what was
  read until its period ends).
Tokens name SERVICE_ADDRESS as their creator, so the Connector must be that identity: before its first read the
service compares its address (GET …/Account/IdentityInfo), and every own record's owner as it is read (the only
check when the Connector's API key may not read its identity).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from ..domain.errors import DomainError, ErrorKind
from ..domain.files_and_templates import FileRecord, TemplateRecord
from .ports import ConnectorCopies, ConnectorRecords

logger = logging.getLogger("nmshd-tokens.read_through")

MAX_REMEMBERED = 10_000  # records kept in memory; past it the memory starts again (a Lambda sees far fewer)


class AddressMismatch(DomainError):
    """SERVICE_ADDRESS is not the Connector's identity: tokens would name another creator than the records'."""

    def __init__(self, service_address: str, connector_address: str) -> None:
        super().__init__(ErrorKind.SERVICE_UNAVAILABLE, address_mismatch_message(service_address, connector_address))


def address_mismatch_message(service_address: str, connector_address: str) -> str:
    return (
        f"SERVICE_ADDRESS {service_address} is not the address of the Connector's identity {connector_address}:"
        " set SERVICE_ADDRESS to the Connector's address"
    )


@dataclass
class ReadThroughRecords:
    """A RecordsRepository for the creation use cases; `clock`: epoch seconds (tests move it)."""

    table: ConnectorCopies
    connector: ConnectorRecords
    service_address: str
    cache_seconds: int
    clock: Callable[[], float] = field(default=time.time)
    _memory: dict[str, tuple[FileRecord | TemplateRecord, float]] = field(default_factory=dict, init=False)
    _address_checked: bool = field(default=False, init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)

    def get_file(self, file_id: str) -> FileRecord | None:
        record = self._get(file_id)
        return record if isinstance(record, FileRecord) else None

    def get_template(self, template_id: str) -> TemplateRecord | None:
        record = self._get(template_id)
        return record if isinstance(record, TemplateRecord) else None

    def _get(self, record_id: str) -> FileRecord | TemplateRecord | None:
        now = self.clock()
        remembered = self._memory.get(record_id)
        if remembered is not None and now < remembered[1]:
            return remembered[0]
        stored = self.table.get_stored(record_id)
        if stored is not None and stored.read_at is None:  # the tooling's: the Connector never replaces it
            return self._remember(stored.record, now + self.cache_seconds)
        if stored is not None and stored.read_at is not None and now < stored.read_at + self.cache_seconds:
            return self._remember(stored.record, stored.read_at + self.cache_seconds)
        return self._read_from_connector(record_id, now, had_copy=stored is not None)

    def _read_from_connector(self, record_id: str, now: float, *, had_copy: bool) -> FileRecord | TemplateRecord | None:
        self._check_address()
        copy = self.connector.record(record_id)
        if copy is not None and copy.owner is not None and copy.owner != self.service_address:
            self._mismatch(copy.owner)
        record = None if copy is None else copy.record
        if record is None:
            self._memory.pop(record_id, None)
            if had_copy:
                self.table.delete_connector_copy(record_id)
            return None
        if self.table.put_connector_copy(record, now) is None:
            # The tooling wrote this id meanwhile: its record wins.
            stored = self.table.get_stored(record_id)
            return None if stored is None else self._remember(stored.record, now + self.cache_seconds)
        return self._remember(record, now + self.cache_seconds)

    def _remember(self, record: FileRecord | TemplateRecord, until: float) -> FileRecord | TemplateRecord:
        with self._lock:
            if len(self._memory) >= MAX_REMEMBERED:
                self._memory.clear()
            self._memory[record.id] = (record, until)
        return record

    def _check_address(self) -> None:
        """Once per instance, before the first read from the Connector (an answer that matched is kept)."""
        if self._address_checked:
            return
        address = self.connector.address()
        if address is None:
            logger.warning("the Connector's API key may not read its identity: each own record's owner is checked")
        elif address != self.service_address:
            self._mismatch(address)
        self._address_checked = True

    def _mismatch(self, connector_address: str) -> None:
        logger.error(address_mismatch_message(self.service_address, connector_address))
        raise AddressMismatch(self.service_address, connector_address)

"""`nmshd-tokens records sync`: every own File and own RelationshipTemplate of the Connector into the records
table (SPEC §15), as the read-through stores them; Connector copies the Connector no longer has are removed, and
records of the tooling (add-*, import, seed) are kept as they are. Running it again changes nothing but the time
each copy was read."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from nmshd_tokens.storage.connector_client import ConnectorClient
from nmshd_tokens.storage.records_table import DynamoRecordsRepository
from nmshd_tokens.usecases.read_through import address_mismatch_message

from .errors import CommandError

PROGRESS_EVERY = 250  # records between progress lines


@dataclass
class SyncSummary:
    added: int = 0
    refreshed: int = 0
    removed: int = 0
    kept: int = 0  # the tooling's records with an id the Connector has too: never replaced

    def line(self) -> str:
        text = f"added {self.added}, refreshed {self.refreshed}, removed {self.removed}"
        return text + (f"; kept {self.kept} records of the tooling" if self.kept else "")


def sync(
    connector: ConnectorClient,
    table: DynamoRecordsRepository,
    service_address: str,
    *,
    progress: Callable[[str], None],
    clock: Callable[[], float] = time.time,
) -> SyncSummary:
    address = connector.address()  # None: the key may not read it; each record's owner is compared then
    if address is not None and address != service_address:
        raise CommandError(address_mismatch_message(service_address, address))
    summary = SyncSummary()
    seen: set[str] = set()
    for count, copy in enumerate(connector.own_records(), start=1):
        if copy.owner is not None and copy.owner != service_address:
            raise CommandError(address_mismatch_message(service_address, copy.owner))
        record = copy.record
        seen.add(record.id)
        outcome = table.put_connector_copy(record, clock())
        if outcome == "added":
            summary.added += 1
        elif outcome == "refreshed":
            summary.refreshed += 1
        else:
            summary.kept += 1
        if count % PROGRESS_EVERY == 0:
            progress(f"{count} records read from the Connector…")
    for record_id in table.connector_copy_ids():
        if record_id not in seen and table.delete_connector_copy(record_id):
            summary.removed += 1
    return summary

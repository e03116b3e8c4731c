"""The demo records of `serve`: one of each kind, written once, readable through the records repository."""

from __future__ import annotations

from nmshd_tokens.domain.files_and_templates import FileRecord, TemplateRecord
from nmshd_tokens.storage.records_table import DynamoRecordsRepository
from nmshd_tokens_local import seed


def test_seed_writes_one_record_of_each_kind_and_is_idempotent(records: DynamoRecordsRepository) -> None:
    demos = seed.seed(records)
    stored = {record.id: record for record in records.list_own_records()}
    assert set(stored) == {demo.record.id for demo in demos}
    assert isinstance(stored[seed.FILE_ID], FileRecord)
    templates = {record_id: record for record_id, record in stored.items() if isinstance(record, TemplateRecord)}
    assert templates[seed.OWN_TEMPLATE_ID].is_own and templates[seed.OWN_TEMPLATE_ID].password_protection is None
    assert templates[seed.PERSONALISED_TEMPLATE_ID].for_identity == seed.DEMO_FOR_IDENTITY
    assert templates[seed.PASSWORD_TEMPLATE_ID].password_protection.password == seed.DEMO_PASSWORD  # type: ignore[union-attr]
    pin = templates[seed.PIN_TEMPLATE_ID].password_protection
    assert pin is not None and (pin.password, pin.password_type, pin.location_indicator) == (seed.DEMO_PIN, "pin4", 2)
    assert templates[seed.PEER_TEMPLATE_ID].is_own is False

    seed.seed(records)  # a persistent table keeps the records of an earlier run (keys and all)
    again = {record.id: record for record in records.list_own_records()}
    assert again == stored

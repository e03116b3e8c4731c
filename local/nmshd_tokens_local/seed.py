"""Demo records for `serve`: one of each kind a user wants to try, under fixed ids so examples stay valid."""

from __future__ import annotations

from dataclasses import dataclass

from nmshd_tokens.domain.crypto import generate_key, generate_salt
from nmshd_tokens.domain.files_and_templates import FileRecord, StoredPasswordProtection, TemplateRecord
from nmshd_tokens.domain.password_protection import LocationIndicator
from nmshd_tokens.storage.records_table import DynamoRecordsRepository

DEMO_FOR_IDENTITY = "did:e:localhost:dids:0123456789abcdef012357"
DEMO_PASSWORD = "demo-password"  # noqa: S105 - printed at start-up on purpose: a local demo record
DEMO_PIN = "1234"


def _demo_id(prefix: str, name: str) -> str:
    """`FIL` + `demoFile` + zero padding + `1`: 20 characters, like every enmeshed id."""
    return prefix + name + "1".rjust(17 - len(name), "0")


FILE_ID = _demo_id("FIL", "demoFile")
OWN_TEMPLATE_ID = _demo_id("RLT", "demoOwn")
PERSONALISED_TEMPLATE_ID = _demo_id("RLT", "demoPersonal")
PASSWORD_TEMPLATE_ID = _demo_id("RLT", "demoPassword")
PIN_TEMPLATE_ID = _demo_id("RLT", "demoPin")
PEER_TEMPLATE_ID = _demo_id("RLT", "demoPeer")


@dataclass(frozen=True)
class DemoRecord:
    label: str
    record: FileRecord | TemplateRecord
    hint: str = ""  # what a user must send to get a token for it


def demo_records() -> list[DemoRecord]:
    """Fresh keys and salts every time; ids, passwords and PINs are fixed."""
    pin_protection = StoredPasswordProtection(
        DEMO_PIN, f"pin{len(DEMO_PIN)}", generate_salt(), int(LocationIndicator.Letter)
    )
    return [
        DemoRecord("File", FileRecord(FILE_ID, generate_key())),
        DemoRecord("own template", TemplateRecord(OWN_TEMPLATE_ID, generate_key())),
        DemoRecord(
            "personalised template",
            TemplateRecord(PERSONALISED_TEMPLATE_ID, generate_key(), for_identity=DEMO_FOR_IDENTITY),
            f'send "forIdentity": "{DEMO_FOR_IDENTITY}"',
        ),
        DemoRecord(
            "password template",
            TemplateRecord(
                PASSWORD_TEMPLATE_ID,
                generate_key(),
                password_protection=StoredPasswordProtection(DEMO_PASSWORD, "pw", generate_salt()),
            ),
            f"password {DEMO_PASSWORD}",
        ),
        DemoRecord(
            "PIN template",
            TemplateRecord(PIN_TEMPLATE_ID, generate_key(), password_protection=pin_protection),
            f"PIN {DEMO_PIN}, passwordLocationIndicator Letter",
        ),
        DemoRecord(
            "peer template",
            TemplateRecord(PEER_TEMPLATE_ID, generate_key(), is_own=False),
            "tokens are refused: 400 cannotCreateTokenForPeerTemplate",
        ),
    ]


def seed(records: DynamoRecordsRepository) -> list[DemoRecord]:
    """Write the demo records that are missing (a persistent table keeps the ones of an earlier run)."""
    demos = demo_records()
    for demo in demos:
        record = demo.record
        if isinstance(record, FileRecord):
            if records.get_file(record.id) is None:
                records.put_file(record)
        elif records.get_template(record.id) is None:
            records.put_template(record)
    return demos

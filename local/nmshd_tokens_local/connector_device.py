"""The Connector's own device, read from its database: what remote mode needs (README "Use it with your Connector").

A Connector keeps its identity and device in two maps of its database (MongoDB; LokiJS in debug mode), each entry a
`{"name", "value"}` document: `AccountInfo` holds `identity` (the address), `device` (its id and Backbone username)
and `baseKey` (the device's base key, in plain), and `DeviceSecrets` holds `device_credentials`, the username and
password encrypted with a key derived from the base key (libsodium's crypto_kdf, key id 1, context "DEVICE01") under
XChaCha20-Poly1305. This reads those four entries (mongosh's output, or a LokiJS database file) from stdin and prints
the Secrets Manager secret of remote mode; the address and device id go to stderr.

    mongosh … | BACKBONE_CLIENT_ID=… BACKBONE_CLIENT_SECRET=… python -m nmshd_tokens_local.connector_device
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from dataclasses import dataclass
from typing import Any

from nmshd_tokens.domain.algorithms import KEY_BYTES
from nmshd_tokens.domain.crypto import CryptoError, decrypt_content
from nmshd_tokens.domain.encoding import EncodingError, b64url_decode, b64url_encode

from .errors import CommandError, InputError

SECRET_CONTEXT = b"DEVICE01"  # DeviceSecretController.secretContext
SECRET_KEY_ID = 1
NAMES = ("identity", "device", "baseKey", "device_credentials")
MAPS = ("AccountInfo", "DeviceSecrets")
CLIENT_VARIABLES = ("BACKBONE_CLIENT_ID", "BACKBONE_CLIENT_SECRET")


@dataclass(frozen=True)
class ConnectorDevice:
    address: str
    device_id: str
    username: str
    password: str


def _entries(document: object) -> dict[str, Any]:
    """The maps' entries by name, from mongosh's list of `{name, value}` or a LokiJS file's collections."""
    if isinstance(document, dict) and isinstance(document.get("collections"), list):
        document = [
            entry
            for collection in document["collections"]
            if isinstance(collection, dict) and collection.get("name") in MAPS
            for entry in collection.get("data") or []
        ]
    if not isinstance(document, list):
        raise InputError("expected the Connector's entries: a JSON list of {name, value} or a LokiJS database file")
    entries = {e["name"]: e.get("value") for e in document if isinstance(e, dict) and isinstance(e.get("name"), str)}
    missing = [name for name in NAMES if not isinstance(entries.get(name), dict)]
    if missing:
        raise InputError(f"the Connector's entries lack {', '.join(missing)}")
    return entries


def _device_secret_key(base_key: str) -> bytes:
    """libsodium's crypto_kdf_derive_from_key: keyed BLAKE2b with the key id as salt and the context as person."""
    key = b64url_decode(base_key)
    if len(key) != KEY_BYTES:
        raise InputError("baseKey is not a 32-byte key")
    salt = SECRET_KEY_ID.to_bytes(8, "little")
    return hashlib.blake2b(b"", digest_size=32, key=key, salt=salt, person=SECRET_CONTEXT).digest()


def read_connector_device(document: object) -> ConnectorDevice:
    entries = _entries(document)
    try:
        key = _device_secret_key(entries["baseKey"]["key"])
        cipher = entries["device_credentials"]["cipher"]
        serialized = b64url_encode(json.dumps(cipher).encode("utf-8"))  # decrypt_content's form of a CryptoCipher
        credentials = json.loads(decrypt_content(serialized, key))
        found = ConnectorDevice(
            address=entries["identity"]["address"],
            device_id=entries["device"]["id"],
            username=credentials["username"],
            password=credentials["password"],
        )
    except CryptoError as exc:
        raise CommandError(f"device_credentials: {exc} (is baseKey from the same Connector?)") from None
    except (EncodingError, KeyError, TypeError, ValueError):
        raise InputError("the Connector's entries are not of the expected shape") from None
    if not all(isinstance(v, str) and v for v in vars(found).values()):
        raise InputError("the Connector's entries are not of the expected shape")
    return found


def backbone_secret(device: ConnectorDevice, client_id: str, client_secret: str) -> dict[str, str]:
    """The secret of `BackboneCredentialsSecretArn` (README "Remote mode")."""
    return {
        "clientId": client_id,
        "clientSecret": client_secret,
        "username": device.username,
        "password": device.password,
    }


def main() -> int:
    client = [os.environ.get(name, "") for name in CLIENT_VARIABLES]
    try:
        if not all(client):
            raise InputError(f"set {' and '.join(CLIENT_VARIABLES)} (the Connector's platformClientId and Secret)")
        try:
            document = json.load(sys.stdin)
        except ValueError:
            raise InputError("stdin is not a JSON document") from None
        device = read_connector_device(document)
    except CommandError as exc:
        print(f"connector_device: {exc}", file=sys.stderr)
        return exc.exit_status
    print(f"SERVICE_ADDRESS={device.address} SERVICE_DEVICE_ID={device.device_id}", file=sys.stderr)
    print(json.dumps(backbone_secret(device, client[0], client[1])))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

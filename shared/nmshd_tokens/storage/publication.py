"""The records table's part of a publication, and what a failed publication means (SPEC §8, §10).

Besides the token on its backbone, a publication writes the token's record (unless the token is ephemeral) and,
for a command (bulk creation), the command's record, always as the last item. The embedded backbone puts its own
token item first and writes them all in one transaction; after a remote Backbone published the token, the records
table writes its part alone (`write_publication`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..domain.tokens import Token
from ..usecases.ports import CommandAlreadyRecorded, TokenWrite
from .attributes import Item
from .dynamodb import NEW_ITEM, cancellation_codes, is_condition_failure, storage_errors
from .records_table import DynamoRecordsRepository

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.type_defs import TransactWriteItemTypeDef


def put_new(table: str, item: Item) -> TransactWriteItemTypeDef:
    """One conditional Put of a transaction: it fails (and with it the transaction) if the id is taken."""
    return {"Put": {"TableName": table, "Item": item, "ConditionExpression": NEW_ITEM}}


def command_already_recorded(exc: BaseException, write: TokenWrite, item_count: int) -> bool:
    """Whether a publication of `item_count` items failed because its command's record (the last item) exists.

    Then another delivery of the same command got there first; any other failed condition is not that.
    """
    if write.command is None:
        return False
    if item_count == 1:
        return is_condition_failure(exc)
    return cancellation_codes(exc)[-1:] == ["ConditionalCheckFailed"]


class PublicationRecords:
    """The records table's part of publishing a token (both backbones) and of revoking one (a remote Backbone)."""

    def __init__(self, records: DynamoRecordsRepository) -> None:
        self.records = records

    def items(self, write: TokenWrite, token: Token) -> list[TransactWriteItemTypeDef]:
        """The token's record (unless ephemeral), then the command's record (always last)."""
        table = self.records.table_name
        items = [put_new(table, self.records.token_item(token))] if write.keeps_record else []
        if write.command is not None:
            from .command_log import command_item  # only bulk creation writes commands: the API functions never load it

            items.append(put_new(table, command_item(write.command, token)))
        return items

    def write_publication(self, write: TokenWrite, token: Token) -> None:
        """This table's part after the token was published elsewhere (a remote Backbone): all of it or none."""
        items = self.items(write, token)
        client = self.records.client
        try:
            with storage_errors():
                if len(items) == 1:
                    client.put_item(**items[0]["Put"])
                elif items:
                    client.transact_write_items(TransactItems=items)
        except Exception as exc:
            if command_already_recorded(exc, write, len(items)):
                raise CommandAlreadyRecorded from None
            raise

    def delete_token(self, token_id: str) -> None:
        """The record's part of a revoke, after the remote Backbone deleted the token."""
        self.records.delete_token(token_id)

    def get_token(self, token_id: str) -> Token | None:
        """A kept token's record: what a remote Backbone's keyless page may tell (it never asks the Backbone)."""
        return self.records.get_token(token_id)

"""Errors of the local tooling, each with the exit status the CLI answers with, and remarks that do not stop it."""

from __future__ import annotations

import sys


def note(line: str) -> None:
    """A one-line remark on stderr that does not stop the command."""
    print(f"nmshd-tokens: {line}", file=sys.stderr, flush=True)


class CommandError(Exception):
    """The command could not do its job (exit 1): unreachable DynamoDB or backbone, a refused token, a taken port."""

    exit_status = 1


class InputError(CommandError):
    """The user's input is wrong (exit 2, like an argparse error). The message names the problem."""

    exit_status = 2

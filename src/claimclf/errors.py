"""Errors that users cause (bad files, bad options): the CLI prints them on one line."""

from __future__ import annotations

from pathlib import Path


class ClaimClfError(Exception):
    """An error the user can fix. ``str(err)`` is a one-line message."""


class InputError(ClaimClfError):
    """Bad input data; names the file and, where known, the line."""

    def __init__(self, path: str | Path | None, message: str, line: int | None = None):
        self.path = str(path) if path is not None else None
        self.line = line
        self.reason = message
        where = self.path or "<input>"
        if line is not None:
            where = f"{where}:{line}"
        super().__init__(f"{where}: {message}")

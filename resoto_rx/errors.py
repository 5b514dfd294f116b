"""Errors shared across the package."""

from __future__ import annotations


class UnknownIdError(KeyError):
    """Nothing with that id; the message names it and lists the known ones.

    A KeyError (lookups by id), but printed as the plain message rather than KeyError's quoted repr.
    """

    def __str__(self) -> str:
        return str(self.args[0])

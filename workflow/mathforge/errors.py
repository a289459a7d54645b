"""Errors that point at the exact place in the user's input that is wrong."""

from __future__ import annotations


class MathforgeError(Exception):
    """Base class for errors the pipeline reports to the user."""


class InputError(MathforgeError):
    """Bad input: names the file, the line or record, and what was expected."""

    def __init__(self, path: object, where: str | None, expected: str):
        self.path = str(path)
        self.where = where
        self.expected = expected
        location = f"{self.path}:{where}" if where else self.path
        super().__init__(f"{location}: {expected}")


class ConfigError(MathforgeError):
    """The configuration is inconsistent in a way the schema cannot express."""


class InferenceError(MathforgeError):
    """An inference request failed for good (after retries) or a server could not start."""

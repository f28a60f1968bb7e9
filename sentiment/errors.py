"""Errors a user can cause, each with the exit code the scripts return for it.

Scripts catch `SentimentError` and print its message as one line on stderr: no tracebacks for bad
input. Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations


class SentimentError(Exception):
    """Base class: a problem with the user's input, files or environment (exit code 1)."""

    exit_code = 1


class ModelError(SentimentError):
    """The model directory is missing, incomplete, corrupt or from a newer format (exit code 2)."""

    exit_code = 2


class DataError(SentimentError):
    """A data file is missing, malformed or fails its checksum (exit code 3)."""

    exit_code = 3


class InputError(SentimentError):
    """A text given to predict cannot be read, e.g. invalid UTF-8 (exit code 4)."""

    exit_code = 4


class OutputError(SentimentError):
    """The output directory cannot be written, or the disk is too full (exit code 5)."""

    exit_code = 5


class MissingBackendError(SentimentError):
    """An optional tokenizer backend is not installed (exit code 6)."""

    exit_code = 6

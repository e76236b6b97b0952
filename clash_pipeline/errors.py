"""One line for an error, wherever it surfaces: the CLI, an ingest outcome, the API."""

from __future__ import annotations


def one_line(error: BaseException, hint: bool = True) -> str:
    """The user error inside a Dagster failure, as one line: a `dg.Failure`'s description, an expected error
    (ours, a lookup, a value or an OS error) by its message alone, any other with its type (and, with `hint`, a
    pointer to `--verbose`)."""
    while (inner := getattr(error, "user_exception", None)) is not None:
        error = inner
    description = getattr(error, "description", None) if type(error).__module__.startswith("dagster") else None
    text = description or (str(error.args[0]) if isinstance(error, KeyError) and error.args else str(error))
    text = " ".join(text.split()) or type(error).__name__
    expected = description is not None or type(error).__module__.startswith("clash_pipeline") or isinstance(
        error, (LookupError, ValueError, OSError))
    return text if expected or not hint else f"{type(error).__name__}: {text} (--verbose for the traceback)"

"""Exception hierarchy: one root, specific subclasses that carry their context."""

from __future__ import annotations

from typing import Iterable, Sequence


class PlaybookError(Exception):
    """Root of every error the package raises on purpose."""

    exit_code: int = 1


class ArgumentError(PlaybookError, ValueError):
    """A function or CLI argument has a value outside its allowed set or range.

    Parameters
    ----------
    name : str
        The parameter's name.
    value : object
        The value received.
    allowed : str or sequence of str
        The allowed values, or a description of them.
    """

    exit_code = 2

    def __init__(self, name: str, value: object, allowed: str | Sequence[str]) -> None:
        if not isinstance(allowed, str):
            allowed = ", ".join(repr(a) for a in allowed)
        self.name, self.value, self.allowed = name, value, allowed
        super().__init__(f"`{name}` must be {allowed}; got {value!r}")


class UnknownKeyError(PlaybookError, KeyError):
    """A registry lookup failed; the message lists the known keys."""

    exit_code = 2

    def __init__(self, kind: str, key: str, known: Iterable[str]) -> None:
        self.kind, self.key, self.known = kind, key, sorted(known)
        super().__init__(key)

    def __str__(self) -> str:
        return f"unknown {self.kind} {self.key!r}; known: {', '.join(self.known) or '(none)'}"


class ContentError(PlaybookError):
    """The playbook content (YAML) is invalid.

    Each problem names the file, the entry and the field.
    """

    exit_code = 2

    def __init__(self, problems: Sequence[tuple[str, str, str, str]]) -> None:
        self.problems = list(problems)
        lines = [f"{f}: entry {e}: field {fld}: {why}" for f, e, fld, why in self.problems]
        super().__init__("invalid playbook content:\n  " + "\n  ".join(lines))


class DataValidationError(PlaybookError):
    """Input data failed the data contract; ``report`` holds every problem."""

    exit_code = 2

    def __init__(self, report: "object") -> None:
        self.report = report
        super().__init__(str(report))


class SourceError(PlaybookError):
    """An input source cannot be read at all (missing, unknown format, bad encoding)."""

    exit_code = 2

    def __init__(self, source: str, reason: str) -> None:
        self.source, self.reason = source, reason
        super().__init__(f"{source}: {reason}")


class RunError(PlaybookError):
    """A run (a briefing, a preparation step) failed; ``what`` names it."""

    exit_code = 1

    def __init__(self, what: str, reason: str) -> None:
        self.what, self.reason = what, reason
        super().__init__(f"{what}: {reason}")

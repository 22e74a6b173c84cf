"""Readable validation errors: pydantic's locations turned into paths like ``rules[2].match.employees``."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, ValidationError


def error_path(loc: tuple[int | str, ...]) -> str:
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc).lstrip(".")


def errors_with_paths(exc: ValidationError, *, root: str = "document") -> list[dict[str, str]]:
    """``[{"path": ..., "message": ...}]`` for each problem, with messages as sentences rather than codes."""
    errors = []
    for err in exc.errors():
        message = str(err["msg"]).removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            message = "is not a known field"
        elif err["type"] == "literal_error":
            message = f"{message}, got {err.get('input')!r}"
        errors.append({"path": error_path(err["loc"]) or root, "message": message})
    return errors


def iana_time_zone(value: str) -> str:
    """``value`` if it names an IANA time zone; a ValueError with an example otherwise."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    shown = repr(value) if len(value) <= 64 else repr(value[:61] + "...")
    # IANA names are short; a long or odd one makes zoneinfo look up odd file paths (OSError: name too long)
    if len(value) > 64 or "\x00" in value:
        raise ValueError(f"invalid time zone {shown}; use an IANA name such as 'Europe/Berlin'")
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ValueError(f"invalid time zone {shown}; use an IANA name such as 'Europe/Berlin'") from None
    return value


#: An annotation for time-zone fields of pydantic models.
TimeZone = Annotated[str, AfterValidator(iana_time_zone)]

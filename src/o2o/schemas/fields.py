"""Field types shared by the file schemas, and the error formatting that names a bad field's path."""

from __future__ import annotations

import decimal
from decimal import Decimal
from typing import Annotated, Any

import pydantic
from pydantic import BeforeValidator

from o2o.domain.errors import ValidationError
from o2o.schemas.toml_lines import line_of


def _decimal(value: Any) -> Decimal:
    if isinstance(value, bool | float):
        raise ValueError("not a decimal (write it as a string or a TOML number without float rounding)")
    if isinstance(value, Decimal):
        return value
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, str):
        try:
            result = Decimal(value.strip())
        except decimal.InvalidOperation:
            raise ValueError("not a decimal") from None
        if result.is_finite():
            return result
    raise ValueError("not a decimal")


DecimalField = Annotated[Decimal, BeforeValidator(_decimal)]


def _digits(value: Any) -> str:
    text = str(value).strip() if isinstance(value, str | int) and not isinstance(value, bool) else None
    if text is None or not text.isdigit():
        raise ValueError("digits only")
    return text


DigitsField = Annotated[str, BeforeValidator(_digits)]


def field_path(loc: tuple[int | str, ...]) -> str:
    """`('services', 1, 'rates', 4, 'price')` → `services[1].rates[4].price`."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "(document)"


def schema_error(
    source: str, exc: pydantic.ValidationError, lines: dict[tuple[int | str, ...], int] | None = None
) -> ValidationError:
    """One domain error, on one line, listing every bad field as `line N: path: message`.

    `lines` (from `toml_lines.key_lines` of the file's text) places each path; a path it cannot place,
    or a source with no text (a CSV row, a stored document), is named without a line.
    """
    found = []
    for err in exc.errors(include_url=False):
        loc = tuple(err["loc"])
        msg = " ".join(err["msg"].removeprefix("Value error, ").split())
        line = line_of(lines, loc) if lines is not None else None
        found.append(f"{'' if line is None else f'line {line}: '}{field_path(loc)}: {msg}")
    return ValidationError(f"{source}: " + "; ".join(found))

"""Where pydantic's paths are written in a TOML file: every form the agreement and operator files use."""

from __future__ import annotations

import tomllib

from o2o.schemas.toml_lines import key_lines, line_of

TEXT = """\
id = "AG-1"   # a comment with [brackets] and "quotes"
name = "it's # not a comment\\" ["
"quoted key" = 1
tolerance.relative = "0.01"

[[parties]]
operator = "ALFA"

[[parties]]
operator = "BETA"

[[services]]
id = "a"
rates = [
  { destination = "UK", price = "0.01" },  # first
  { destination = "UK", price = "0.02" },
  # an array's elements may stand on lines of their own, between comments
]
[services.increments]
first = 60

[[services]]
id = "b"
tags = [[1, 2], [3]]
notes = \"\"\"a [multi-line]
string = "not a key"
\"\"\"
destinations = [{ prefix = "44", name = "UK" }, { prefix = "49", name = "DE" }]

[[services.charges]]
name = "port"
"""


def test_every_path_is_placed_on_its_line() -> None:
    tomllib.loads(TEXT)  # the scanner reads documents tomllib accepts
    lines = key_lines(TEXT)
    expected = {
        ("id",): 1,
        ("name",): 2,
        ("quoted key",): 3,
        ("tolerance", "relative"): 4,
        ("parties", 0): 6,
        ("parties", 1, "operator"): 10,
        ("services", 0, "rates", 0, "price"): 15,
        ("services", 0, "rates", 1): 16,
        ("services", 0, "rates", 1, "price"): 16,
        ("services", 0, "increments", "first"): 20,
        ("services", 1, "tags", 1, 0): 24,
        ("services", 1, "destinations", 1, "prefix"): 28,
        ("services", 1, "charges", 0, "name"): 31,
    }
    assert {path: lines.get(path) for path in expected} == expected
    assert ("string",) not in lines  # inside a multi-line string


def test_a_path_not_written_is_placed_at_its_nearest_parent() -> None:
    lines = key_lines(TEXT)
    assert line_of(lines, ("services", 1, "kind")) == 22  # a missing field: the service's header
    assert line_of(lines, ("services", 0, "rates", 1, "price", "function-after[...]")) == 16
    assert line_of(lines, ("currency",)) is None


def test_what_the_scanner_does_not_follow_keeps_the_lines_before_it() -> None:
    lines = key_lines('id = "x"\nbad = {\nlater = 2\n')
    assert lines[("id",)] == 1 and ("later",) not in lines

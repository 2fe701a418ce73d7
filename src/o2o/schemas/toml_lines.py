"""Where each key and array element of a TOML document is written: its path → its line, for error messages.

`tomllib` gives values without positions, and pydantic reports a bad field by its path
(`services[1].rates[4].price`); this scanner walks the same text once more and records the line of every
path it meets: keys (dotted or quoted), `[table]` and `[[array of tables]]` headers (counted per parent,
so the second `[[services.rates]]` under the first `[[services]]` is `services[0].rates[1]`), and the
elements and keys of inline arrays and tables, over several lines or one. It reads documents `tomllib`
has already accepted; on anything it does not follow it stops and keeps what it found, so a path
it cannot place is reported without a line rather than with a wrong one.
"""

from __future__ import annotations

import contextlib

Path = tuple[int | str, ...]

_BARE = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")


class _Unfollowed(Exception):
    """The text goes where this scanner does not follow (it is not meant to validate TOML)."""


class _Scanner:
    def __init__(self, text: str) -> None:
        self.text = text
        self.at = 0
        self.line = 1
        self.lines: dict[Path, int] = {}
        self.tables: dict[Path, int] = {}  # an array of tables' path → the index of its last element

    def peek(self, n: int = 1) -> str:
        return self.text[self.at : self.at + n]

    def advance(self, n: int = 1) -> None:
        self.line += self.text.count("\n", self.at, self.at + n)
        self.at += n

    def expect(self, token: str) -> None:
        if self.peek(len(token)) != token:
            raise _Unfollowed(token)
        self.advance(len(token))

    def blank(self, newlines: bool) -> None:
        """Skip spaces, comments and (where the grammar allows) line breaks."""
        while self.at < len(self.text):
            c = self.peek()
            if c in " \t\r" or (newlines and c == "\n"):
                self.advance()
            elif c == "#":
                end = self.text.find("\n", self.at)
                self.advance((end if end >= 0 else len(self.text)) - self.at)
            else:
                return

    def record(self, path: Path) -> None:
        self.lines.setdefault(path, self.line)

    def key(self) -> tuple[str, ...]:
        parts = []
        while True:
            self.blank(False)
            c = self.peek()
            if c in ('"', "'"):
                start = self.at + 1
                end = self.text.find(c, start)
                if end < 0:
                    raise _Unfollowed("key")
                parts.append(self.text[start:end])
                self.advance(end + 1 - self.at)
            else:
                start = self.at
                while self.peek() and self.peek() in _BARE:
                    self.advance()
                if self.at == start:
                    raise _Unfollowed("key")
                parts.append(self.text[start : self.at])
            self.blank(False)
            if self.peek() != ".":
                return tuple(parts)
            self.advance()

    def string(self) -> None:
        quote = self.peek(3) if self.peek(3) in ('"""', "'''") else self.peek()
        self.advance(len(quote))
        while self.at < len(self.text):
            if quote[0] == '"' and self.peek() == "\\":
                self.advance(2)
            elif self.peek(len(quote)) == quote:
                self.advance(len(quote))
                return
            else:
                self.advance()
        raise _Unfollowed("string")

    def value(self, path: Path) -> None:
        c = self.peek()
        if c == "[":
            self.advance()
            index = 0
            while True:
                self.blank(True)
                if self.peek() == "]":
                    self.advance()
                    return
                self.record((*path, index))
                self.value((*path, index))
                self.blank(True)
                if self.peek() == ",":
                    self.advance()
                    index += 1
        elif c == "{":
            self.advance()
            while True:
                self.blank(False)
                if self.peek() == "}":
                    self.advance()
                    return
                self.pair(path)
                self.blank(False)
                if self.peek() == ",":
                    self.advance()
        elif c in ('"', "'"):
            self.string()
        else:
            start = self.at
            while self.peek() and self.peek() not in ",]}\n#":
                self.advance()
            if self.at == start:
                raise _Unfollowed("value")

    def pair(self, table: Path) -> None:
        path = (*table, *self.key())
        self.record(path)
        self.expect("=")
        self.blank(False)
        self.value(path)

    def header(self) -> Path:
        array = self.peek(2) == "[["
        self.advance(2 if array else 1)
        parts = self.key()
        self.expect("]]" if array else "]")
        table: Path = ()
        for part in parts[:-1]:
            table = (*table, part)
            if table in self.tables:
                table = (*table, self.tables[table])
        table = (*table, parts[-1])
        if array:
            self.tables[table] = self.tables.get(table, -1) + 1
            table = (*table, self.tables[table])
        self.record(table)
        return table

    def document(self) -> None:
        table: Path = ()
        while True:
            self.blank(True)
            if self.at >= len(self.text):
                return
            if self.peek() == "[":
                table = self.header()
            else:
                self.pair(table)


def key_lines(text: str) -> dict[Path, int]:
    """Every path the scanner could place in `text`, with the 1-based line it is written on."""
    scanner = _Scanner(text)
    # On what it does not follow, the lines found so far are kept; a later path is reported without one.
    with contextlib.suppress(_Unfollowed):
        scanner.document()
    return scanner.lines


def line_of(lines: dict[Path, int], path: Path) -> int | None:
    """The line of `path`, or of its nearest written parent (a model's error names the table)."""
    for end in range(len(path), 0, -1):
        found = lines.get(path[:end])
        if found is not None:
            return found
    return None

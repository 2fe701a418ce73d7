"""BER, read by hand where asn1tools would need the whole file: the outer TLVs of a batch, streamed.

A TAP file is one TransferBatch whose CallEventDetailList holds every call event, so decoding it with
asn1tools at once needs the file (and its decoded tree) in memory. `BerReader` walks the tag-length
headers of the outer levels over a buffered file and hands each inner element (a call event, the batch
control information …) to the caller as bytes: memory is bounded by the largest single element.

Indefinite lengths (X.690 8.1.3.6: `0x80`, contents closed by two zero octets): the outer levels are
walked in either form; every element handed out is first made definite (`definite`), the pre-pass the
decoder relies on, applied element by element so that it streams too. Every malformed or truncated
encoding is a `Tap3FormatError` naming the file and the byte offset.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from o2o.domain.errors import ImportRefusedError

INDEFINITE = -1
# How much is read from the file at a time: large enough that reads are few, small enough to be nothing.
_CHUNK = 1 << 20


class Tap3FormatError(ImportRefusedError):
    """A TAP/RAP file that is not well-formed BER (corrupt or truncated), or does not fit the grammar."""


@dataclass(frozen=True, slots=True)
class Header:
    """One TLV's identifier and length: `tag` is the identifier octets as written (class, form, number)."""

    tag: bytes
    constructed: bool
    length: int  # INDEFINITE when the contents end with end-of-contents octets
    size: int  # octets of identifier and length

    @property
    def number(self) -> int:
        """The tag number (the class bits are in `tag[0] & 0xC0`)."""
        if len(self.tag) == 1:
            return self.tag[0] & 0x1F
        number = 0
        for octet in self.tag[1:]:
            number = (number << 7) | (octet & 0x7F)
        return number


def parse_header(data: bytes | bytearray | memoryview, offset: int, end: int) -> Header | None:
    """The header at `offset` of `data` (which ends at `end`), or None when it runs past `end`."""
    if offset >= end:
        return None
    first = data[offset]
    pos = offset + 1
    if first & 0x1F == 0x1F:
        while True:
            if pos >= end:
                return None
            octet = data[pos]
            pos += 1
            if not octet & 0x80:
                break
    if pos >= end:
        return None
    tag = bytes(data[offset:pos])
    octet = data[pos]
    pos += 1
    if octet < 0x80:
        length = octet
    elif octet == 0x80:
        length = INDEFINITE
    else:
        count = octet & 0x7F
        if count > 8:
            raise ValueError(f"a length of {count} octets")
        if pos + count > end:
            return None
        length = int.from_bytes(data[pos : pos + count], "big")
        pos += count
    return Header(tag, bool(first & 0x20), length, pos - offset)


def _length_octets(length: int) -> bytes:
    if length < 0x80:
        return bytes((length,))
    body = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes((0x80 | len(body),)) + body


# No TAP or RAP structure nests more than a few dozen levels; deeper BER is corrupt (or hostile), refused by a
# count rather than by Python's recursion limit, which other libraries in the process may raise.
MAX_DEPTH = 100


def definite(element: bytes) -> bytes:
    """`element` (one complete TLV) with every indefinite length made definite; the same bytes when it has
    none. Raises ValueError when it is not well-formed."""
    if 0x80 not in element:  # no length octet can be 0x80: nothing to rewrite (a fast scan in C)
        return element
    out, end = _definite_at(element, 0, len(element))
    if end != len(element):
        raise ValueError(f"{len(element) - end} octets after the element")
    return out


def _definite_at(data: bytes, offset: int, end: int, depth: int = 0) -> tuple[bytes, int]:
    """The TLV at `offset` made definite, and the offset after it (its end-of-contents octets included)."""
    if depth > MAX_DEPTH:
        raise ValueError(f"elements nested more than {MAX_DEPTH} deep at offset {offset}")
    header = parse_header(data, offset, end)
    if header is None:
        raise ValueError(f"the element at offset {offset} is cut short")
    start = offset + header.size
    if header.length != INDEFINITE:
        stop = start + header.length
        if stop > end:
            raise ValueError(f"the element at offset {offset} runs past its container")
        if not header.constructed:
            return data[offset:stop], stop
        parts, pos = [], start
        while pos < stop:
            part, pos = _definite_at(data, pos, stop, depth + 1)
            parts.append(part)
        body = b"".join(parts)
        return header.tag + _length_octets(len(body)) + body, stop
    if not header.constructed:
        raise ValueError(f"the primitive element at offset {offset} has an indefinite length")
    parts, pos = [], start
    while True:
        if pos + 2 > end:
            raise ValueError(f"the element at offset {offset} has no end-of-contents octets")
        if data[pos] == 0 and data[pos + 1] == 0:
            body = b"".join(parts)
            return header.tag + _length_octets(len(body)) + body, pos + 2
        part, pos = _definite_at(data, pos, end, depth + 1)
        parts.append(part)


class BerReader:
    """Walks a BER file's TLVs in order over a buffer of `_CHUNK` octets: `header()` reads the next
    header, `element()` the whole next TLV as bytes (made definite), `skip()` passes one by."""

    def __init__(self, fh: BinaryIO, name: str) -> None:
        self.fh, self.name = fh, name
        self.buf = b""
        self.pos = 0  # in `buf`
        self.base = 0  # file offset of `buf[0]`

    @property
    def offset(self) -> int:
        """The file offset of the next octet to read."""
        return self.base + self.pos

    def error(self, message: str, offset: int | None = None) -> Tap3FormatError:
        return Tap3FormatError(
            f"{self.name}: {message} (at byte {self.offset if offset is None else offset})"
        )

    def _fill(self, need: int) -> bool:
        """At least `need` octets available from `pos`; False at the end of the file."""
        while len(self.buf) - self.pos < need:
            more = self.fh.read(max(_CHUNK, need))
            if not more:
                return False
            self.base += self.pos
            self.buf = self.buf[self.pos :] + more
            self.pos = 0
        return True

    def at_eof(self) -> bool:
        return not self._fill(1)

    def at_end_of_contents(self) -> bool:
        """Whether the next two octets close an indefinite-length element (they are then consumed)."""
        if self._fill(2) and self.buf[self.pos] == 0 and self.buf[self.pos + 1] == 0:
            self.pos += 2
            return True
        return False

    def peek_header(self) -> Header:
        """The next TLV's header, not consumed."""
        self._fill(16)
        try:
            header = parse_header(self.buf, self.pos, len(self.buf))
        except ValueError as exc:
            raise self.error(f"not a BER length: {exc}") from None
        if header is None:
            raise self.error("the file ends inside an element's header: it is truncated")
        return header

    def header(self) -> Header:
        """The next TLV's header, consumed (its contents are next)."""
        header = self.peek_header()
        self.pos += header.size
        return header

    def element(self, depth: int = 0) -> bytes:
        """The whole next TLV (header and contents), made definite."""
        start = self.offset
        if depth > MAX_DEPTH:
            raise self.error(f"corrupt BER: elements nested more than {MAX_DEPTH} deep", start)
        header = self.peek_header()
        if header.length == INDEFINITE:
            return self._indefinite_element(start, depth)
        size = header.size + header.length
        if not self._fill(size):
            raise self.error(
                f"the file ends inside an element of {header.length} octets: it is truncated", start
            )
        data = self.buf[self.pos : self.pos + size]
        self.pos += size
        try:
            return definite(data)
        except RecursionError:
            raise self.error("corrupt BER: elements nested too deeply", start) from None
        except ValueError as exc:
            raise self.error(f"corrupt BER: {exc}", start) from None

    def _indefinite_element(self, start: int, depth: int) -> bytes:
        """An indefinite-length TLV: its contents are read element by element up to end-of-contents."""
        header = self.header()
        if not header.constructed:
            raise self.error("corrupt BER: a primitive element with an indefinite length", start)
        parts = []
        while not self.at_end_of_contents():
            if self.at_eof():
                raise self.error("the file ends before an element's end-of-contents: it is truncated")
            parts.append(self.element(depth + 1))
        body = b"".join(parts)
        return header.tag + _length_octets(len(body)) + body

    def children(self, header: Header, what: str) -> Iterator[Header]:
        """The headers of a constructed element's children (its own header already read), one at a time,
        in either length form; the caller consumes each child before asking for the next."""
        if not header.constructed:
            raise self.error(f"corrupt BER: the {what} is not a constructed element")
        if header.length == INDEFINITE:
            while not self.at_end_of_contents():
                if self.at_eof():
                    raise self.error(f"the file ends inside the {what}: it is truncated")
                yield self.peek_header()
            return
        end = self.offset + header.length
        while self.offset < end:
            if self.at_eof():
                raise self.error(f"the file ends inside the {what}: it is truncated")
            child = self.peek_header()
            if child.length != INDEFINITE and self.offset + child.size + child.length > end:
                raise self.error(f"corrupt BER: an element runs past the end of the {what}")
            yield child
        if self.offset != end:
            raise self.error(f"corrupt BER: an element runs past the end of the {what}")

    def skip(self) -> None:
        """Pass over the next TLV."""
        header = self.peek_header()
        if header.length == INDEFINITE:
            self.element()
            return
        if not self._fill(header.size + header.length):
            raise self.error("the file ends inside an element: it is truncated")
        self.pos += header.size + header.length

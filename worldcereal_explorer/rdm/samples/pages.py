"""Parquet pages: the page index of a file (OffsetIndex) and stand-in pages for the pages a read skips.

pyarrow reads a column chunk as a whole (or streamed, page after page) and cannot be told to skip pages. A
file written with a page index (``write_page_index=True``) says where each data page starts and which rows
it holds. To read only the pages holding wanted rows, the column chunk pyarrow sees is made of the real
bytes of those pages (and the dictionary page) and, in place of every other data page, a stand-in of the
very same size: a small data page of as many null (or zero) values, followed by a page of a type readers
skip (an index page) filling the rest of the space. No byte of a skipped page is fetched, the file's
footer stays as it is, and the values of the wanted rows come out as pyarrow decodes them.

The footer fields pyarrow does not expose (where each column chunk's OffsetIndex lies) and the OffsetIndex
itself are Thrift compact-protocol structures, decoded here by a small generic reader.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

__all__ = ["PageLocation", "column_index_locations", "parse_offset_index", "stand_in_page"]

# Thrift compact protocol type ids.
_BOOL_TRUE, _BOOL_FALSE, _BYTE, _I16, _I32, _I64, _DOUBLE, _BINARY, _LIST, _SET, _MAP, _STRUCT = range(1, 13)


class ThriftError(ValueError):
    """Bytes that are not the Thrift structure expected."""


def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    shift = result = 0
    while True:
        if pos >= len(buf):
            raise ThriftError("truncated varint")
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7
        if shift > 70:
            raise ThriftError("varint too long")


def _zigzag(n: int) -> int:
    return (n >> 1) ^ -(n & 1)


def _value(buf: bytes, pos: int, kind: int) -> tuple[Any, int]:
    if kind == _BOOL_TRUE:
        return True, pos
    if kind == _BOOL_FALSE:
        return False, pos
    if kind == _BYTE:
        return buf[pos], pos + 1
    if kind in (_I16, _I32, _I64):
        raw, pos = _varint(buf, pos)
        return _zigzag(raw), pos
    if kind == _DOUBLE:
        return struct.unpack_from("<d", buf, pos)[0], pos + 8
    if kind == _BINARY:
        length, pos = _varint(buf, pos)
        return bytes(buf[pos:pos + length]), pos + length
    if kind in (_LIST, _SET):
        header = buf[pos]
        pos += 1
        size, element = header >> 4, header & 0x0F
        if size == 15:
            size, pos = _varint(buf, pos)
        items = []
        for _ in range(size):
            if element in (_BOOL_TRUE, _BOOL_FALSE):  # list elements carry bools as one byte
                items.append(buf[pos] == 1)
                pos += 1
            else:
                item, pos = _value(buf, pos, element)
                items.append(item)
        return items, pos
    if kind == _MAP:
        size, pos = _varint(buf, pos)
        if not size:
            return {}, pos
        types = buf[pos]
        pos += 1
        out = {}
        for _ in range(size):
            key, pos = _value(buf, pos, types >> 4)
            out[key], pos = _value(buf, pos, types & 0x0F)
        return out, pos
    if kind == _STRUCT:
        return read_struct(buf, pos)
    raise ThriftError(f"unknown Thrift compact type {kind}")


def read_struct(buf: bytes, pos: int = 0) -> tuple[dict[int, Any], int]:
    """One Thrift compact-protocol struct at ``pos``: ``({field id: value}, position after it)``."""
    fields: dict[int, Any] = {}
    last = 0
    while True:
        if pos >= len(buf):
            raise ThriftError("truncated struct")
        header = buf[pos]
        pos += 1
        if header == 0:
            return fields, pos
        delta, kind = header >> 4, header & 0x0F
        if delta:
            field = last + delta
        else:
            raw, pos = _varint(buf, pos)
            field = _zigzag(raw)
        fields[field], pos = _value(buf, pos, kind)
        last = field


def column_index_locations(footer: bytes) -> dict[tuple[int, int], tuple[int, int]]:
    """``{(row group, leaf column): (offset, length)}`` of every OffsetIndex the footer points to.

    ``footer`` is the serialized FileMetaData (without the trailing length and magic).
    """
    meta, _ = read_struct(footer)
    out = {}
    for i, group in enumerate(meta.get(4) or []):
        for j, chunk in enumerate(group.get(1) or []):
            if 4 in chunk and 5 in chunk:
                out[(i, j)] = (int(chunk[4]), int(chunk[5]))
    return out


@dataclass(frozen=True)
class PageLocation:
    """One data page of a column chunk: where it starts, its size with header, its first row."""

    offset: int
    size: int
    first_row: int


def parse_offset_index(data: bytes) -> list[PageLocation]:
    """The page locations of one serialized OffsetIndex."""
    fields, _ = read_struct(data)
    pages = [PageLocation(int(p[1]), int(p[2]), int(p[3])) for p in fields.get(1) or []]
    if any(b.first_row < a.first_row or b.offset < a.offset + a.size for a, b in zip(pages, pages[1:], strict=False)):
        raise ThriftError("page locations out of order")
    return pages


# --- writing: stand-in pages -----------------------------------------------------------------------------------

def _write_varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _i32_field(delta: int, value: int) -> bytes:
    return bytes([(delta << 4) | _I32]) + _write_varint((value << 1) ^ (value >> 63))


def _page_header(page_type: int, uncompressed: int, compressed: int, num_values: int | None = None) -> bytes:
    """A PageHeader: type, sizes, and for a data page (v1) its DataPageHeader (PLAIN values, RLE levels)."""
    out = _i32_field(1, page_type) + _i32_field(1, uncompressed) + _i32_field(1, compressed)
    if num_values is not None:
        # field 5 (data_page_header) follows field 3: delta 2; encoding PLAIN = 0, levels RLE = 3
        out += bytes([(2 << 4) | _STRUCT]) + _i32_field(1, num_values) + _i32_field(1, 0) + _i32_field(1, 3) \
            + _i32_field(1, 3) + b"\x00"
    return out + b"\x00"


_DATA_PAGE, _INDEX_PAGE = 0, 1
_CODECS = {"SNAPPY": "snappy", "ZSTD": "zstd", "GZIP": "gzip", "BROTLI": "brotli", "LZ4_RAW": "lz4_raw"}
_PLAIN_WIDTH = {"INT32": 4, "INT64": 8, "FLOAT": 4, "DOUBLE": 8, "BYTE_ARRAY": 4, "INT96": 12}


def _rle_zeros(count: int) -> bytes:
    """Definition levels (bit width 1): ``count`` zeros as one RLE run, length-prefixed (data page v1)."""
    run = _write_varint(count << 1) + b"\x00"
    return struct.pack("<I", len(run)) + run


def stand_in_page(size: int, num_values: int, *, compression: str, physical_type: str, max_definition_level: int,
                  max_repetition_level: int) -> bytes | None:
    """The head of ``size`` bytes that a Parquet reader decodes as ``num_values`` null (or zero) values; the
    rest of the ``size`` bytes are zeros (not returned: a skipped page costs no memory).

    A data page of nulls (optional columns) or of zero values (required fixed-width or byte-array columns)
    and the header of an index page, which readers skip, filling the rest. ``None`` when no stand-in fits in
    ``size`` or the column cannot have one (nested columns, an unsupported codec): then the real page is read.
    """
    if max_repetition_level or max_definition_level > 1:
        return None
    if max_definition_level == 1:
        payload = _rle_zeros(num_values)
    else:
        width = _PLAIN_WIDTH.get(physical_type)
        if width is None:
            return None
        payload = bytes(width * num_values)
    if compression == "UNCOMPRESSED":
        body = payload
    else:
        codec = _CODECS.get(compression)
        if codec is None or not pa.Codec.is_available(codec):
            return None
        body = pa.Codec(codec).compress(payload, asbytes=True)
    page = _page_header(_DATA_PAGE, len(payload), len(body), num_values) + body
    rest = size - len(page)
    if rest < 8:
        return None
    # The filler's header length depends on the varints of its own size: find the size that fits exactly.
    for header_guess in range(4, 20):
        filler = rest - header_guess
        header = _page_header(_INDEX_PAGE, filler, filler)
        if len(header) == header_guess:
            return page + header  # followed by `filler` zero bytes
    return None

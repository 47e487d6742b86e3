"""A minimal ZIP writer for stored members whose CRC-32 and size are known before they are written.

:mod:`zipfile` computes each member's CRC-32 itself, with the C library's
zlib, while it writes; gpunet computes the checksum once with the fastest CRC
available (:mod:`gpunet.io.storage.checksum`) straight from the array memory and
writes headers and data in one pass, which keeps large snapshots close to
raw disk speed.  The output is a plain ZIP (ZIP64 records where sizes,
offsets or counts need them) that :mod:`zipfile`, ``unzip`` and NumPy read.

Layout per member: local file header, name, optional ZIP64 extra field, data.
After the members: the central directory, then (when needed) the ZIP64 end
record and its locator, then the end-of-central-directory record.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import BinaryIO, Sequence

_LIMIT32 = 0xFFFFFFFF  # beyond this, sizes and offsets go to ZIP64 records
_LIMIT16 = 0xFFFF  # beyond this, the member count goes to the ZIP64 end record
_MASK32 = 0xFFFFFFFF  # also the "see the ZIP64 record" marker of 32-bit fields
_MASK16 = 0xFFFF
_DOS_DATE = (0 << 9) | (1 << 5) | 1  # 1980-01-01: fixed, so equal states give equal bytes
_DOS_TIME = 0
_UTF8_FLAG = 1 << 11


@dataclass
class _Entry:
    name: bytes
    flags: int
    crc: int
    size: int
    offset: int


class StoredZipWriter:
    """Write uncompressed members to ``stream``; call :meth:`close` to write the directory.

    ``stream`` needs only ``write``; offsets are counted here.

    Examples
    --------
    >>> import io, zipfile
    >>> from gpunet.io.storage.checksum import crc32
    >>> buffer = io.BytesIO()
    >>> writer = StoredZipWriter(buffer)
    >>> writer.add("a.txt", [b"hello"], crc32(b"hello"), 5)
    >>> writer.close()
    >>> zipfile.ZipFile(buffer).read("a.txt")
    b'hello'
    """

    def __init__(self, stream: BinaryIO) -> None:
        self.stream = stream
        self.offset = 0
        self.entries: list[_Entry] = []
        self.closed = False

    def _write(self, data: bytes) -> None:
        self.stream.write(data)
        self.offset += len(data)

    def add(self, name: str, chunks: Sequence, crc: int, size: int) -> None:
        """Write a member whose data is the concatenation of ``chunks`` (``size`` bytes, CRC-32 ``crc``)."""
        encoded = name.encode("utf-8")
        flags = 0 if encoded.isascii() else _UTF8_FLAG
        offset = self.offset
        zip64 = size >= _LIMIT32
        extra = struct.pack("<HHQQ", 0x0001, 16, size, size) if zip64 else b""
        stored_size = _MASK32 if zip64 else size
        header = struct.pack("<IHHHHHIIIHH", 0x04034B50, 45 if zip64 else 20, flags, 0, _DOS_TIME, _DOS_DATE,
                             crc & _MASK32, stored_size, stored_size, len(encoded), len(extra))
        self._write(header + encoded + extra)
        written = 0
        for chunk in chunks:
            view = memoryview(chunk).cast("B")
            self.stream.write(view)
            written += len(view)
        if written != size:
            raise ValueError(f"zip member {name!r}: {written} bytes written, {size} declared")
        self.offset += written
        self.entries.append(_Entry(encoded, flags, crc & _MASK32, size, offset))

    def close(self) -> None:
        """Write the central directory and the end records."""
        if self.closed:
            return
        start = self.offset
        for entry in self.entries:
            fields = []
            if entry.size >= _LIMIT32:
                fields += [entry.size, entry.size]
            if entry.offset >= _LIMIT32:
                fields.append(entry.offset)
            extra = struct.pack(f"<HH{len(fields)}Q", 0x0001, 8 * len(fields), *fields) if fields else b""
            size = _MASK32 if entry.size >= _LIMIT32 else entry.size
            offset = _MASK32 if entry.offset >= _LIMIT32 else entry.offset
            version = 45 if fields else 20
            record = struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, (3 << 8) | version, version, entry.flags, 0,
                                 _DOS_TIME, _DOS_DATE, entry.crc, size, size, len(entry.name), len(extra), 0, 0, 0,
                                 0o100644 << 16, offset)
            self._write(record + entry.name + extra)
        directory_size = self.offset - start
        count = len(self.entries)
        if count >= _LIMIT16 or start >= _LIMIT32 or directory_size >= _LIMIT32:
            end64 = self.offset
            self._write(struct.pack("<IQHHIIQQQQ", 0x06064B50, 44, 45, 45, 0, 0, count, count, directory_size,
                                    start))
            self._write(struct.pack("<IIQI", 0x07064B50, 0, end64, 1))
        entries = _MASK16 if count >= _LIMIT16 else count
        self._write(struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, entries, entries,
                                _MASK32 if directory_size >= _LIMIT32 else directory_size,
                                _MASK32 if start >= _LIMIT32 else start, 0))
        self.closed = True

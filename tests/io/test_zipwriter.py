"""The stored-member ZIP writer: readable by zipfile, ZIP64 records where needed, exact CRCs."""
import io
import zipfile

import numpy as np
import pytest

from gpunet.io.storage import checksum, zipwriter
from gpunet.io.storage.zipwriter import StoredZipWriter


def write(members: dict) -> bytes:
    buffer = io.BytesIO()
    writer = StoredZipWriter(buffer)
    for name, payload in members.items():
        parts = [payload[: len(payload) // 2], memoryview(payload)[len(payload) // 2:]]
        writer.add(name, parts, checksum.crc32(payload), len(payload))
    writer.close()
    return buffer.getvalue()


def test_members_read_back_with_zipfile_and_crcs_match():
    rng = np.random.default_rng(0)
    members = {"a.npy": rng.bytes(1000), "dir/b.bin": b"", "c": rng.bytes(70_000), "é.txt": b"utf-8 name"}
    with zipfile.ZipFile(io.BytesIO(write(members))) as archive:
        assert archive.testzip() is None
        assert archive.namelist() == list(members)
        for name, payload in members.items():
            assert archive.read(name) == payload
            assert archive.getinfo(name).CRC == checksum.crc32(payload)
            assert archive.getinfo(name).compress_type == zipfile.ZIP_STORED


@pytest.mark.parametrize("limit32, limit16", [(100, 0xFFFF), (0xFFFFFFFF, 3), (100, 3)])
def test_zip64_records_are_written_and_read(monkeypatch, limit32, limit16):
    # lowered limits force the ZIP64 paths (sizes, offsets, member counts) with small data
    monkeypatch.setattr(zipwriter, "_LIMIT32", limit32)
    monkeypatch.setattr(zipwriter, "_LIMIT16", limit16)
    members = {f"m{k}": bytes([k]) * (50 * k + 1) for k in range(6)}
    data = write(members)
    monkeypatch.undo()
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.testzip() is None
        assert {n: archive.read(n) for n in archive.namelist()} == members


def test_declared_size_must_match_the_data():
    writer = StoredZipWriter(io.BytesIO())
    with pytest.raises(ValueError, match="3 bytes written, 4 declared"):
        writer.add("x", [b"abc"], checksum.crc32(b"abc"), 4)


def test_equal_content_gives_equal_bytes():
    members = {"a": b"12345", "b": b"678"}
    assert write(members) == write(members)


def test_checksum_matches_zlib():
    import zlib
    data = np.random.default_rng(1).bytes(100_000)
    assert checksum.crc32(data) == zlib.crc32(data)
    assert checksum.crc32(data[50:], checksum.crc32(data[:50])) == zlib.crc32(data)


def test_checksum_falls_back_to_zlib(monkeypatch):
    import zlib
    monkeypatch.setattr(checksum, "_fast", None)
    assert checksum.crc32(b"gpunet") == zlib.crc32(b"gpunet")

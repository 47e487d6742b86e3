"""Byte-level helpers under every io file: atomic commit, temporaries, writeback, zip writer, CRC-32, read budgets."""

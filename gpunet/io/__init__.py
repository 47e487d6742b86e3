"""Saving and loading: parameters, complete state, formats, snapshots.

Laid out by role (docs/architecture.md, "io, by role"): the entry points here
(api, parameters, snapshots, check, state_diff, recordings, ...); below them
``formats/`` (one module per file format, ``formats/pickled/`` for ANNarchy's
pickles and their restricted unpickler), ``pipeline/`` (state data, gather,
staging, the save queue, restore) and ``storage/`` (byte-level helpers).
"""

"""Saving and loading: parameters, complete state, formats, snapshots."""

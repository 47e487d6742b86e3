"""Subcommands of the ``gpunet`` command line (one module each)."""

"""Helpers for testing code that uses gpunet, reusable outside gpunet's own tests.

:mod:`gpunet.testing.cupy_standin` is a strict NumPy-backed stand-in for CuPy
that runs GPU code paths on a machine without a GPU.
"""

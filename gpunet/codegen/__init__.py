"""Code generation from parsed models, by role.

``plan.py`` and ``printers.py`` are shared by both targets; ``numpy/`` is the
array-code target (NumPy or CuPy), ``cuda/`` the CUDA C target; ``runtime/``
runs generated kernels (calling contract, CuPy and host C++ launchers, runners).
"""

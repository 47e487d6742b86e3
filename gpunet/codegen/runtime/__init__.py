"""Running generated kernels: the calling contract, the CuPy and host C++ launchers, the step runners."""

"""Code generation: array code (NumPy/CuPy) and CUDA kernels from parsed models."""

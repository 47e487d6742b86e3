"""CUDA C sources and templates of gpunet's kernels (package data, read with importlib.resources)."""

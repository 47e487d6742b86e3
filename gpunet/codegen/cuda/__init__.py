"""The CUDA target: CUDA C of a parsed model (kernels, templates) and the nvcc compile check."""

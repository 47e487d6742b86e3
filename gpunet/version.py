"""The version of gpunet."""
__version__ = "0.1.0"

"""``cupyx.scipy`` of the stand-in."""
from gpunet.testing.cupy_standin.cupyx.scipy import sparse

__all__ = ["sparse"]

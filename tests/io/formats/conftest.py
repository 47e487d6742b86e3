"""Format tests, one file per module of gpunet/io/formats; they share tests/io's helpers."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

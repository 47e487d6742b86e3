"""ANNarchy's pickle formats (.txt, .gz) beside their restricted unpickler (opcode scan, allow-list loader)."""

"""The NumPy target: array code (NumPy or CuPy) generated from a parsed model, compiled to Python functions."""

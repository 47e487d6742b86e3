"""``cupy.cuda.compiler`` of the stand-in."""


class CompileException(Exception):
    """The CUDA source did not compile (nvcc's log is the message)."""

    def __init__(self, message: str, source: str = "", name: str = "", options: tuple = ()) -> None:
        super().__init__(message)
        self.source, self.name, self.options = source, name, options

    def get_message(self) -> str:
        return str(self)

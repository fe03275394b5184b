"""Writing an emulator's state file so that no reader ever sees a torn one.

`write_atomically` writes the text to a temporary file beside the target and renames it over
the target. `tempfile.mkstemp` creates the file 0600 (state files hold secrets) and
`os.replace` keeps that mode and is atomic, so a reader (or a killed emulator) sees the old
file or the new one. No fsync: this guards against the emulator dying, not against power loss.
Both the Elasticsearch emulator (`elasticsearch/persistence.py`) and the Hugging Face
Endpoints API (`huggingface/endpoints_api.py`) save their state this way.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

__all__ = ["write_atomically"]


def write_atomically(path: Path, text: str, *, prefix: str, suffix: str = ".tmp") -> None:
    """Put `text` (UTF-8) in place of `path`; the temporary file is `<prefix>…<suffix>`."""
    fd, temp = tempfile.mkstemp(prefix=prefix, suffix=suffix, dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(text.encode("utf-8"))
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise

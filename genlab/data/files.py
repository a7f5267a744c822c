"""Reading the user's own files safely: a size limit, clear messages, nothing written elsewhere."""

from __future__ import annotations

import os
from pathlib import Path


def max_upload_bytes() -> int:
    """The upload size limit, `GENLAB_MAX_UPLOAD_MB` (default 50 MB)."""
    return int(float(os.environ.get("GENLAB_MAX_UPLOAD_MB", "50")) * 1024 * 1024)


def read_upload(path: str | os.PathLike) -> bytes:
    p = Path(path)
    if not p.exists():
        raise ValueError(f"file not found: {p}")
    if p.is_dir():
        raise ValueError(f"{p} is a folder; this dataset needs a file")
    size = p.stat().st_size
    if size > max_upload_bytes():
        raise ValueError(
            f"{p.name} is {size / 2**20:.1f} MB, over the upload limit of "
            f"{max_upload_bytes() / 2**20:.0f} MB (GENLAB_MAX_UPLOAD_MB)"
        )
    if size == 0:
        raise ValueError(f"{p.name} is empty")
    return p.read_bytes()


def decode_text(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise ValueError(f"the file is not UTF-8 text (invalid byte at offset {e.start})") from None

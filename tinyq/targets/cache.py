"""tinyq's own cache directory ($TINYQ_CACHE, default ~/.cache/tinyq): PlatformIO core, built plugins."""
import os
from pathlib import Path


def cache_dir() -> Path:
    return Path(os.environ.get("TINYQ_CACHE") or Path.home() / ".cache" / "tinyq")

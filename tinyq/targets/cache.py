"""tinyq's own cache directory: $TINYQ_CACHE, else the OS's user cache directory for tinyq (platformdirs:
~/.cache/tinyq on Linux or $XDG_CACHE_HOME/tinyq, ~/Library/Caches/tinyq on macOS, %LOCALAPPDATA%\\tinyq\\Cache
on Windows). It holds the instruction-counting QEMU plugin and the host compiler's object cache."""
import os
from pathlib import Path


def cache_dir() -> Path:
    if os.environ.get("TINYQ_CACHE"):
        return Path(os.environ["TINYQ_CACHE"])
    import platformdirs

    return Path(platformdirs.user_cache_dir("tinyq", appauthor=False))

"""PlatformIO dev-platform class of tinyq's offline bare-metal platform (all logic is in builder/main.py)."""
from platformio.public import PlatformBase


class TinyqarmPlatform(PlatformBase):
    pass

"""Which kernels a generated model.c calls, by TFLite layer: a layer run in bands (tinyq.patch) calls its kernel
once per band, so the kernel tests count layers, not calls."""
import re


def layers_calling(model_c: str, *symbols: str) -> int:
    """The number of TFLite layers whose call(s) run `symbol` (given with or without its "("), or any of several."""
    name = "(?:" + "|".join(re.escape(s.rstrip("(")) for s in symbols) + ")"
    return len(set(re.findall(rf"/\* Call \d+, layer (\d+): [A-Z0-9_]+ -> {name},", model_c)))

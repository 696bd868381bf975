"""Reads what a real board's harness prints on its UART after `tinyq flash`.

Consumes the console text (TINYQ_OUTPUT <k> <hex> lines, then TINYQ_STATUS <status>, from
templates/main.c.j2 on boards without semihosting) and the manifest; produces one (1, *user_shape)
array per output, keyed by tensor name, like RunResult.outputs for one all-zero sample.
"""
from __future__ import annotations

import re

import numpy as np

from tinyq.errors import RunError
from tinyq.io import from_batch
from tinyq.targets.manifest import Manifest

_OUTPUT = re.compile(r"^TINYQ_OUTPUT (\d+) ([0-9a-f]*)\r?$", re.MULTILINE)
_STATUS = re.compile(r"^TINYQ_STATUS (-?\d+)\r?$", re.MULTILINE)


def parse_console(text: str, manifest: Manifest) -> dict[str, np.ndarray]:
    """Outputs printed by the embedded harness; RunError if it reported a bad status or printed too little."""
    outputs = {}
    for raw, t in zip(output_bytes(text, manifest), manifest.outputs):
        batch = np.frombuffer(raw, np.dtype(t.dtype).newbyteorder("<")).astype(t.dtype).reshape((1, *t.shape))
        outputs[t.name] = from_batch(batch, t)
    return outputs


def output_bytes(text: str, manifest: Manifest) -> list[bytes]:
    """Each output's raw bytes, from the harness's lines for one sample; RunError as parse_console."""
    status = _STATUS.search(text)
    if status is None:
        raise RunError("the board's console shows no TINYQ_STATUS line (harness did not finish?)")
    if int(status.group(1)) == -1:
        raise RunError("the board refused the sample's precision level")
    if int(status.group(1)) != 0:
        raise RunError(f"the model returned error status {status.group(1)} on the board")
    printed = {int(k): bytes.fromhex(h) for k, h in _OUTPUT.findall(text)}
    raws = []
    for k, t in enumerate(manifest.outputs):
        raw = printed.get(k)
        if raw is None or len(raw) != t.bytes:
            raise RunError(f"the board's console shows no complete TINYQ_OUTPUT {k} ({t.bytes} bytes expected)")
        raws.append(raw)
    return raws

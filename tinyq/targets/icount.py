"""Exact instruction counts per model invoke and per layer, on QEMU with tinyq's TCG plugin.

Consumes a project for an emulated board and optional input arrays (default: one all-zero
sample). Builds the "profile" env (-DTQ_PROFILE: marker calls around each invoke and kernel
call), builds firmware/plugin/tqcount.c into the cache once per source version, runs the firmware
under `-icount shift=0 -plugin ...` and produces InstructionCounts. These are guest instructions,
not cycles (QEMU models no pipeline or memory timing); repeated runs give identical numbers.
Each count also comes split by instruction class (firmware/plugin/tqclass.h): the classes of an
interval sum to its instruction count exactly; tinyq.bench.cycles turns them into estimated cycles.
"""
from __future__ import annotations

import dataclasses
import hashlib
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tinyq.errors import BuildError, RunError
from tinyq.io import load_inputs
from tinyq.resources import data_dir
from tinyq.targets import process
from tinyq.targets.build import BUILD_TIMEOUT, build_project, project_board
from tinyq.targets.cache import cache_dir
from tinyq.targets.manifest import read_manifest
from tinyq.targets.run import RUN_TIMEOUT, pack_inputs, run_binary

MARKERS = ("invoke_begin", "invoke_end", "layer_begin", "layer_end")  # plugin argument = tq_prof_<marker>
_LAYER = re.compile(r"^tqcount layer (\d+) (\d+) insns (\d+)$", re.MULTILINE)
_INVOKE = re.compile(r"^tqcount invoke (\d+) insns (\d+)$", re.MULTILINE)
_LAYER_CLASSES = re.compile(r"^tqcount layer-classes (\d+) (\d+) (.*)$", re.MULTILINE)
_INVOKE_CLASSES = re.compile(r"^tqcount invoke-classes (\d+) (.*)$", re.MULTILINE)
_TOTAL = re.compile(r"^tqcount total insns (\d+)$", re.MULTILINE)
_STACK = re.compile(r"^tinyq-stack (\d+)\s*$", re.MULTILINE)  # printed by the profile harness (main.c.j2)
_STACK_TOTAL = re.compile(r"^tinyq-stack-total (\d+)\s*$", re.MULTILINE)


@dataclass(frozen=True)
class InstructionCounts:
    board: str
    invokes: tuple[int, ...]  # instructions of each invoke, one per sample
    layers: tuple[tuple[int, ...], ...]  # per sample: instructions of each TQ_LAYER_BEGIN/END pair, in order
    total: int  # the whole run, reset to exit (file I/O included)
    stack_used: int | None = None  # measured peak stack of one invoke, from the caller's SP (stack painting)
    stack_total: int | None = None  # measured stack of the whole harness run, from the top of the reserve
    # per sample, per layer: instruction class -> count, plus the extra counters (tqclass.h names);
    # the classes (not the extras) of each entry sum to the matching count above
    layer_classes: tuple[tuple[dict[str, int], ...], ...] = ()
    invoke_classes: tuple[dict[str, int], ...] = ()


def plugin_path() -> Path:
    """Build (once per source version) and return the tqcount plugin shared object."""
    source = data_dir("firmware") / "plugin" / "tqcount.c"
    header = source.with_name("tqclass.h")  # the instruction classifier it includes
    digest = hashlib.sha256(source.read_bytes() + header.read_bytes()).hexdigest()[:16]
    target = cache_dir() / "plugins" / digest / "libtqcount.so"
    if target.is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, suffix=".so")
    os.close(fd)
    done = process.run(["gcc", "-shared", "-fPIC", "-O2", "-Wall", "-Wextra", "-Werror", "-o", tmp, source],
                       timeout=120)
    if done.returncode != 0:
        os.unlink(tmp)
        raise BuildError(f"building the QEMU counting plugin {source} failed: {done.output.strip()[:300]}")
    os.replace(tmp, target)  # atomic: concurrent builders never see a half-written plugin
    return target


def marker_addresses(elf: Path) -> dict[str, int]:
    from elftools.elf.elffile import ELFFile

    wanted = {f"tq_prof_{m}": m for m in MARKERS}
    found = {}
    with open(elf, "rb") as f:
        symtab = ELFFile(f).get_section_by_name(".symtab")
        for sym in symtab.iter_symbols() if symtab else ():
            if sym.name in wanted and sym["st_info"]["type"] == "STT_FUNC":
                found[wanted[sym.name]] = sym["st_value"] & ~1
    if "invoke_begin" not in found or "invoke_end" not in found:
        raise BuildError(f"{elf} has no tq_prof_invoke_* markers: was it built with -DTQ_PROFILE?")
    return found


def parse_counts(board: str, log: str, samples: int) -> InstructionCounts:
    invokes = [(int(k), int(n)) for k, n in _INVOKE.findall(log)]
    if [k for k, _ in invokes] != list(range(samples)):
        raise RunError(f"the counting plugin reported {len(invokes)} invokes for {samples} samples")
    layers: list[list[int]] = [[] for _ in range(samples)]
    for k, i, n in _LAYER.findall(log):
        if int(i) != len(layers[int(k)]):
            raise RunError(f"the counting plugin reported layers out of order in invoke {k}")
        layers[int(k)].append(int(n))
    layer_classes: list[list[dict[str, int]]] = [[] for _ in range(samples)]
    for k, i, fields in _LAYER_CLASSES.findall(log):
        if int(i) == len(layer_classes[int(k)]):
            layer_classes[int(k)].append(_fields(fields))
    invoke_classes = [_fields(fields) for _, fields in sorted(_INVOKE_CLASSES.findall(log), key=lambda m: int(m[0]))]
    total = _TOTAL.search(log)
    return InstructionCounts(
        board=board,
        invokes=tuple(n for _, n in invokes),
        layers=tuple(tuple(ls) for ls in layers),
        total=int(total.group(1)) if total else 0,
        layer_classes=tuple(tuple(ls) for ls in layer_classes),
        invoke_classes=tuple(invoke_classes),
    )


def _fields(text: str) -> dict[str, int]:
    return {name: int(value) for name, value in (f.split("=") for f in text.split())}


def count_instructions(project_dir: Path | str, arrays=None, *, timeout: float = RUN_TIMEOUT,
                       build_timeout: float = BUILD_TIMEOUT, level: int | None = None,
                       state: str = "keep") -> InstructionCounts:
    """Exact instructions per invoke and per layer for PROJECT_DIR's model (its `level`, of a multi-level
    image) on its emulated board; the samples are consecutive invokes (`state`: tinyq.targets.run.run_binary)."""
    project_dir = Path(project_dir).resolve()
    manifest = read_manifest(project_dir)
    board = project_board(manifest, project_dir)
    if not board.emulated:
        raise RunError(f"instruction counting needs an emulated board; {board.name} is {board.kind}")
    if arrays is None:
        batches = [np.zeros((1, *t.shape), t.dtype) for t in manifest.inputs]
    else:
        if isinstance(arrays, (list, tuple)):
            arrays = {f"input_{k}": a for k, a in enumerate(arrays)}
        batches = load_inputs(arrays, manifest.inputs)
    samples = batches[0].shape[0]
    elf = build_project(project_dir, profile=True, timeout=build_timeout).artifact
    plugin_args = ",".join(f"{m}=0x{a:x}" for m, a in marker_addresses(elf).items())
    with tempfile.TemporaryDirectory(prefix="tinyq-icount-") as tmp:
        log_file = Path(tmp) / "tqcount.log"
        extra = ("-icount", "shift=0", "-plugin", f"{plugin_path()},{plugin_args}", "-d", "plugin", "-D", log_file)
        _, done = run_binary(board, elf, pack_inputs(manifest, batches), timeout=timeout, qemu_extra=extra,
                             level=level, state=state)
        log = log_file.read_text(encoding="utf-8") if log_file.is_file() else ""
    counts = parse_counts(board.name, log, samples)
    stack, total = _STACK.search(done.output), _STACK_TOTAL.search(done.output)
    return dataclasses.replace(counts, stack_used=int(stack.group(1)) if stack else None,
                               stack_total=int(total.group(1)) if total else None)

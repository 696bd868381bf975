"""The compile stage: .tflite -> generated sources + manifest (+ the board's project files).

read_model -> lower -> plan_memory -> emit_sources -> tinyq.json -> targets.project.write_project
"""
from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path

from tinyq.boards import STACK_MARGIN_BYTES
from tinyq.emit.c_literals import is_c_identifier
from tinyq.emit.emitter import LevelCode, emit_levels, emit_sources
from tinyq.errors import DoesNotFit, InputError
from tinyq.kernel_select import board_features, board_isa, select_kernels
from tinyq.lower import lower
from tinyq.patch import PatchReport, parse_patch, patch_program
from tinyq.planner import MemoryPlan, plan_memory
from tinyq.program import Program
from tinyq.specialize import specialize
from tinyq.tflite_reader import read_model

MANIFEST = "tinyq.json"

# What the firmware needs besides the model's plan, as lower bounds measured on the dummy model's builds
# (tests/firmware/dummy.py): start-up, harness and console code (newlib stdio + semihosting on QEMU, a bare
# UART on real boards), the code of each kernel call, and the harness's other static RAM. Lower bounds, so
# compile refuses only what cannot fit; `tinyq build` checks the linked ELF exactly.
CODE_BYTES = {"emulated": 13_000, "real": 2_200}
CODE_PER_CALL = 128
OTHER_RAM_BYTES = {"emulated": 850, "real": 32}


@dataclass(frozen=True)
class CompileResult:
    out_dir: Path
    program: Program
    plan: MemoryPlan
    files: tuple[Path, ...]
    note: str = ""  # how auto adapted to the board, if it had to
    patching: PatchReport | None = None  # the chains run in bands (tinyq.patch), None for precision levels
    lowered: Program | None = None  # the program before tinyq.specialize (its records' geometry gives MACs)


def _tensor_entry(t) -> dict:
    return {
        "name": t.name, "index": t.index, "shape": list(t.shape), "dtype": t.dtype,
        "scale": t.scale, "zero_point": t.zero_point, "bytes": t.nbytes,
    }


def manifest(program: Program, plan: MemoryPlan, board: str, prefix: str, model_name: str, variants,
             patching: PatchReport | None = None) -> dict:
    from tinyq.encode.apply import weight_report

    stored = {w.call: {"encoding": w.encoding, "bytes": w.nbytes, "int8_bytes": w.int8_bytes}
              for w in weight_report(program)}
    wide = dict(widened_layers(program))
    return {
        "tinyq_version": __import__("tinyq").__version__,
        "model": model_name,
        "model_sha256": program.model_sha256,
        "board": board,
        "prefix": prefix,
        "inputs": [_tensor_entry(program.tensor(i)) for i in program.inputs],
        "outputs": [_tensor_entry(program.tensor(i)) for i in program.outputs],
        "plan": {"arena_bytes": plan.arena_bytes, "scratch_bytes": plan.scratch_bytes,
                 "weight_bytes": plan.weight_bytes, "io_bytes": plan.io_bytes, "state_bytes": plan.state_bytes,
                 "io": "arena" if plan.io_in_arena else "caller",
                 "weight_bytes_int8": plan.weight_bytes + sum(w["int8_bytes"] - w["bytes"] for w in stored.values()),
                 "widened_weight_bytes": sum(wide.values())},
        "layers": [
            {"call": k, "layer": c.layer, "op": c.opcode, "kernel": c.kernel,
             "implementation": v.symbol if v else c.kernel,
             "name": program.tensor(c.outputs[0]).name if c.outputs else "",
             **({"weights": stored[k]} if k in stored else {}),
             **({"weights_layout": "int16", "widened_extra_bytes": wide[k]} if k in wide else {})}
            for k, (c, v) in enumerate(zip(program.calls, variants))
        ],
        **({"patch": {"chains": [{"layers": list(p.layers), "bands": p.bands, "extra_macs": p.extra_macs}
                                 for p in patching.patches],
                      "macs": patching.macs, "extra_macs": patching.extra_macs,
                      "arena_bytes_unpatched": patching.arena_before}} if patching is not None else {}),
    }


# --weights-layout: how the prepared DSP kernels store int8 weights. int16: widened at compile time in the order the
# inner loop consumes them (no SXTB16 there; twice the flash of those layers); int8: as they are; auto: int16 where
# the image still fits the board's flash, else int8.
WEIGHTS_LAYOUTS = ("auto", "int8", "int16")


def check_weights_layout(layout: str) -> None:
    if layout not in WEIGHTS_LAYOUTS:
        raise InputError(f"--weights-layout '{layout}': expected one of {', '.join(WEIGHTS_LAYOUTS)}")


def widened_layers(program: Program) -> list[tuple[int, int]]:
    """(call index, extra flash bytes) of each call whose prepared weights are widened to int16."""
    return [(k, int(c.weights.nbytes) // 2) for k, c in enumerate(program.calls) if getattr(c, "_wide", False)]


def check_prefix(prefix: str) -> None:
    if not is_c_identifier(prefix):
        raise InputError(f"--prefix '{prefix}' is not a C identifier (letters, digits, _; not a keyword)")
    if prefix.lower() == "tq" or prefix.lower().startswith("tq_"):
        raise InputError(f"--prefix '{prefix}': names starting with tq_ belong to tinyq's kernel library")


def check_fit(model_name: str, program: Program, plan: MemoryPlan, board, calls: int | None = None) -> None:
    """Refuse a model that cannot fit the board, naming flash and RAM with their sizes (the host has no limit).
    `calls`: the image's kernel calls when it holds several levels (default: the program's)."""
    if board.is_host:
        return
    calls = len(program.calls) if calls is None else calls
    weights, code = plan.weight_bytes, CODE_BYTES[board.kind] + CODE_PER_CALL * calls
    other = OTHER_RAM_BYTES[board.kind]
    ram = plan.arena_bytes + plan.io_bytes + plan.state_bytes + STACK_MARGIN_BYTES + other  # the stack's lower bound
    state = f" + state {plan.state_bytes:,}" if plan.state_bytes else ""
    ram_part = (f"RAM needs ~{ram:,} B (arena {plan.arena_bytes:,} + I/O {plan.io_bytes:,}{state} + stack at least "
                f"{STACK_MARGIN_BYTES:,} + other ~{other:,}) of {board.ram.size:,} B")
    if board.weights:  # weights have a region of their own; flash holds the code
        needs = [("flash", code, f"flash needs ~{code:,} B (code) of {board.flash.size:,} B", board.flash.size),
                 ("weight region", weights, f"weight region needs {weights:,} B (weights) of {board.weights.size:,} B",
                  board.weights.size)]
    else:
        needs = [("flash", weights + code, f"flash needs ~{weights + code:,} B (weights {weights:,} B + code "
                  f"~{code:,} B) of {board.flash.size:,} B", board.flash.size)]
    needs.append(("RAM", ram, ram_part, board.ram.size))
    exceeded = [name for name, need, _, size in needs if need > size]
    if exceeded:
        raise DoesNotFit(f"{model_name} does not fit {board.name} ({' and '.join(exceeded)} exceeded): "
                         + "; ".join(text for _, _, text, _ in needs), tuple(exceeded))


IO_MODES = ("caller", "arena")


def compile_model(model, out_dir, board: str = "host", prefix: str = "model", project: bool = True,
                  weights: str = "auto", layers=None, specialize_calls: bool = True, io: str = "caller",
                  patch="auto", weights_layout: str = "auto") -> CompileResult:
    """Compile a .tflite model (path or bytes) for `board` into out_dir (sources in out_dir/src).

    specialize_calls=False keeps every call on the kernel tinyq.kernel_select picks, without the prepared
    kernels of tinyq.specialize (the tests use it to hold those fallback kernels to the simulator too).
    io="arena" (--io arena) plans the inputs and outputs inside the arena (model.h: <PREFIX>_IO_IN_ARENA).
    patch (--patch): "auto", "off" or a band count: which chains of convolutions run in bands (tinyq.patch).
    weights_layout (--weights-layout): how the prepared DSP kernels store int8 weights (WEIGHTS_LAYOUTS).

    Everything is checked (board, prefix, model, fit) before a file is written.
    """
    from tinyq.boards import load_board

    board_obj = load_board(board)  # fails early, with the list of boards, on a bad name
    check_prefix(prefix)
    if io not in IO_MODES:
        raise InputError(f"--io '{io}': expected one of {', '.join(IO_MODES)}")
    in_arena = io == "arena"
    patch = parse_patch(patch)
    check_weights_layout(weights_layout)
    if isinstance(model, (list, tuple)):
        if len(model) > 1:
            if weights_layout == "int16":
                raise InputError("--weights-layout int16: one model only (precision levels keep int8 weights)")
            if in_arena:
                raise InputError("--io arena: one model only (precision levels keep their inputs and outputs "
                                 "in caller-owned buffers)")
            if patch not in ("auto", "off"):
                raise InputError(f"--patch {patch}: one model only (precision levels run unpatched)")
            return compile_levels(list(model), out_dir, board_obj, prefix, project, weights, layers, specialize_calls)
        model = model[0]
    model_name = Path(model).name if isinstance(model, (str, Path)) else "model.tflite"
    graph = read_model(model)
    isa = board_isa(board_obj)  # auto weighs the packed kernels' speed on this board's CPU
    program, patching = patch_program(lower(graph, weights, layers, isa), patch, in_arena, isa)
    plan = plan_memory(program, in_arena)
    where = str(model) if isinstance(model, (str, Path)) else model_name
    note = ""
    try:
        check_fit(where, program, plan, board_obj)
    except DoesNotFit as exc:
        if weights != "auto" or exc.exceeded == ("RAM",):  # smaller weights cannot make RAM fit
            raise
        # flash is the wall: rather than refuse, store every tensor as small as it exactly goes
        program, patching = patch_program(lower(graph, "smallest", layers, isa), patch, in_arena, isa)
        plan = plan_memory(program, in_arena)
        check_fit(where, program, plan, board_obj)
        note = (f"the fast encodings do not fit {board_obj.name}: weights stored as small as they exactly go "
                f"(--weights smallest), with slower kernels")
    out_dir = Path(out_dir)
    lowered = program
    variants = select_kernels(program, board_features(board_obj))
    if specialize_calls:
        # --weights-layout: int16 weights first (auto: where they fit, else the int8 layout), then the generic kernels
        tries = {"int16": (True,), "int8": (False,), "auto": (True, False)}[weights_layout]
        for wide in tries:
            fast, fast_variants = specialize(program, variants, board_features(board_obj), wide, board_obj.cpu)
            if fast is program:
                break
            fast_plan = plan_memory(fast, in_arena)  # prepared records may bring scratch (im2col) and tables
            try:
                check_fit(where, fast, fast_plan, board_obj)
            except DoesNotFit:
                if weights_layout == "int16":  # asked for: refuse rather than quietly store int8
                    raise
                if wide:
                    note = "; ".join(x for x in (note, f"the int16 weight layout does not fit {board_obj.name}: "
                                                 "int8 weights (--weights-layout int8)") if x)
                    continue
                # the lowered program fits: keep it, with the kernels kernel_select chose
                note = "; ".join(x for x in (note, f"the prepared kernels' tables do not fit {board_obj.name}: "
                                             "compiled with the generic kernels") if x)
                break
            program, variants, plan = fast, fast_variants, fast_plan
            break
    files = emit_sources(program, plan, out_dir / "src", prefix, model_name, options=f"board={board} prefix={prefix}",
                         variants=variants)
    info = manifest(program, plan, board, prefix, model_name, variants, patching)
    (out_dir / MANIFEST).write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
    if project:
        from tinyq.targets.project import write_project
        from tinyq.targets.manifest import read_manifest

        files += list(write_project(out_dir, board_obj, read_manifest(out_dir)) or [])
    return CompileResult(out_dir, program, plan, tuple(files), note, patching, lowered)


@dataclass(frozen=True)
class LevelsResult(CompileResult):
    levels: tuple = ()  # tinyq.levels.LevelProgram, one per level
    plans: tuple = ()  # MemoryPlan of each level


def _level_name(model, k: int) -> str:
    return Path(model).name if isinstance(model, (str, Path)) else f"level{k}.tflite"


def _is_weight_tensor(name: str) -> bool:
    """A record constant that holds a weight tensor (int8 or encoded), not biases, multipliers, shifts or tables."""
    return name in ("filter", "weights") or name.startswith("packed.")


def stored_bytes(programs, weight_tensors: bool = False) -> list[int]:
    """Per level, the constant bytes it adds to the image: arrays whose bytes no earlier level stored (the
    emitter's sharing rule, tinyq.emit.emitter._ArrayStore). weight_tensors: count only weight tensors' arrays."""
    seen: set[bytes] = set()
    added = []
    for program in programs:
        n = 0
        for call in program.calls:
            for name, a in call.constants():
                key = a.tobytes()
                if key not in seen:
                    seen.add(key)
                    n += int(a.nbytes) if not weight_tensors or _is_weight_tensor(name) else 0
        added.append(n)
    return added


def compile_levels(models: list, out_dir, board, prefix: str, project: bool = True, weights: str = "auto",
                   layers=None, specialize_calls: bool = True) -> LevelsResult:
    """Compile several models into one image, level k = models[k] (tinyq/levels); checked before writing."""
    from tinyq.levels import lower_levels

    if layers:
        raise InputError("--layer names a layer of one model: with several levels, give each model the encodings "
                         "it needs when you quantize it, or use --weights")
    names = [_level_name(m, k) for k, m in enumerate(models)]
    graphs = [(name, read_model(m)) for name, m in zip(names, models)]
    isa = board_isa(board)
    where = " + ".join(str(m) if isinstance(m, (str, Path)) else n for m, n in zip(models, names))

    def lower_all(w):
        levels = lower_levels(graphs, w, isa)
        plans = [plan_memory(lv.program) for lv in levels]
        combined = MemoryPlan(max(p.arena_bytes for p in plans), (), sum(stored_bytes([lv.program for lv in levels])),
                              plans[0].io_bytes)
        check_fit(where, levels[0].program, combined, board, sum(len(lv.program.calls) for lv in levels))
        return levels, plans, combined

    note = ""
    try:
        levels, plans, combined = lower_all(weights)
    except DoesNotFit as exc:
        if weights != "auto" or exc.exceeded == ("RAM",):
            raise
        levels, plans, combined = lower_all("smallest")
        note = (f"the fast encodings do not fit {board.name}: weights stored as small as they exactly go "
                f"(--weights smallest), with slower kernels")
    note = "; ".join(x for x in [note] + [lv.note for lv in levels] if x)
    features = board_features(board)
    variants = [select_kernels(lv.program, features) for lv in levels]
    # a level whose int8 weights a nested level decodes keeps its lowered calls: a prepared record rearranges
    # those weights, and the nested level would then need its own copy of the original bytes
    parents = {lv.parent for lv in levels if lv.parent is not None}
    specialized = [specialize(lv.program, v, features) if specialize_calls and lv.index not in parents
                   else (lv.program, v) for lv, v in zip(levels, variants)]
    if any(p is not lv.program for (p, _), lv in zip(specialized, levels)):
        fast = [replace(lv, program=p) for (p, _), lv in zip(specialized, levels)]
        fast_plans = [plan_memory(lv.program) for lv in fast]
        fast_combined = MemoryPlan(max(p.arena_bytes for p in fast_plans), (),
                                   sum(stored_bytes([lv.program for lv in fast])), fast_plans[0].io_bytes)
        try:
            check_fit(where, fast[0].program, fast_combined, board, sum(len(lv.program.calls) for lv in fast))
            levels, plans, combined = fast, fast_plans, fast_combined
            variants = [v for _, v in specialized]
        except DoesNotFit:  # the lowered levels fit: keep them, with the kernels kernel_select chose
            note = "; ".join(x for x in (note, f"the prepared kernels' tables do not fit {board.name}: compiled "
                                         "with the generic kernels") if x)
    out_dir = Path(out_dir)
    files = emit_levels([LevelCode(lv.program, plan, v, lv.name) for lv, plan, v in zip(levels, plans, variants)],
                        out_dir / "src", prefix, options=f"board={board.name} prefix={prefix} levels={len(levels)}")
    info = levels_manifest(levels, plans, variants, combined, board.name, prefix)
    (out_dir / MANIFEST).write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
    if project:
        from tinyq.targets.project import write_project
        from tinyq.targets.manifest import read_manifest

        files += list(write_project(out_dir, board, read_manifest(out_dir)) or [])
    return LevelsResult(out_dir, levels[0].program, combined, tuple(files), note, levels=tuple(levels),
                        plans=tuple(plans))


def levels_manifest(levels, plans, variants, combined: MemoryPlan, board: str, prefix: str) -> dict:
    """tinyq.json of a multi-level image: level 0's fields at the top (inputs, outputs, layers), the image's
    plan (arena of the largest level, weights stored once), and one entry per level."""
    added = stored_bytes([lv.program for lv in levels])
    added_weights = stored_bytes([lv.program for lv in levels], weight_tensors=True)
    entries = []
    for lv, plan, v, add, add_w in zip(levels, plans, variants, added, added_weights):
        m = manifest(lv.program, plan, board, prefix, lv.name, v)
        entries.append({"level": lv.index, "model": lv.name, "model_sha256": lv.program.model_sha256,
                        "nested_in": lv.parent, "inputs": m["inputs"], "outputs": m["outputs"],
                        "plan": {**m["plan"], "added_weight_bytes": add, "added_weight_tensor_bytes": add_w},
                        "layers": m["layers"]})
    info = manifest(levels[0].program, plans[0], board, prefix, levels[0].name, variants[0])
    info["model"] = " + ".join(lv.name for lv in levels)
    info["plan"] = {"arena_bytes": combined.arena_bytes, "scratch_bytes": max(p.scratch_bytes for p in plans),
                    "weight_bytes": combined.weight_bytes, "io_bytes": combined.io_bytes}
    info["levels"] = entries
    return info

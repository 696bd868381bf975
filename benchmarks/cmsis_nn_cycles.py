"""The anchor in estimated cycles: TFLM + CMSIS-NN's kernels counted with tinyq's own counter and cycle tables.

benchmarks/anchors.json holds what TFLM + CMSIS-NN executes per inference in instructions (measured with TFLM's
interpreter). The goals must hold in estimated cycles too, and a cycle estimate needs the instruction classes,
which only tinyq's counting plugin gives. So this script builds, for each model and board, a project whose
model.c calls the CMSIS-NN kernels exactly as TFLM's CMSIS-NN glue does (same functions, parameter structs,
scratch buffers and prepare-time kernel sums), with tinyq's per-layer markers around each call, and counts it
under QEMU like `tinyq bench`. It first checks that the outputs equal tinyq's simulator bit for bit (so the
glue is right), and reports its instructions against the TFLM figure (the kernels without the interpreter:
0.98-1.00x of it, so a cycles ratio against it leans the anchor's way).

CMSIS-NN is not part of tinyq: pass a checkout of it (TFLM's pin for the anchors is 4ab83cc3). Nothing of it
enters the repository; the projects are written to a temporary directory.

    python benchmarks/cmsis_nn_cycles.py --cmsis-nn PATH [--boards mps2-an386 ...] [--models ...] [--write]

--write stores the figures in benchmarks/anchors.json ("cycles"), which benchmarks/performance.py reads.
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from benchmarks.performance import BOARDS, MODELS, SHARED  # noqa: E402  the same models and cores
from tinyq.bench.cycles import estimate_cycles, timing  # noqa: E402
from tinyq.boards import load_board  # noqa: E402
from tinyq.compiler import compile_model  # noqa: E402
from tinyq.io import from_batch  # noqa: E402
from tinyq.sim.run import run_program  # noqa: E402
from tinyq.targets.icount import count_instructions  # noqa: E402
from tinyq.targets.run import run_project  # noqa: E402
from tinyq.verify import random_batches  # noqa: E402

SCRATCH_BYTES = 64 * 1024  # one static scratch for every call; prepare checks each call's need against it

LIBRARY_JSON = {
    "name": "cmsis_nn", "frameworks": "*", "platforms": "*",
    # the project's -O2 like the anchors; CMSIS-NN is not written for -Werror or strict C99
    "build": {"includeDir": "Include", "srcDir": "Source", "libArchive": False,
              "unflags": ["-Werror", "-std=c99"], "flags": ["-std=gnu11", "-Wno-unused-parameter"],
              "srcFilter": ["+<*>", "-<Bindings/>", "-<**/*_f16.c>", "-<**/*_f32.c>"]},
}


def _array(ctype: str, name: str, values) -> str:
    flat = np.asarray(values).reshape(-1)
    body = ", ".join(str(int(v)) for v in flat)
    return f"static const {ctype} {name}[{max(len(flat), 1)}] __attribute__((aligned(16))) = {{{body or '0'}}};"


class Glue:
    """model.c for one compiled model: static buffers, the constants, and one CMSIS-NN call per tinyq call."""

    def __init__(self, program, lowered):
        self.program = program
        self.lowered = lowered
        self.consts: list[str] = []
        self.buffers: list[str] = []
        self.prepare: list[str] = []
        self.body: list[str] = []

    def ptr(self, index: int) -> str:
        p = self.program
        if index in p.inputs:
            return f"((const int8_t *)inputs[{p.inputs.index(index)}])"
        if index in p.outputs:
            return f"((int8_t *)outputs[{p.outputs.index(index)}])"
        name = f"t{index}"
        if not any(b.startswith(f"static int8_t {name}[") for b in self.buffers):
            self.buffers.append(f"static int8_t {name}[{self.program.tensor(index).nbytes}] __attribute__((aligned(16)));")
        return name

    def const(self, ctype: str, name: str, values) -> str:
        self.consts.append(_array(ctype, name, values))
        return name

    def quant(self, k: int, c) -> tuple[str, str]:
        m = self.const("int32_t", f"c{k}_mult", c.multiplier)
        s = self.const("int32_t", f"c{k}_shift", c.shift)
        return m, s

    def bias(self, k: int, c) -> str:
        return "NULL" if c.bias is None else self.const("int32_t", f"c{k}_bias", c.bias)

    def scratch(self, k: int, size_expr: str) -> None:
        self.prepare.append(f"if ({size_expr} > (int32_t)sizeof(scratch)) return TQ_ERR_ARG; /* call {k} */")

    def call(self, k: int, c, opcode: str) -> str:
        kind = type(c).__name__
        if getattr(c, "batches", 1) != 1 or getattr(c, "packed", None) is not None or getattr(c, "acc64", False):
            raise SystemExit(f"call {k}: {kind} with batches/packed/acc64 is not glued")
        x, y = self.ptr(c.inputs[0]), self.ptr(c.outputs[0])
        if kind in ("ConvCall", "DepthwiseConvCall"):
            m, s = self.quant(k, c)
            w = self.const("int8_t", f"c{k}_w", c.filter)
            b = self.bias(k, c)
            dims = (f"const cmsis_nn_dims in = {{1, {c.input_height}, {c.input_width}, {c.input_depth}}};\n"
                    f"        const cmsis_nn_dims out = {{1, {c.output_height}, {c.output_width}, {c.output_depth}}};\n"
                    f"        const cmsis_nn_dims bd = {{1, 1, 1, {c.output_depth}}};\n"
                    f"        const cmsis_nn_per_channel_quant_params q = {{(int32_t *){m}, (int32_t *){s}}};\n")
            common = (f"{c.stride_width}, {c.stride_height}}}, {{{c.pad_width}, {c.pad_height}}}, "
                      f"{{{c.dilation_width}, {c.dilation_height}}}, {{{c.act_min}, {c.act_max}}}}};")
            if kind == "ConvCall":
                dims += (f"        const cmsis_nn_dims f = {{{c.output_depth}, {c.filter_height}, {c.filter_width}, "
                         f"{c.filter_input_depth}}};\n"
                         f"        const cmsis_nn_conv_params p = {{{c.input_offset}, {c.output_offset}, {{{common}\n")
                self.scratch(k, f"arm_convolve_wrapper_s8_get_buffer_size(&(cmsis_nn_conv_params){{{c.input_offset}, "
                                f"{c.output_offset}, {{{common[:-2]}}}, &(cmsis_nn_dims){{1, {c.input_height}, "
                                f"{c.input_width}, {c.input_depth}}}, &(cmsis_nn_dims){{{c.output_depth}, "
                                f"{c.filter_height}, {c.filter_width}, {c.filter_input_depth}}}, &(cmsis_nn_dims){{1, "
                                f"{c.output_height}, {c.output_width}, {c.output_depth}}})")
                fn = "arm_convolve_wrapper_s8"
            else:
                dims += (f"        const cmsis_nn_dims f = {{1, {c.filter_height}, {c.filter_width}, {c.output_depth}}};\n"
                         f"        const cmsis_nn_dw_conv_params p = {{{c.input_offset}, {c.output_offset}, "
                         f"{c.depth_multiplier}, {{{common}\n")
                self.scratch(k, f"arm_depthwise_conv_wrapper_s8_get_buffer_size(&(cmsis_nn_dw_conv_params){{"
                                f"{c.input_offset}, {c.output_offset}, {c.depth_multiplier}, {{{common[:-2]}}}, "
                                f"&(cmsis_nn_dims){{1, {c.input_height}, {c.input_width}, {c.input_depth}}}, "
                                f"&(cmsis_nn_dims){{1, {c.filter_height}, {c.filter_width}, {c.output_depth}}}, "
                                f"&(cmsis_nn_dims){{1, {c.output_height}, {c.output_width}, {c.output_depth}}})")
                fn = "arm_depthwise_conv_wrapper_s8"
            return (f"{{\n        {dims}"
                    f"        const cmsis_nn_context ctx = {{scratch, sizeof(scratch)}};\n"
                    f"        if ({fn}(&ctx, &p, &q, &in, {x}, &f, {w}, &bd, {b}, &out, {y}) != ARM_CMSIS_NN_SUCCESS) "
                    f"return TQ_ERR_ARG;\n    }}")
        if kind == "FullyConnectedCall":
            if c.per_channel:
                raise SystemExit(f"call {k}: per-channel FULLY_CONNECTED is not glued")
            if len(self.program.tensor(c.outputs[0]).shape) != 2:
                raise SystemExit(f"call {k}: TFLM runs FULLY_CONNECTED with a rank > 2 output as a 1x1 conv")
            m, s = self.quant(k, c)
            w = self.const("int8_t", f"c{k}_w", c.weights)
            b = self.bias(k, c)
            self.buffers.append(f"static int32_t c{k}_sums[{c.output_depth}];")
            # TFLM (KERNELS_OPTIMIZED_FOR_SPEED) computes the kernel sums at prepare when the kernel wants them
            self.prepare.append(
                f"if (arm_fully_connected_s8_get_buffer_size(&(cmsis_nn_dims){{{c.accum_depth}, 1, 1, {c.output_depth}}}) > 0) "
                f"{{ c{k}_sums_used = 1; arm_vector_sum_s8(c{k}_sums, {c.accum_depth}, {c.output_depth}, {w}, "
                f"{c.input_offset}, {c.filter_offset}, {b}); }}")
            self.buffers.append(f"static int c{k}_sums_used;")
            return (f"{{\n        const cmsis_nn_fc_params p = {{{c.input_offset}, {c.filter_offset}, {c.output_offset}, "
                    f"{{{c.act_min}, {c.act_max}}}}};\n"
                    f"        const cmsis_nn_quant_params q = {{(int32_t *){m}, (int32_t *){s}, 0}};\n"
                    f"        const cmsis_nn_dims in = {{1, 1, 1, {c.accum_depth}}}, f = {{{c.accum_depth}, 1, 1, "
                    f"{c.output_depth}}}, bd = {{1, 1, 1, {c.output_depth}}}, out = {{1, 1, 1, {c.output_depth}}};\n"
                    f"        const cmsis_nn_context ctx = {{c{k}_sums_used ? (void *)c{k}_sums : NULL, "
                    f"c{k}_sums_used ? (int32_t)sizeof(c{k}_sums) : 0}};\n"
                    f"        if (arm_fully_connected_wrapper_s8(&ctx, &p, &q, &in, {x}, &f, {w}, &bd, {b}, &out, {y}) "
                    f"!= ARM_CMSIS_NN_SUCCESS) return TQ_ERR_ARG;\n    }}")
        if kind == "PoolCall":
            if opcode != "AVERAGE_POOL_2D":
                raise SystemExit(f"call {k}: {opcode} is not glued")
            self.scratch(k, f"arm_avgpool_s8_get_buffer_size({c.output_w}, {c.depth})")
            return (f"{{\n        const cmsis_nn_pool_params p = {{{{{c.stride_w}, {c.stride_h}}}, {{{c.pad_w}, {c.pad_h}}}, "
                    f"{{{c.act_min}, {c.act_max}}}}};\n"
                    f"        const cmsis_nn_dims in = {{1, {c.input_h}, {c.input_w}, {c.depth}}}, "
                    f"f = {{1, {c.filter_h}, {c.filter_w}, 1}}, out = {{1, {c.output_h}, {c.output_w}, {c.depth}}};\n"
                    f"        const cmsis_nn_context ctx = {{scratch, sizeof(scratch)}};\n"
                    f"        if (arm_avgpool_s8(&ctx, &p, &in, {x}, &f, &out, {y}) != ARM_CMSIS_NN_SUCCESS) "
                    f"return TQ_ERR_ARG;\n    }}")
        if kind == "AddSubCall":
            if opcode != "ADD" or c.input1_const is not None or c.input2_const is not None or \
                    c.input1_stride != c.input2_stride:
                raise SystemExit(f"call {k}: {opcode} with constants or broadcasting is not glued")
            x2 = self.ptr(c.inputs[1])
            n = int(np.prod(c.shape))
            return (f"if (arm_elementwise_add_s8({x}, {x2}, {c.input1_offset}, {c.input1_multiplier}, {c.input1_shift}, "
                    f"{c.input2_offset}, {c.input2_multiplier}, {c.input2_shift}, {c.left_shift}, {y}, "
                    f"{c.output_offset}, {c.output_multiplier}, {c.output_shift}, {c.act_min}, {c.act_max}, {n}) "
                    f"!= ARM_CMSIS_NN_SUCCESS) return TQ_ERR_ARG;")
        if kind == "SoftmaxCall":
            return (f"arm_softmax_s8({x}, {c.outer_size}, {c.depth}, {c.input_multiplier}, {c.input_shift}, "
                    f"{c.diff_min}, {y});")
        if kind == "CopyCall":
            return f"memcpy({y}, {x}, {c.bytes});"
        raise SystemExit(f"call {k}: {kind} ({opcode}) is not glued")

    def source(self) -> str:
        calls = []
        for k, (c, pc) in enumerate(zip(self.lowered.calls, self.program.calls)):
            calls.append(f"    TQ_LAYER_BEGIN({k});\n    {self.call(k, c, pc.opcode)}\n    TQ_LAYER_END({k});")
        ins = ", ".join(f"{self.program.tensor(i).nbytes}u" for i in self.program.inputs)
        outs = ", ".join(f"{self.program.tensor(i).nbytes}u" for i in self.program.outputs)
        return "\n".join([
            "/* CMSIS-NN glue written by benchmarks/cmsis_nn_cycles.py: the calls TFLM's CMSIS-NN kernels make. */",
            "#include <string.h>", '#include "model.h"', '#include "tinyq/tq_profile.h"', '#include "arm_nnfunctions.h"',
            "", f"static int8_t scratch[{SCRATCH_BYTES}] __attribute__((aligned(16), unused));", *self.buffers, *self.consts, "",
            f"const uint32_t model_input_bytes[MODEL_NUM_INPUTS] = {{{ins}}};",
            f"const uint32_t model_output_bytes[MODEL_NUM_OUTPUTS] = {{{outs}}};",
            "void model_reset(void) {}", "void model_restart(void) {}", "",
            "static tq_status prepare(void) {", *(f"    {line}" for line in self.prepare), "    return TQ_OK;", "}", "",
            "tq_status model_invoke_v(const void *const *inputs, void *const *outputs) {",
            "    static int prepared;  /* TFLM's Prepare: once, before the first invoke (not counted: use invoke 1) */",
            "    if (!prepared) { if (prepare() != TQ_OK) return TQ_ERR_ARG; prepared = 1; }",
            *calls, "    return TQ_OK;", "}", ""])


def write_project(model: Path, out: Path, board: str, cmsis_nn: Path):
    r = compile_model(model, out, board=board, weights="int8", patch="off")
    glue = Glue(r.program, r.lowered)
    (out / "src" / "model.c").write_text(glue.source())
    (out / "src" / "model_data.c").write_text("/* the weights are in model.c (CMSIS-NN glue) */\n")
    lib = out / "lib" / "cmsis_nn"
    if lib.exists():
        shutil.rmtree(lib)
    shutil.copytree(cmsis_nn / "Include", lib / "Include")
    shutil.copytree(cmsis_nn / "Source", lib / "Source")
    (lib / "library.json").write_text(json.dumps(LIBRARY_JSON, indent=2))
    return r


def measure(model_name: str, board: str, cmsis_nn: Path, work: Path, seed: int = 0) -> dict:
    out = work / f"{model_name}-{board}"
    r = write_project(SHARED / f"{model_name}.tflite", out, board, cmsis_nn)
    program = r.program
    batches = random_batches(program, 2, seed)
    arrays = {f"input_{k}": from_batch(b, program.tensor(i)) for k, (b, i) in enumerate(zip(batches, program.inputs))}
    want = run_program(r.lowered, batches)  # the simulator on the records before specialization
    got = run_project(out, arrays).outputs
    for k, i in enumerate(program.outputs):
        g = np.asarray(list(got.values())[k]).reshape(want[i].shape)
        if not np.array_equal(g, want[i]):
            raise SystemExit(f"{model_name} on {board}: CMSIS-NN glue output {k} differs from tinyq's simulator "
                             f"({int((g != want[i]).sum())} values): the glue is wrong")
    counts = count_instructions(out, arrays)
    t = timing(load_board(board).cpu)
    layers = [{"call": k, "op": c.opcode, "instructions": n, "cycles": round(estimate_cycles(cls, t))}
              for k, (c, n, cls) in enumerate(zip(program.calls, counts.layers[1], counts.layer_classes[1]))]
    per_op: dict = {}
    for layer in layers:
        op = per_op.setdefault(layer["op"], {"instructions": 0, "cycles": 0})
        op["instructions"] += layer["instructions"]
        op["cycles"] += layer["cycles"]
    return {"instructions": counts.invokes[1], "cycles": round(estimate_cycles(counts.invoke_classes[1], t)),
            "per_op": per_op, "core": t.core}


def dump(anchors: dict) -> str:
    """anchors.json as it is kept: one line per model under each section."""
    sections = []
    for key, value in anchors.items():
        if not isinstance(value, dict):
            sections.append(f"  {json.dumps(key)}: {json.dumps(value)}")
            continue
        rows = [f"    {json.dumps(k)}: {json.dumps(v)}" for k, v in value.items()]
        sections.append(f"  {json.dumps(key)}: {{\n" + ",\n".join(rows) + "\n  }")
    return "{\n" + ",\n".join(sections) + "\n}\n"


def store(anchors: dict, model: str, board: str, res: dict) -> None:
    cycles = anchors.setdefault("cycles", {})
    cycles["source"] = ("benchmarks/cmsis_nn_cycles.py: the CMSIS-NN kernels (commit 4ab83cc3, TFLM's pin) called as "
                        "TFLM's CMSIS-NN glue calls them, counted by tinyq's plugin (the invoke after prepare) and "
                        "priced with tinyq.bench.cycles; kernels only, without TFLM's interpreter")
    cycles.setdefault(model, {})[board] = {k: res[k] for k in ("instructions", "cycles", "per_op")}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cmsis-nn", type=Path, required=True, help="a CMSIS-NN checkout (TFLM's pin: 4ab83cc3)")
    ap.add_argument("--boards", nargs="+", default=list(BOARDS))
    ap.add_argument("--models", nargs="+", default=list(MODELS))
    ap.add_argument("--write", action="store_true", help='store the figures in benchmarks/anchors.json ("cycles")')
    ap.add_argument("--keep", type=Path, help="write the projects here instead of a temporary directory")
    args = ap.parse_args(argv)
    anchors_path = HERE / "anchors.json"
    anchors = json.loads(anchors_path.read_text())
    with tempfile.TemporaryDirectory() as tmp:
        work = args.keep or Path(tmp)
        for m in args.models:
            for b in args.boards:
                res = measure(m, b, args.cmsis_nn.resolve(), work)
                tflm = anchors["instructions"].get(m, {}).get(b, {}).get("cmsis_nn")
                vs = f", {res['instructions'] / tflm:.3f}x TFLM's Invoke ({tflm:,})" if tflm else ""
                print(f"{m} on {b}: CMSIS-NN kernels {res['instructions']:,} instructions{vs}, "
                      f"~{res['cycles']:,} est. cycles ({res['core']}); outputs bit-exact with tinyq's simulator",
                      flush=True)
                for op, v in res["per_op"].items():
                    print(f"    {op}: {v['instructions']:,} instructions, ~{v['cycles']:,} est. cycles")
                if args.write:  # after each board: a long run that stops keeps what it measured
                    store(anchors, m, b, res)
                    anchors_path.write_text(dump(anchors))
    if args.write:
        print(f"wrote {anchors_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

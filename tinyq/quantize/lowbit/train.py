"""Fine-tuning a Keras 3 model for low-bit and sparse weights: QAT (straight-through), ADMM, or pruning alone.

    train_lowbit(model, specs, x, y, method="qat" | "admm" | "prune", ...) -> TrainResult

The model is trained in place by one custom loop (tf.GradientTape + model.stateless_call), so no custom layers,
tf_keras or tfmot are needed. Only the kernels of the layers in `specs` are constrained; everything else (biases,
batch normalization, layers without a spec) trains as float.

* qat: BinaryConnect-style straight-through estimator. Every step the float shadow kernel W is projected on NumPy
  (project.project, the same projection PTQ uses, so clip search and ternary fits are exact), the forward and
  backward pass run with W + stop_gradient(Q - W) = Q, and the gradient (dL/dQ) is applied to W.
* admm (Leng et al., AAAI 2018): W trains as float on loss + rho/2·||W - G + U||²; every `_ADMM_UPDATES_PER_EPOCH`-th
  of an epoch G = project(W + U) and U += W - G, with rho growing geometrically from _RHO[0] to _RHO[1], so W is
  drawn to the levels gradually.
* prune: float fine-tuning under the masks only (int8 + sparsity: the converter quantizes to int8 afterwards).

Sparsity: the keep mask is recomputed every step from |W| on the encoder's rows (layout.rows_of_channels,
prune.keep_mask) at the fraction prune.ramp gives for that step (N:M: N goes from M down to the target), so the
last steps use the full target. Pruned weights are set to exactly 0 after every step, and QAT/ADMM project with the
mask (project(w, spec, keep)), so the levels keep the zeros.

At the end every constrained kernel is set to scale·levels of the final projection; TrainResult.levels holds the
levels as channel matrices, which rewrite.apply_specs writes into the converted model with refitted scales.
"""
from __future__ import annotations

import math
import sys
import time
from dataclasses import dataclass, field

import numpy as np

from tinyq.errors import InputError, QuantizationError
from tinyq.quantize.lowbit.layout import WEIGHT_LAYERS, keras_channels, keras_from_channels, rows_of_channels
from tinyq.quantize.lowbit.layout import channels_of_rows
from tinyq.quantize.lowbit.project import project
from tinyq.quantize.lowbit.prune import keep_mask, ramp
from tinyq.quantize.lowbit.spec import LayerSpec, Sparsity

METHODS = ("qat", "admm", "prune")
_ADMM_UPDATES_PER_EPOCH = 4
_RHO = (10.0, 1e4)  # ADMM penalty weight, first and last value: on digits (1, 100) ended below PTQ, this at PTQ


@dataclass
class TrainResult:
    levels: dict[str, np.ndarray]  # layer name -> int8 channel matrix [C, n] (as project returns it)
    scales: dict[str, np.ndarray]  # layer name -> the projection's scale per channel [C]
    seconds: float
    loss: float  # task loss of the last epoch
    history: dict[str, list[float]] = field(default_factory=dict)  # per epoch: loss, accuracy …


@dataclass
class _Target:
    """One constrained kernel: its variable, spec and layout, and the training state kept for it."""

    name: str
    variable: object
    spec: LayerSpec
    op: str
    depthwise: bool
    keep: np.ndarray | None = None  # channel-matrix mask (None: dense)
    g: np.ndarray | None = None  # ADMM: projection of W + U (channel matrix)
    u: np.ndarray | None = None  # ADMM: scaled dual variable (channel matrix)

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.variable.shape)

    def channels(self) -> np.ndarray:
        return keras_channels(np.asarray(self.variable.numpy(), np.float64), self.depthwise)

    def update_mask(self, step: int, steps: int) -> None:
        sparsity = self.spec.sparsity
        if sparsity is None or sparsity.zeros <= 0:
            return
        if sparsity.structured:  # N:M: ramp the number of zeros per group, so every mask is itself an N:M mask
            zeros = int(round(ramp(step, steps, sparsity.m - sparsity.n)))
            now = Sparsity(n=sparsity.m - zeros, m=sparsity.m) if zeros else None
        else:
            now = Sparsity(fraction=ramp(step, steps, sparsity.fraction))
        rows = rows_of_channels(self.channels(), self.op)
        self.keep = channels_of_rows(keep_mask(rows, now), self.op)

    def project(self, w: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        return project(self.channels() if w is None else w, self.spec.weights, self.keep)

    def to_keras(self, matrix: np.ndarray) -> np.ndarray:
        return keras_from_channels(matrix, self.shape).astype(np.float32)

    def mask(self) -> np.ndarray:
        return np.ones(self.shape, np.float32) if self.keep is None else self.to_keras(self.keep)


def train_lowbit(model, specs: dict[str, LayerSpec], x: list[np.ndarray], y: np.ndarray, *, method: str, loss,
                 metrics, epochs: int, batch_size: int, learning_rate: float, seed: int,
                 progress: bool) -> TrainResult:
    """Fine-tune `model` in place so the kernels of the layers in `specs` take their specs' levels (see module doc)."""
    import keras
    import tensorflow as tf
    from tqdm import tqdm

    if method not in METHODS:
        raise QuantizationError(f"low-bit training: unknown method '{method}'; expected {', '.join(METHODS)}")
    if len(model.outputs) != 1:
        raise InputError(f"{model.name}: low-bit training needs a model with one output, it has {len(model.outputs)}")
    targets = _targets(model, specs)
    keras.utils.set_random_seed(seed)
    rng = np.random.default_rng(seed)
    xs = [np.asarray(a, np.float32) for a in x]
    count = len(y)
    if any(len(a) != count for a in xs):
        raise InputError(f"{model.name}: training inputs and labels have different sample counts")
    per_epoch = max(1, math.ceil(count / batch_size))
    steps = epochs * per_epoch
    admm_every = max(1, per_epoch // _ADMM_UPDATES_PER_EPOCH)
    admm_updates = max(1, steps // admm_every)

    optimizer = keras.optimizers.Adam(learning_rate)
    trainable = list(model.trainable_variables)
    non_trainable = list(model.non_trainable_variables)
    index = {id(v): i for i, v in enumerate(trainable)}
    slots = [index[id(t.variable)] for t in targets]
    trackers = [keras.metrics.Mean(name="loss")] + _metrics(metrics, loss)
    penalty_on = method == "admm"
    straight_through = method == "qat"

    @tf.function(reduce_retracing=True)
    def train_step(batch, labels, projected, masks, refs, rho):
        with tf.GradientTape() as tape:
            values = [v.value for v in trainable]
            penalty = tf.constant(0.0)
            for slot, q, ref in zip(slots, projected, refs):
                w = values[slot]
                if straight_through:
                    values[slot] = w + tf.stop_gradient(q - w)  # forward with Q, gradient straight to W
                if penalty_on:
                    penalty += tf.reduce_sum(tf.square(w - ref))
            out, new_non_trainable, losses = model.stateless_call(
                values, [v.value for v in non_trainable], batch, training=True, return_losses=True)
            task = loss(labels, out)
            total = task + (tf.add_n(losses) if losses else 0.0) + rho / 2 * penalty
        optimizer.apply_gradients(zip(tape.gradient(total, trainable), trainable))
        for slot, mask in zip(slots, masks):
            trainable[slot].assign(trainable[slot] * mask)  # pruned weights stay exactly 0
        for v, new in zip(non_trainable, new_non_trainable):
            v.assign(new)
        trackers[0].update_state(task)
        for m in trackers[1:]:
            m.update_state(labels, out)

    unused = [np.zeros(t.shape, np.float32) for t in targets]  # the step's Q or ADMM reference when not needed
    history: dict[str, list[float]] = {m.name: [] for m in trackers}
    bar = tqdm(total=epochs, desc=f"low-bit {method}", unit="epoch", file=sys.stderr, disable=not progress)
    start = time.perf_counter()
    step = 0
    rho = _RHO[0]
    for _ in range(epochs):
        for m in trackers:
            m.reset_state()
        order = rng.permutation(count)
        for b in range(per_epoch):
            idx = order[b * batch_size:(b + 1) * batch_size]
            step += 1
            for t in targets:
                t.update_mask(step, steps)
            if penalty_on and (step - 1) % admm_every == 0:
                k = (step - 1) // admm_every
                rho = _RHO[0] * (_RHO[1] / _RHO[0]) ** (k / max(1, admm_updates - 1))
                for t in targets:
                    _admm_update(t)
            projected = [_fake(t) for t in targets] if straight_through else unused
            refs = [t.to_keras(t.g - t.u) for t in targets] if penalty_on else unused
            batch = [a[idx] for a in xs]
            train_step(batch if len(batch) > 1 else batch[0], y[idx], projected, [t.mask() for t in targets],
                       refs, tf.constant(rho, tf.float32))
        logs = {m.name: float(m.result()) for m in trackers}
        for k, v in logs.items():
            history[k].append(v)
        bar.set_postfix({k: f"{v:.4f}" for k, v in logs.items()})
        bar.update(1)
    bar.close()

    levels, scales = {}, {}
    for t in targets:  # the final mask is the full target (ramp reaches it by 3/4 of the steps)
        lv, sc = t.project()
        t.variable.assign(t.to_keras(sc[:, None] * lv.astype(np.float64)))
        levels[t.name], scales[t.name] = lv, sc
    return TrainResult(levels, scales, time.perf_counter() - start, history["loss"][-1] if history["loss"] else
                       float("nan"), history)


def _targets(model, specs: dict[str, LayerSpec]) -> list[_Target]:
    by_name = {layer.name: layer for layer in model.layers}
    out = []
    for name, spec in specs.items():
        layer = by_name.get(name)
        if layer is None:
            raise InputError(f"{model.name}: no layer named '{name}' for its weight spec {spec}")
        kind = type(layer).__name__
        if kind not in WEIGHT_LAYERS or getattr(layer, "kernel", None) is None:
            raise QuantizationError(
                f"layer '{name}' ({kind}) has no kernel to make {spec}; low-bit weights need one of "
                f"{', '.join(WEIGHT_LAYERS)}")
        if not layer.kernel.trainable:
            raise QuantizationError(f"layer '{name}' is frozen (trainable=False); low-bit training cannot change it")
        out.append(_Target(name, layer.kernel, spec, WEIGHT_LAYERS[kind], WEIGHT_LAYERS[kind] == "DEPTHWISE_CONV_2D"))
    return out


def _fake(t: _Target) -> np.ndarray:
    levels, scale = t.project()
    return t.to_keras(scale[:, None] * levels)


def _admm_update(t: _Target) -> None:
    """G = project(W + U), U += W - G (scaled-dual ADMM); pruned positions keep G = U = 0."""
    w = t.channels()
    if t.u is None:
        t.u = np.zeros_like(w)
    levels, scale = t.project(w + t.u)
    t.g = scale[:, None] * levels
    t.u = t.u + w - t.g
    if t.keep is not None:
        t.u = np.where(t.keep, t.u, 0.0)


def _metrics(names, loss) -> list:
    """'accuracy' becomes the accuracy that fits the loss (as Keras' compile does); Metric objects pass through."""
    import keras

    out = []
    for m in names or []:
        if m not in ("accuracy", "acc"):
            out.append(keras.metrics.get(m) if isinstance(m, str) else m)
            continue
        logits = bool(getattr(loss, "from_logits", False))
        if isinstance(loss, keras.losses.SparseCategoricalCrossentropy):
            out.append(keras.metrics.SparseCategoricalAccuracy(name="accuracy"))
        elif isinstance(loss, keras.losses.CategoricalCrossentropy):
            out.append(keras.metrics.CategoricalAccuracy(name="accuracy"))
        else:
            out.append(keras.metrics.BinaryAccuracy(name="accuracy", threshold=0.0 if logits else 0.5))
    return out

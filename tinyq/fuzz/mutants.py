"""Mutant identity, seeding and the campaign schedule.

A mutant is identified by (seed model, mutator, index, campaign seed): its random generator is seeded
from exactly those four, so make_mutant() reproduces it byte for byte. The schedule gives index 0 of
every seed model to the unmutated file (a control: whatever tinyq accepts there must pass every
check), then mixes byte and structure mutators, one in three byte-level, each list in a seeded
order. A mutator that does not apply (or leaves the bytes unchanged) passes to the next in its list.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np

from tinyq.fuzz import schema
from tinyq.fuzz.bytes_mutators import BYTE_MUTATORS
from tinyq.fuzz.struct_mutators import MUTATORS as STRUCT_MUTATORS
from tinyq.fuzz.struct_mutators import NotApplicable

CONTROL = "none"


def kind_of(mutator: str) -> str:
    if mutator == CONTROL:
        return "control"
    return "byte" if mutator in BYTE_MUTATORS else "struct"


def mutant_id(model: str, mutator: str, index: int, seed: int) -> str:
    return f"{model}.{mutator}.{index}.s{seed}"


def parse_id(text: str) -> tuple[str, str, int, int]:
    """mutant_id() backwards: (model, mutator, index, seed)."""
    model, mutator, index, seed = text.rsplit(".", 3)
    return model, mutator, int(index), int(seed.lstrip("s"))


def rng_for(model: str, mutator: str, index: int, seed: int) -> np.random.Generator:
    digest = hashlib.sha256(f"{model}|{mutator}|{index}|{seed}".encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "little"))


@dataclass
class Mutant:
    model: str  # seed model stem
    mutator: str
    index: int
    seed: int
    data: bytes
    description: str
    changes: list = field(default_factory=list)  # struct_mutators.Change, for struct mutants

    @property
    def id(self) -> str:
        return mutant_id(self.model, self.mutator, self.index, self.seed)

    @property
    def kind(self) -> str:
        return kind_of(self.mutator)


def make_mutant(seed_data: bytes, model: str, mutator: str, index: int, seed: int) -> Mutant:
    """Apply one mutator; raises NotApplicable when it has nothing to change in this model."""
    rng = rng_for(model, mutator, index, seed)
    if mutator == CONTROL:
        return Mutant(model, mutator, index, seed, seed_data, "the unmutated seed model")
    if mutator in BYTE_MUTATORS:
        data, what = BYTE_MUTATORS[mutator](seed_data, rng, schema.data_ranges(seed_data))
        changes = []
    else:
        tree = schema.load(seed_data)
        changes = STRUCT_MUTATORS[mutator](tree, rng)
        data = schema.pack(tree)
        what = "; ".join(str(c) for c in changes)
    if data == seed_data:
        raise NotApplicable
    return Mutant(model, mutator, index, seed, data, what, changes)


def _order(names, model: str, seed: int, salt: str) -> list[str]:
    names = sorted(names)
    perm = rng_for(model, salt, 0, seed).permutation(len(names))
    return [names[i] for i in perm]


def nth_mutant(seed_data: bytes, model: str, index: int, seed: int, kinds=("byte", "struct"),
               mutators: list[str] | None = None) -> Mutant:
    """The index-th mutant of a seed model in a campaign (index 0: the control)."""
    if index == 0:
        return make_mutant(seed_data, model, CONTROL, 0, seed)
    if mutators:  # an explicit list: round robin over it, in the order given
        lists = [list(mutators)]
        pick = 0
        position = index - 1
    else:
        lists = [_order(BYTE_MUTATORS, model, seed, "byte-order") if "byte" in kinds else [],
                 _order(STRUCT_MUTATORS, model, seed, "struct-order") if "struct" in kinds else []]
        pick = 0 if (index % 3 == 1 and lists[0]) or not lists[1] else 1
        position = index // 3 if pick == 0 else index - 1 - (index + 1) // 3
    names = lists[pick]
    for step in range(len(names)):
        name = names[(position + step) % len(names)]
        try:
            return make_mutant(seed_data, model, name, index, seed)
        except NotApplicable:
            continue
    # nothing in the list applies to this model: a byte flip always does
    return make_mutant(seed_data, model, "bit_flip", index, seed)

"""The mutators: deterministic, and each structural one writes a file the official schema parses with
exactly the change it claims (every Change re-read from the packed mutant and from the seed)."""
import pytest

from tinyq.fuzz import schema
from tinyq.fuzz.bytes_mutators import BYTE_MUTATORS
from tinyq.fuzz.mutants import CONTROL, make_mutant, mutant_id, nth_mutant, parse_id
from tinyq.fuzz.struct_mutators import MUTATORS, NotApplicable, get_path, normalize

# small models first: most mutators apply to the first one
SEED_ORDER = ("tflm_hello_world_int8", "tflm_simple_add_int8", "mlperf_kws_dscnn_int8", "tflm_micro_speech_int8",
              "mlperf_ic_resnet8_int8", "tflm_person_detect_int8", "tflm_keyword_scrambled")


@pytest.fixture(scope="module")
def seeds(shared_models):
    return {name: (shared_models / f"{name}.tflite").read_bytes() for name in SEED_ORDER}


def _first_applicable(seeds, mutator):
    for name, data in seeds.items():
        for index in range(1, 4):
            try:
                return data, make_mutant(data, name, mutator, index, 7)
            except NotApplicable:
                continue
    pytest.fail(f"{mutator} applies to none of {list(seeds)}")


@pytest.mark.parametrize("mutator", sorted(MUTATORS))
def test_struct_mutator_changes_what_it_claims(seeds, mutator):
    seed, m = _first_applicable(seeds, mutator)
    assert m.data[4:8] == b"TFL3" and m.data != seed
    assert m.changes, "a structural mutant must say what it changed"
    mutant, original = schema.load(m.data), schema.load(seed)
    for change in m.changes:
        assert change.old != change.new, change
        assert normalize(get_path(mutant, change.path)) == change.new, change
        assert normalize(get_path(original, change.path)) == change.old, change
    again = make_mutant(seed, m.model, mutator, m.index, m.seed)
    assert again.data == m.data and again.description == m.description


def test_builtin_code_only_keeps_every_opcode(seeds):
    seed = seeds["mlperf_kws_dscnn_int8"]  # written with deprecated_builtin_code only
    m = make_mutant(seed, "kws", "opcode_builtin_code_only", 1, 0)
    before, after = schema.load(seed).operatorCodes, schema.load(m.data).operatorCodes
    assert [schema.real_opcode(c) for c in after] == [schema.real_opcode(c) for c in before]
    assert all(c.deprecatedBuiltinCode == 0 for c in after)
    assert any(c.builtinCode > 0 for c in after)


def test_fc_weights_can_be_transposed(seeds):
    seed = seeds["tflm_hello_world_int8"]  # FC weights [16,1], [16,16], [1,16]
    shapes = set()
    for index in range(1, 30):
        m = make_mutant(seed, "hello", "shape_dims_swapped", index, 0)
        shapes |= {tuple(c.new) for c in m.changes}
    assert (16, 1) in shapes and (1, 16) in shapes


@pytest.mark.parametrize("mutator", sorted(BYTE_MUTATORS))
def test_byte_mutator_is_deterministic_and_changes_bytes(seeds, mutator):
    seed = seeds["mlperf_kws_dscnn_int8"]
    for index in range(1, 6):
        m = make_mutant(seed, "kws", mutator, index, 3)
        assert m.data != seed and m.kind == "byte"
        assert make_mutant(seed, "kws", mutator, index, 3).data == m.data
        if mutator in ("truncate", "chunk_delete"):
            assert len(m.data) < len(seed)
        elif mutator in ("chunk_duplicate", "chunk_insert"):
            assert len(m.data) > len(seed)
        else:
            assert len(m.data) == len(seed)
    assert make_mutant(seed, "kws", mutator, 1, 3).data != make_mutant(seed, "kws", mutator, 1, 4).data


def test_byte_mutators_aim_at_structure(seeds):
    seed = seeds["mlperf_ic_resnet8_int8"]
    ranges = schema.data_ranges(seed)
    assert sum(e - s for s, e in ranges) > 0.7 * len(seed)  # mostly weights

    in_weights = 0
    for index in range(1, 101):
        m = make_mutant(seed, "resnet", "byte_interesting", index, 0)
        pos = [i for i in range(len(seed)) if m.data[i] != seed[i]]
        in_weights += any(s <= p < e for p in pos for s, e in ranges)
    assert in_weights < 40  # one to four bytes each, nine in ten aimed outside the weights


def test_schedule_is_seeded_and_mixed(seeds):
    seed = seeds["tflm_hello_world_int8"]
    first = [nth_mutant(seed, "hello", i, 5) for i in range(30)]
    again = [nth_mutant(seed, "hello", i, 5) for i in range(30)]
    assert [m.data for m in first] == [m.data for m in again]
    assert first[0].mutator == CONTROL and first[0].data == seed
    kinds = [m.kind for m in first[1:]]
    assert 6 <= kinds.count("byte") <= 14 and kinds.count("struct") >= 15
    assert len({m.mutator for m in first}) >= 20
    other = [nth_mutant(seed, "hello", i, 6) for i in range(30)]
    assert [m.data for m in other] != [m.data for m in first]


def test_mutant_id_round_trips():
    assert parse_id(mutant_id("mlperf_kws_dscnn_int8", "scale_nan", 17, 3)) == ("mlperf_kws_dscnn_int8", "scale_nan", 17, 3)

"""The session cache's keys (tests/session_cache.py) tell apart every build that makes another model, and refuse
what they cannot describe: a wrong hit would hand a test someone else's model."""
from tests.session_cache import _key


def _builder(filters, act):
    def build():
        return ("conv", filters, act)

    return build


def _convert(build, seed, int16=False):
    return build()


def test_closure_values_defaults_and_arguments_are_keyed():
    a = _key(_convert, (_builder(4, "relu"), 1), {})
    assert a == _key(_convert, (_builder(4, "relu"), 1), {})
    assert len({a, _key(_convert, (_builder(5, "relu"), 1), {}), _key(_convert, (_builder(4, None), 1), {}),
                _key(_convert, (_builder(4, "relu"), 2), {}), _key(_convert, (_builder(4, "relu"), 1), {"int16": True})}) == 5


def test_code_is_keyed():
    def other():
        return ("conv", 4, "relu", "more")

    assert _key(_convert, (_builder(4, "relu"), 1), {}) != _key(_convert, (other, 1), {})


def test_an_object_it_cannot_describe_is_not_cached():
    class Layer:  # repr would not say what it builds
        pass

    layer = Layer()

    def build():
        return layer

    assert _key(_convert, (build, 1), {}) is None

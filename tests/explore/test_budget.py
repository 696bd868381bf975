"""Budget strings: the units --help documents, and bad ones named by option."""
import pytest

from tinyq.errors import InputError
from tinyq.explore.budget import COUNT_UNITS, Budgets, parse_amount


@pytest.mark.parametrize("text,value", [("4096", 4096), ("64k", 64000), ("64kB", 64000), ("64KB", 64000),
                                        ("64KiB", 65536), ("1.5MB", 1_500_000), ("1.5MiB", 1_572_864),
                                        ("2048B", 2048), (" 3 KiB ", 3072), (1000, 1000)])
def test_byte_units(text, value):
    assert parse_amount(text, "--flash-budget") == value


@pytest.mark.parametrize("text", ["64kb", "64 mega", "-5", "0", "1.5", "0.3B", "KiB", "64m", "inf"])
def test_bad_bytes_name_the_option(text):
    with pytest.raises(InputError, match="--ram-budget"):
        parse_amount(text, "--ram-budget")


def test_instruction_units_are_decimal_counts():
    assert parse_amount("2.5M", "--instructions-budget", COUNT_UNITS) == 2_500_000
    with pytest.raises(InputError, match="--instructions-budget"):
        Budgets.parse(instructions="2MiB")


def test_fits_and_misses():
    b = Budgets.parse(flash="3KiB", instructions="1M")
    assert b.fits(3072, 10**9, 10**6) and not b.fits(3073, 0, 0)
    assert b.misses(4000, 0, None) == ["flash", "instructions"]  # an unknown count cannot be shown to fit

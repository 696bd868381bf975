# tinyq: the two commands the README promises.
#   make demo   set up everything, then run the main job on the bundled digits example
#   make test   set up if needed, then run the whole test suite (what CI runs)
# and a second demo:
#   make demo-lowbit  the low-bit trade-off tables (float, int8, int4, ternary, mixed, 75 % sparse) of both examples
#   make demo-levels  three precision levels of digits in one image, and a firmware loop that switches them
.PHONY: setup demo demo-lowbit demo-levels test test-fast docs bench

setup:
	bash scripts/setup.sh

demo: setup
	.venv/bin/python examples/digits/run_demo.py

# Trains each example once (delete build/<example>/ to retrain), then quantizes, measures and verifies every variant.
demo-lowbit: setup
	test -f build/digits/digits.keras || .venv/bin/python examples/digits/train.py build/digits
	test -f build/shapes/shapes.keras || .venv/bin/python examples/shapes/train.py build/shapes
	.venv/bin/python examples/tradeoff.py build/digits
	.venv/bin/python examples/tradeoff.py build/shapes

demo-levels: setup
	.venv/bin/python examples/levels/run_demo.py

# -n 2: the machines here have two cores; --durations shows where the time goes.
test: setup
	.venv/bin/python -m pytest -n 2 --dist worksteal --durations=40 -p no:cacheprovider tests

test-fast: setup
	.venv/bin/python -m pytest -n 2 -m "not slow" tests

docs: setup
	.venv/bin/python -m tinyq.support > docs/SUPPORTED_OPS.md

bench: setup
	.venv/bin/python benchmarks/sim_vs_tflm.py

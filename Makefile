# tinyq: the two commands the README promises.
#   make demo   set up everything, then run the main job on the bundled digits example
#   make test   set up if needed, then run the whole test suite (what CI runs)
.PHONY: setup demo test test-fast docs bench

setup:
	bash scripts/setup.sh

demo: setup
	.venv/bin/python examples/digits/run_demo.py

# -n 2: the machines here have two cores; --durations shows where the time goes.
test: setup
	.venv/bin/python -m pytest -n 2 --durations=15 -p no:cacheprovider tests

test-fast: setup
	.venv/bin/python -m pytest -n 2 -m "not slow" tests

docs: setup
	.venv/bin/python -m tinyq.support > docs/SUPPORTED_OPS.md

bench: setup
	.venv/bin/python benchmarks/sim_vs_tflm.py

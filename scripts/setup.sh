#!/usr/bin/env bash
# Set up everything tinyq needs on a fresh Debian/Ubuntu machine: system packages (ARM GCC, newlib,
# QEMU, a C compiler, Python 3.11 venv support) and the Python environment in .venv/.
# Idempotent: a second run only checks. Needs root or sudo for the system packages.
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi

need_apt=()
command -v arm-none-eabi-gcc >/dev/null || need_apt+=(gcc-arm-none-eabi)
[ -f /usr/lib/arm-none-eabi/newlib/libc.a ] || need_apt+=(libnewlib-arm-none-eabi)
command -v qemu-system-arm >/dev/null || need_apt+=(qemu-system-arm)
command -v cc >/dev/null || need_apt+=(gcc)
command -v make >/dev/null || need_apt+=(make)
command -v cmake >/dev/null || need_apt+=(cmake)  # the tests build `tinyq export --format cmake`
command -v git >/dev/null || need_apt+=(git)
# `tinyq flash` uploads through these (nRF boards use Nordic's nrfjprog, which Debian does not package)
command -v openocd >/dev/null || need_apt+=(openocd)
command -v st-flash >/dev/null || need_apt+=(stlink-tools)
PYTHON="${PYTHON:-}"
if [ -z "$PYTHON" ]; then
  for p in python3.11 python3; do
    if command -v "$p" >/dev/null && "$p" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then PYTHON=$p; break; fi
  done
fi
if [ -z "$PYTHON" ]; then need_apt+=(python3.11 python3.11-venv); PYTHON=python3.11; fi
if ! "$PYTHON" -c 'import ensurepip, venv' 2>/dev/null; then need_apt+=(python3.11-venv); fi

if [ ${#need_apt[@]} -gt 0 ]; then
  echo "setup: installing system packages: ${need_apt[*]}"
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${need_apt[@]}"
fi

if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv with $PYTHON"
  "$PYTHON" -m venv .venv
fi
stamp=.venv/.tinyq-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ] || [ scripts/setup.sh -nt "$stamp" ]; then
  echo "setup: installing Python packages into .venv (TensorFlow is large: a few minutes on a fresh machine)"
  .venv/bin/python -m pip install -q --upgrade pip
  # dm-tree and mock: what tfmot needs at run time, resolved here with everything else
  .venv/bin/python -m pip install -q -e ".[tf,test,examples]" dm-tree mock
  # Quantization-aware training: tfmot and tf-keras declare a dependency on the full `tensorflow` wheel,
  # which would be installed on top of tensorflow-cpu, and tfmot pins absl-py~=1.2 where TensorFlow 2.21
  # needs 2.x (tfmot runs with 2.x: tests/quantize/test_qat.py). Installed last and without deps, so
  # pip's resolver neither pulls the full wheel nor prints a conflict ERROR on a setup that works.
  .venv/bin/python -m pip install -q --no-deps tensorflow-model-optimization==0.8.1 tf-keras==2.21.0
  touch "$stamp"
fi
echo "setup: done ($(.venv/bin/python --version), $(arm-none-eabi-gcc --version | head -1), $(qemu-system-arm --version | head -1))"

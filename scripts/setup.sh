#!/usr/bin/env bash
# Create (or reuse) the virtual environment and install kgbuild into it.
# Usage: scripts/setup.sh [dev]      KGBUILD_VENV overrides the location (default: .venv in the repo).
set -euo pipefail
cd "$(dirname "$0")/.."
venv="${KGBUILD_VENV:-.venv}"
extra="${1:-}"

find_python() {
  for candidate in python3.12 "$HOME"/.pyenv/versions/3.12*/bin/python3.12 python3.13 python3; do
    # stderr silenced: a pyenv shim for a version that is not installed prints "command not found" here
    if command -v "$candidate" >/dev/null 2>&1 && "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null; then
      echo "$candidate"; return 0
    fi
  done
  echo "kgbuild needs Python >= 3.12 (none found on PATH or under ~/.pyenv)" >&2
  return 1
}

if [ ! -x "$venv/bin/python" ]; then
  python="$(find_python)"
  echo "[setup] creating $venv with $("$python" --version)"
  "$python" -m venv "$venv"
  "$venv/bin/python" -m pip install -q --upgrade pip
fi
target="."
[ "$extra" = "dev" ] && target=".[dev]"
echo "[setup] installing kgbuild${extra:+ [$extra]} into $venv (first time: a few minutes, torch is large)"
"$venv/bin/python" -m pip install -q --disable-pip-version-check -e "$target"

"""scripts/setup.sh's Python probe is quiet: a pyenv shim for a version that is not installed prints nothing."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from kgbuild.resources import REPO_ROOT


def test_the_python_probe_prints_no_shim_noise(tmp_path: Path) -> None:
    shims = tmp_path / "shims"
    shims.mkdir()
    shim = shims / "python3.12"  # what pyenv puts on PATH for a version this machine does not have
    shim.write_text("#!/bin/sh\necho 'pyenv: python3.12: command not found' >&2\nexit 127\n")
    shim.chmod(0o755)
    real = shims / "python3"
    real.symlink_to(sys.executable)  # a Python >= 3.12 further down the candidate list
    script = f'eval "$(sed -n "/^find_python()/,/^}}/p" {REPO_ROOT / "scripts" / "setup.sh"})"; find_python'
    env = {**os.environ, "PATH": f"{shims}:/usr/bin:/bin", "HOME": str(tmp_path)}
    result = subprocess.run(["bash", "-c", script], capture_output=True, text=True, env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "python3" and result.stderr == ""

"""pyproject.toml: `pip install bindings/python` works offline, without a
compiler, and installs the typed package."""

import os
import shutil
import subprocess
import sys

import pytest

import baton

PKG = os.path.dirname(os.path.dirname(os.path.abspath(baton.__file__)))


def test_pip_install_offline(tmp_path):
    if subprocess.run([sys.executable, "-m", "pip", "--version"],
                      capture_output=True).returncode != 0:
        pytest.skip("no pip for %s (Debian: python3-pip)" % sys.executable)
    if not os.path.exists(os.path.join(PKG, "pyproject.toml")):
        pytest.skip("baton is not imported from its source tree")
    # a copy: an in-tree build writes build/ and *.egg-info next to the
    # sources, which may be read-only (make distcheck)
    src = tmp_path / "src"
    shutil.copytree(PKG, src, ignore=shutil.ignore_patterns(
        "tests", "__pycache__", "build", "*.egg-info"))
    target = tmp_path / "site"
    env = dict(os.environ, PIP_NO_INDEX="1", PIP_DISABLE_PIP_VERSION_CHECK="1")
    p = subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps",
                        "--no-build-isolation", "--no-index", "--target",
                        str(target), str(src)], env=env,
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stdout + p.stderr
    for f in ("__init__.py", "_native.py", "client.py", "errors.py",
              "fastapi.py", "mcp.py", "py.typed"):
        assert (target / "baton" / f).exists(), f
    assert not (target / "tests").exists()
    env = dict(os.environ, PYTHONPATH=str(target), PYTHONDONTWRITEBYTECODE="1")
    p = subprocess.run([sys.executable, "-c",
                        "import baton; print(baton.__file__); "
                        "print(baton.version())"],
                       env=env, capture_output=True, text=True, timeout=60,
                       cwd=str(tmp_path))
    assert p.returncode == 0, p.stderr
    assert p.stdout.splitlines()[0].startswith(str(target))
    assert p.stdout.splitlines()[1] == baton.version()

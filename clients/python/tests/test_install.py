"""``pip install ./clients/python`` into a fresh virtual environment, as a user installs it."""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import permd
from conftest import ADMIN_TOKEN, PACKAGE_ROOT, Server


def test_pip_install_into_a_venv_then_import_and_use(server: Server, tmp_path: Path) -> None:
    # Installed from a copy: building writes build/ and *.egg-info next to the sources.
    source = tmp_path / "python"
    shutil.copytree(PACKAGE_ROOT, source, ignore=shutil.ignore_patterns("tests", "build", "*.egg-info", "__pycache__"))
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    install = subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", str(source)], capture_output=True, text=True
    )
    assert install.returncode == 0, install.stdout + install.stderr
    script = textwrap.dedent(
        f"""
        import pathlib, sys
        import permd
        here = pathlib.Path(permd.__file__).resolve()
        assert pathlib.Path(sys.prefix).resolve() in here.parents, here
        assert (here.parent / "py.typed").exists()
        with permd.Client({server.host!r}, {server.port}, token={ADMIN_TOKEN!r}) as client:
            user, _ = client.user_add(organizations=["org_acme"], roles=["billing"])
            print(permd.__version__, client.ping(), client.check(user, "org_acme", "write:invoices"))
        """
    )
    # From an empty folder with a clean environment: nothing but the venv can provide permd.
    ran = subprocess.run(
        [str(python), "-I", "-c", script], cwd=tmp_path, capture_output=True, text=True, env={"PATH": "/usr/bin:/bin"}
    )
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert ran.stdout.split() == [permd.__version__, "True", "True"]
    listed = subprocess.run([str(python), "-m", "pip", "show", "permd"], capture_output=True, text=True, check=True)
    assert "Requires: \n" in listed.stdout or "Requires:\n" in listed.stdout, "no dependencies"

"""The algo client is a distribution of its own: ``pip install ./tradingsite_client`` into a
fresh virtual environment (no system site-packages, so nothing of the repository's venv) gives
an importable package and a working command line, used from outside the repository."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PROJECT = REPO / "tradingsite_client"
NEW_COMMANDS = ("positions", "holdings", "trades", "funds", "modify", "cancel")


@pytest.fixture
def no_build_leftovers():
    """setuptools builds in the source tree; remove what this install left there, only that."""
    leftovers = [PROJECT / "build", PROJECT / "tradingsite_client.egg-info"]
    existed = {path for path in leftovers if path.exists()}
    yield
    for path in set(leftovers) - existed:
        shutil.rmtree(path, ignore_errors=True)


def run(*argv: str | Path, cwd: Path, env: dict[str, str], timeout: int = 300):
    return subprocess.run(
        [str(arg) for arg in argv], cwd=cwd, env=env, capture_output=True, text=True,
        timeout=timeout, check=False,
    )  # fmt: skip


@pytest.mark.django_db(transaction=True)
def test_pip_install_gives_a_package_and_a_command_line_outside_the_repo(
    tmp_path, no_build_leftovers, algo
):
    # The environment has no PYTHONPATH or virtualenv of ours, and pip's own config only.
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "VIRTUAL_ENV"}}
    made = run(sys.executable, "-m", "venv", tmp_path / "venv", cwd=tmp_path, env=env)
    assert made.returncode == 0, made.stderr
    python = tmp_path / "venv" / "bin" / "python"
    installed = run(python, "-m", "pip", "install", "-q", PROJECT, cwd=tmp_path, env=env)
    assert installed.returncode == 0, installed.stdout + installed.stderr

    probe = run(
        python, "-c",
        "import importlib.util, json, tradingsite_client as c;"
        "print(json.dumps([c.__file__, c.TradingSite.__name__,"
        " importlib.util.find_spec('django') is None]))",
        cwd=tmp_path, env=env,
    )  # fmt: skip
    assert probe.returncode == 0, probe.stderr
    where, name, no_django = json.loads(probe.stdout)
    assert Path(where).is_relative_to(tmp_path / "venv")  # the installed copy, not the repo's
    assert (name, no_django) == ("TradingSite", True)

    helped = run(python, "-m", "tradingsite_client", "--help", cwd=tmp_path, env=env)
    assert helped.returncode == 0, helped.stderr
    listed = helped.stdout.split("positional arguments:")[1].splitlines()
    commands = {line.split()[0] for line in listed if line.startswith("    ") and line[4] != " "}
    assert set(NEW_COMMANDS) <= commands, helped.stdout

    # And it signs requests with the dependencies pip installed (env: the algo's key).
    me = run(python, "-m", "tradingsite_client", "me", cwd=tmp_path, env=env)
    assert me.returncode == 0, me.stderr
    assert json.loads(me.stdout)["username"] == "algo1"

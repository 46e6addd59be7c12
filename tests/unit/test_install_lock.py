"""requirements.lock (``make lock``) against pyproject.toml's pins and the installed venv."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from importlib import metadata

from packaging.requirements import Requirement

from dagster_project.devtools.lock import EXTRAS, PROJECT, normalize, parse
from dagster_project.settings import PROJECT_ROOT

LOCK = parse((PROJECT_ROOT / "requirements.lock").read_text())
PYPROJECT = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())["project"]
DIRECT = [Requirement(r) for r in PYPROJECT["dependencies"]] + [
    Requirement(r) for extra in EXTRAS.split(",") for r in PYPROJECT["optional-dependencies"][extra]]
# installed by `make install` beside the lock: the build tools and the project itself
NOT_LOCKED = {"pip", "wheel", PROJECT}


def test_every_pin_of_pyproject_is_locked_at_its_version():
    for req in DIRECT:
        (pin,) = req.specifier
        assert pin.operator == "==", f"{req} is not pinned exactly"
        locked = LOCK.get(normalize(req.name))
        # PEP 440: ==2.13.0 admits a local build such as torch's 2.13.0+cpu
        assert locked is not None and pin.contains(locked), (req, locked)


def test_the_lock_is_the_transitive_closure_of_pyproject_no_more_no_less():
    """Follow each installed distribution's requirements (markers and extras evaluated) from
    pyproject's: the packages reached are exactly the locked ones."""
    reached, todo = set(), [(normalize(r.name), frozenset(r.extras)) for r in DIRECT]
    while todo:
        name, extras = todo.pop()
        if (name, extras) in reached:
            continue
        reached.add((name, extras))
        for text in metadata.requires(name) or []:
            req = Requirement(text)
            environments = [{"extra": e} for e in extras] or [{"extra": ""}]
            if req.marker is None or any(req.marker.evaluate(env) for env in environments):
                todo.append((normalize(req.name), frozenset(req.extras)))
    assert {name for name, _ in reached} == set(LOCK)


def test_the_venv_holds_exactly_the_locked_versions():
    installed = {normalize(d.metadata["Name"]): d.version for d in metadata.distributions()}
    assert {n: v for n, v in installed.items() if n not in NOT_LOCKED} == LOCK


def test_pip_check_finds_no_broken_requirement():
    result = subprocess.run([sys.executable, "-m", "pip", "check"], capture_output=True,
                            text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stdout + result.stderr

"""Set-up stays true: conda/Binder and pip name the same packages; CI runs the README's command."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent


def _pyproject() -> dict:
    return tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))


def _pyproject_requirements() -> list[str]:
    project = _pyproject()["project"]
    return project["dependencies"] + project["optional-dependencies"]["test"]


def _environment_pip() -> list[str]:
    env = yaml.safe_load((REPO / "environment.yml").read_text(encoding="utf-8"))
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d)
    return [r for r in pip if not r.startswith("-e")]


def _name(req: str) -> str:
    return re.split(r"[~=<>!\[ ]", req, maxsplit=1)[0].lower().replace("_", "-")


def test_environment_yml_names_the_same_packages_and_pins_as_pyproject():
    assert sorted(_environment_pip()) == sorted(_pyproject_requirements())


def test_environment_yml_python_matches_requires_python():
    env = yaml.safe_load((REPO / "environment.yml").read_text(encoding="utf-8"))
    assert "python=3.11" in env["dependencies"]
    assert _pyproject()["project"]["requires-python"].startswith(">=3.11")


def test_every_requirement_is_pinned_compatibly():
    for req in _pyproject_requirements():
        assert "~=" in req, f"{req} should carry a compatible (~=) pin"


def test_the_fixed_packages_are_all_there():
    names = {_name(r) for r in _pyproject_requirements()}
    for needed in ("jupyterlab", "ipywidgets", "voila", "pandas", "altair", "nbval", "ipykernel"):
        assert needed in names


def _readme_commands() -> list[str]:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    quick = text.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"^```(?:bash|sh)?\n(.+?)\n```", quick, flags=re.M | re.S)


def test_readme_quick_start_has_exactly_two_one_line_commands():
    commands = _readme_commands()
    assert commands == ["make serve", "make test"], commands


def test_ci_runs_exactly_the_readme_test_command():
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    lines = [ln.strip() for ln in ci.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    assert lines[-1] == _readme_commands()[1]
    assert "chromium" in ci


def test_makefile_test_target_runs_pytest_with_the_configured_options():
    makefile = (REPO / "Makefile").read_text(encoding="utf-8")
    target = makefile.split("\ntest:", 1)[1].split("\n\n", 1)[0]
    assert "-m pytest" in target
    options = _pyproject()["tool"]["pytest"]["ini_options"]
    assert "--nbval " in options["addopts"] + " " and "--nbval-lax" not in options["addopts"]

"""Notebooks are committed without outputs (the diff of a notebook is the diff of its code), and
each is the url of one notebook exposure in dbt/models/exposures.yml."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def test_there_are_notebooks_to_check():
    assert NOTEBOOKS


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_committed_notebook_has_no_outputs_and_is_valid(path):
    book = nbformat.read(path, as_version=4)
    nbformat.validate(book)
    code = [c for c in book.cells if c.cell_type == "code"]
    with_output = [i for i, c in enumerate(code) if c.outputs or c.execution_count is not None]
    assert not with_output, f"{path.name}: code cells {with_output} carry outputs; clear them " \
        "(Jupyter: Edit > Clear Outputs of All Cells)"


def test_every_notebook_is_exactly_one_dbt_exposure_and_every_exposure_names_a_notebook():
    exposures = yaml.safe_load((ROOT / "dbt" / "models" / "exposures.yml").read_text())["exposures"]
    urls = [e.get("url") for e in exposures if e["type"] == "notebook"]
    assert sorted(urls) == [f"notebooks/{p.name}" for p in NOTEBOOKS]

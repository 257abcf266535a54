"""The numeric core knows nothing of the page: its modules import only NumPy and the standard
library (relative imports within lrcore are fine)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import lrcore

NUMERIC_MODULES = (
    "data",
    "model",
    "optim",
    "train",
    "settings",
    "datasets",
    "explain",
    "cli",
    "linkpoints",
    "sweep",
)
ALLOWED = set(sys.stdlib_module_names) | {"numpy"}
UI = ("streamlit", "plotly", "altair", "matplotlib")  # pandas may load lazily (csvdata)
PACKAGE = Path(lrcore.__file__).parent


def foreign_imports(source: str) -> list[str]:
    """Top-level names of every absolute import in source that is neither NumPy nor stdlib."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            names = [node.module or ""]
        else:
            continue
        found += [name for name in names if name.split(".")[0] not in ALLOWED]
    return found


@pytest.mark.parametrize("module", NUMERIC_MODULES)
def test_numeric_module_imports_only_numpy_and_stdlib(module):
    source = (PACKAGE / f"{module}.py").read_text(encoding="utf-8")
    assert foreign_imports(source) == []


@pytest.mark.parametrize("path", sorted(PACKAGE.glob("*.py")), ids=lambda p: p.name)
def test_no_lrcore_module_imports_a_ui_library(path):
    found = foreign_imports(path.read_text(encoding="utf-8"))
    assert [name for name in found if name.split(".")[0] in UI] == []


def test_importing_lrcore_loads_no_ui_library():
    """At run time too: every lrcore module imported in a fresh interpreter, and none of the
    chart or page libraries appears in sys.modules (nor pandas, which loads only to read a
    file)."""
    modules = sorted(f"lrcore.{p.stem}" for p in PACKAGE.glob("*.py") if p.stem != "__main__")
    unwanted = (*UI, "pandas")
    code = (
        f"import sys, {', '.join(modules)}\n"
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in {unwanted!r}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=PACKAGE.parent, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_the_check_catches_foreign_imports():
    source = """
import math, numpy as np
import plotly.graph_objects as go
from . import optim
from .model import eigen
from streamlit import cache_data
from numpy.linalg import lstsq
def f():
    import pandas
"""
    assert foreign_imports(source) == ["plotly.graph_objects", "streamlit", "pandas"]


ROOT = PACKAGE.parent
PAGE = ROOT / "lrui"
CLASS = ROOT / "lrclass"  # the class store: SQLAlchemy and the standard library, no page


def test_the_page_is_app_py_and_the_lrui_package():
    """The folder tree is the architecture: at the top level app.py is the only module, and
    every other module of the page lives in lrui/."""
    assert sorted(p.name for p in ROOT.glob("*.py")) == ["app.py"]
    assert (PAGE / "__init__.py").is_file() and not (ROOT / "pages").exists()


def test_only_the_page_touches_streamlit_and_plotly():
    """Streamlit and Plotly are imported by app.py and lrui/ only (tests and scripts aside)."""
    touching = sorted(
        str(path.relative_to(ROOT))
        for folder in (ROOT, PACKAGE, CLASS)
        for path in folder.glob("*.py")
        if any(name.split(".")[0] in UI for name in foreign_imports(path.read_text()))
    )
    assert touching == ["app.py"]


def test_the_class_store_loads_no_page_library():
    """lrclass (the store the page's class board uses) imports neither Streamlit nor Plotly
    (nor pandas), in its source and at run time."""
    for path in CLASS.glob("*.py"):
        found = foreign_imports(path.read_text(encoding="utf-8"))
        assert [name for name in found if name.split(".")[0] not in ("sqlalchemy",)] == []
    modules = sorted(f"lrclass.{p.stem}" for p in CLASS.glob("*.py"))
    code = (
        f"import sys, {', '.join(modules)}\n"
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in {(*UI, 'pandas')!r}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"

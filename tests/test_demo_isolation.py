"""Production code never imports the demo app (SPEC §2): tickets, freshworks and yam stand alone.

Two checks, as an import can hide from either: every import statement (and `import_module` of a
literal name) in their source, wherever it sits; and what a fresh interpreter has loaded after
importing every one of their modules, where the app registry's own `demo` and `demo.apps` are
all there may be.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PRODUCTION = ("tickets", "freshworks", "yam")
# What INSTALLED_APPS loads of any app: its package and its AppConfig module.
REGISTRY_ONLY = ["demo", "demo.apps"]


def imported_names(path: Path) -> Iterator[tuple[int, str]]:
    """(line, module) of every absolute import in `path`, top-level or not."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.lineno, node.module
        elif (
            isinstance(node, ast.Call)
            and getattr(node.func, "attr", getattr(node.func, "id", None))
            in {"import_module", "__import__"}
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            yield node.lineno, node.args[0].value


def demo_imports(path: Path) -> list[str]:
    return [
        f"{path.relative_to(ROOT)}:{line} imports {name}"
        for line, name in imported_names(path)
        if name == "demo" or name.startswith("demo.")
    ]


def test_no_production_source_file_imports_the_demo_app():
    files = [path for package in PRODUCTION for path in sorted((ROOT / package).rglob("*.py"))]

    found = [line for path in files for line in demo_imports(path)]

    assert len(files) > 30  # the scan reads the packages, not an empty folder
    assert found == []


def test_the_scan_sees_demo_imports_where_there_are_some():
    # The tests and the demo's own command import it; the scan must say so.
    assert demo_imports(ROOT / "tests" / "test_demo.py")
    assert demo_imports(ROOT / "demo" / "management" / "commands" / "runsite.py")


IMPORT_EVERYTHING = """
import importlib, pkgutil, sys
import django
django.setup()
names = []
for package in {packages!r}:
    module = importlib.import_module(package)
    names.append(package)
    names += [info.name for info in pkgutil.walk_packages(module.__path__, package + ".")]
for name in names:
    importlib.import_module(name)
print(len(names))
print(" ".join(sorted(m for m in sys.modules if m == "demo" or m.startswith("demo."))))
"""


def test_importing_every_production_module_loads_no_demo_code():
    env = os.environ | {"DJANGO_SETTINGS_MODULE": "yam.settings"}
    done = subprocess.run(
        [sys.executable, "-c", IMPORT_EVERYTHING.format(packages=PRODUCTION)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert done.returncode == 0, done.stderr
    count, loaded = done.stdout.splitlines()
    assert int(count) > 30
    assert loaded.split() == REGISTRY_ONLY

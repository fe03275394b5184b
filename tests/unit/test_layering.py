"""One module per concern (STYLE 1): what each module may import, and explicit ``__all__``."""

from __future__ import annotations

import ast
import importlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

import providers

PACKAGE = Path(providers.__file__).resolve().parent
MODULES = sorted(
    ".".join(("providers", *p.relative_to(PACKAGE).with_suffix("").parts)).removesuffix(".__init__")
    for p in PACKAGE.rglob("*.py")
)
TOP_LEVEL = sorted(p for p in PACKAGE.glob("*.py"))

# (module, third-party packages that importing it must not load)
LAYERS = [
    ("providers.client", ["pulumi", "yaml", "jsonschema"]),
    ("providers.errors", ["pulumi", "httpx", "yaml", "jsonschema"]),
    ("providers.connection", ["pulumi", "httpx", "yaml"]),
    ("providers.schema", ["pulumi", "httpx", "yaml"]),
    ("providers.model", ["pulumi", "httpx", "yaml"]),
    ("providers.stack", ["pulumi", "httpx"]),
    ("providers.export", ["pulumi", "httpx"]),
    ("providers.session", ["pulumi", "yaml"]),
    ("providers.cli", ["pulumi", "httpx"]),
]


@pytest.mark.parametrize(
    ("module", "forbidden"),
    LAYERS,
    ids=[f"importing {m} loads none of {', '.join(f)}" for m, f in LAYERS],
)
def test_importing_a_module_loads_only_its_own_layer(module: str, forbidden: list[str]) -> None:
    script = (
        "import json, sys\n"
        f"import {module}\n"
        "print(json.dumps(sorted({name.split('.')[0] for name in sys.modules})))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60
    )
    loaded = set(json.loads(done.stdout))
    assert module.split(".")[0] in loaded
    assert sorted(loaded & set(forbidden)) == []


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def _importers(prefix: str) -> list[str]:
    return sorted(
        p.name
        for p in TOP_LEVEL
        if any(name == prefix or name.startswith(prefix + ".") for name in _imports(p))
    )


def test_only_the_client_imports_httpx() -> None:
    assert _importers("httpx") == ["client.py"]


def test_only_the_provider_module_imports_pulumi_dynamic() -> None:
    assert _importers("pulumi.dynamic") == ["inference_endpoint.py"]


def test_only_the_provider_and_the_program_import_pulumi() -> None:
    assert _importers("pulumi") == ["inference_endpoint.py", "program.py"]


def test_only_the_stack_module_imports_yaml() -> None:
    assert _importers("yaml") == ["stack.py"]


def _defined(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            for target in node.targets:
                names.update(n.id for n in ast.walk(target) if isinstance(n, ast.Name))
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
    return names


def _path(module: str) -> Path:
    parts = module.split(".")[1:]
    candidate = PACKAGE.joinpath(*parts).with_suffix(".py") if parts else PACKAGE / "__init__.py"
    return candidate if candidate.is_file() else PACKAGE.joinpath(*parts, "__init__.py")


def test_the_package_has_the_modules_these_tests_expect() -> None:
    assert {
        "providers",
        "providers.client",
        "providers.emulator",
        "providers.emulator.serve",
    } <= set(MODULES)


@pytest.mark.parametrize(
    "module", MODULES, ids=[f"{m} has an explicit __all__ of names it has" for m in MODULES]
)
def test_every_module_has_an_explicit_all_of_existing_names(module: str) -> None:
    imported = importlib.import_module(module)
    exported = imported.__dict__.get("__all__")
    assert isinstance(exported, list), f"{module} has no __all__ list"
    assert len(set(exported)) == len(exported)
    assert [name for name in exported if not hasattr(imported, name)] == []


@pytest.mark.parametrize(
    "module",
    [m for m in MODULES if _path(m).name != "__init__.py"],
    ids=[f"{m} exports only names it defines" for m in MODULES if _path(m).name != "__init__.py"],
)
def test_a_module_exports_only_names_it_defines(module: str) -> None:
    # Packages may re-export their submodules' names; a module re-exporting an import hides
    # where the name lives.
    exported = importlib.import_module(module).__all__
    assert sorted(set(exported) - _defined(_path(module))) == []

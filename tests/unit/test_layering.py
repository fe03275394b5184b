"""One module per concern (STYLE 1): what each module may import, and explicit ``__all__``.

Two packages ship in the distribution: ``providers`` (the product) and ``emulators`` (the
stand-ins for Elasticsearch and Hugging Face that the tests and the demo run against). The
emulators must stay independent of the product to be a check on it, so the import rules hold
both ways, over every module of each package, nested ones included.
"""

from __future__ import annotations

import ast
import importlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

import emulators
import providers


def _modules(package: Path, name: str) -> list[str]:
    return sorted(
        ".".join((name, *p.relative_to(package).with_suffix("").parts)).removesuffix(".__init__")
        for p in package.rglob("*.py")
    )


PROVIDERS = Path(providers.__file__).resolve().parent
EMULATORS = Path(emulators.__file__).resolve().parent
PROVIDER_MODULES = _modules(PROVIDERS, "providers")
EMULATOR_MODULES = _modules(EMULATORS, "emulators")
MODULES = PROVIDER_MODULES + EMULATOR_MODULES

# httpx's command-line client, which importing httpx tries (providers/__init__.py). pytest
# needs pygments and Flask needs click, so here both are installed and the try would load them.
HTTPX_CLI = ["click", "pygments"]

# (module, third-party packages that importing it must not load)
LAYERS = [
    ("providers.client", ["pulumi", "yaml", "jsonschema", "emulators", *HTTPX_CLI]),
    ("providers.errors", ["pulumi", "httpx", "yaml", "jsonschema", "emulators"]),
    ("providers.connection", ["pulumi", "httpx", "yaml", "emulators"]),
    ("providers.secret_references", ["pulumi", "httpx", "yaml", "jsonschema", "emulators"]),
    ("providers.schema", ["pulumi", "httpx", "yaml", "emulators"]),
    ("providers.model", ["pulumi", "httpx", "yaml", "emulators"]),
    ("providers.stack", ["pulumi", "httpx", "emulators"]),
    ("providers.export", ["pulumi", "httpx", "emulators"]),
    ("providers.session", ["pulumi", "yaml", "emulators"]),
    ("providers.operations", ["pulumi", "httpx", "emulators"]),
    ("providers.pickler", ["pulumi", "httpx", "yaml", "jsonschema", "emulators"]),
    ("providers.cli", ["pulumi", "httpx", "emulators"]),
    ("providers.inference_endpoint", ["emulators", "werkzeug"]),
    ("providers.hf_client", ["pulumi", "yaml", "jsonschema", "emulators", *HTTPX_CLI]),
    ("providers.hf_model", ["pulumi", "httpx", "yaml", "emulators"]),
    ("providers.hf_stack", ["pulumi", "httpx", "yaml", "emulators"]),
    ("providers.hf_preflight", ["pulumi", "yaml", "emulators"]),
    ("providers.huggingface_endpoint", ["emulators", "werkzeug"]),
    *((m, ["providers", "pulumi"]) for m in EMULATOR_MODULES),
]


def _loaded_by(module: str) -> set[str]:
    script = (
        "import json, sys\n"
        f"import {module}\n"
        # A None entry is a module blocked from loading (providers/__init__.py), not a loaded one.
        "loaded = {name.split('.')[0] for name, m in sys.modules.items() if m is not None}\n"
        "print(json.dumps(sorted(loaded)))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60
    )
    return set(json.loads(done.stdout))


@pytest.mark.parametrize(
    ("module", "forbidden"),
    LAYERS,
    ids=[f"importing {m} loads none of {', '.join(f)}" for m, f in LAYERS],
)
def test_importing_a_module_loads_only_its_own_layer(module: str, forbidden: list[str]) -> None:
    loaded = _loaded_by(module)
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


def _importers(package: Path, prefix: str) -> list[str]:
    return sorted(
        p.relative_to(package).as_posix()
        for p in package.rglob("*.py")
        if any(name == prefix or name.startswith(prefix + ".") for name in _imports(p))
    )


def test_only_the_api_client_modules_import_httpx() -> None:
    # The Elasticsearch client and the Hugging Face Inference Endpoints client.
    assert _importers(PROVIDERS, "httpx") == ["client.py", "hf_client.py"]


def test_only_the_provider_modules_import_pulumi_dynamic() -> None:
    # host_warm_up.py runs Pulumi's dynamic-provider host itself, with the providers imported early.
    assert _importers(PROVIDERS, "pulumi.dynamic") == [
        "host_warm_up.py",
        "huggingface_endpoint.py",
        "inference_endpoint.py",
    ]


def test_only_the_providers_and_the_program_import_pulumi() -> None:
    # sdk_costs.py is the program's: what it turns off in the SDK before declaring.
    # provider_start.py is the program's first act: it asks the engine for the provider host.
    assert _importers(PROVIDERS, "pulumi") == [
        "engine.py",
        "host_warm_up.py",
        "huggingface_endpoint.py",
        "inference_endpoint.py",
        "program.py",
        "provider_start.py",
        "sdk_costs.py",
    ]


def test_only_the_stack_module_and_the_behaviour_matrix_import_yaml() -> None:
    assert _importers(PROVIDERS, "yaml") == ["behaviour.py", "stack.py"]


def test_only_the_cli_entry_of_the_product_imports_the_emulators() -> None:
    assert _importers(PROVIDERS, "emulators") == ["cli.py"]


def test_the_emulators_never_import_the_product() -> None:
    assert _importers(EMULATORS, "providers") == []
    assert _importers(EMULATORS, "pulumi") == []


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
    top, *parts = module.split(".")
    package = PROVIDERS if top == "providers" else EMULATORS
    candidate = package.joinpath(*parts).with_suffix(".py") if parts else package / "__init__.py"
    return candidate if candidate.is_file() else package.joinpath(*parts, "__init__.py")


def test_the_packages_have_the_modules_these_tests_expect() -> None:
    assert {
        "providers",
        "providers.client",
        "emulators",
        "emulators.serve",
        "emulators.elasticsearch.app",
        "emulators.elasticsearch.services.hugging_face",
        "emulators.huggingface.inference_server",
        "emulators.lab",
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

"""A new inference service is schema files only: the provider package names no service."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SERVICES = sorted(p.name for p in (ROOT / "schemas").iterdir() if p.is_dir() and p.name != "common")
# "elasticsearch" is also the stack file's connection block and the resource's type module, so
# for it only a comparison (choosing behaviour by service) counts.
SHARED_WORD = "elasticsearch"
PROVIDER_FILES = sorted((ROOT / "providers").rglob("*.py"))


def _token(name: str) -> re.Pattern[str]:
    # "elastic/elasticsearch#123" cites a repository, not the service.
    return re.compile(rf"(?<![a-z0-9]){re.escape(name)}(?![a-z0-9/])")


def _snake(identifier: str) -> str:
    # CamelCase names are left whole: HuggingFaceEndpoint names Hugging Face's management API
    # (its own resource), not an Elasticsearch inference service.
    return identifier.lower()


def service_names_in(source: str, services: list[str]) -> list[str]:
    """Every place ``source`` names one of ``services``: string constants, identifiers, comparisons."""
    found: list[str] = []
    tree = ast.parse(source)
    for node in ast.walk(tree):
        # Prose says "Elastic" for the company; service names are lowercase, identifiers any case.
        texts: list[str] = []
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            texts = [node.value]
        elif isinstance(node, ast.Name):
            texts = [_snake(node.id)]
        elif isinstance(node, ast.Attribute):
            texts = [_snake(node.attr)]
        elif isinstance(node, (ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef)):
            texts = [_snake(node.name)]
        for text in texts:
            for service in services:
                if service != SHARED_WORD and _token(service).search(text):
                    found.append(f"line {getattr(node, 'lineno', 0)}: {service} in {text[:60]!r}")
        if isinstance(node, ast.Compare):
            for operand in [node.left, *node.comparators]:
                if isinstance(operand, ast.Constant) and operand.value in services:
                    found.append(f"line {node.lineno}: compares with {operand.value!r}")
    return found


def test_the_schemas_cover_more_than_one_service() -> None:
    assert len(SERVICES) >= 12
    assert {"elasticsearch", "openai", "cohere", "azureopenai", "hugging_face"} <= set(SERVICES)


@pytest.mark.parametrize(
    "source",
    [
        "SERVICE = 'openai'",
        "def _cohere_rules():\n    pass",
        "class Openai:\n    pass",
        "if service == 'elasticsearch':\n    pass",
        "x = settings.hugging_face",
        "MESSAGE = 'rotate the amazonbedrock keys'",
    ],
    ids=[
        "a constant naming a service is found",
        "a function named after a service is found",
        "a class named after a service is found",
        "a comparison with elasticsearch is found",
        "an attribute named after a service is found",
        "a service inside a message is found",
    ],
)
def test_the_check_finds_a_service_name(source: str) -> None:
    assert service_names_in(source, SERVICES)


def test_the_check_lets_the_connection_block_name_elasticsearch() -> None:
    assert service_names_in("block = document.get('elasticsearch')", SERVICES) == []


@pytest.mark.parametrize(
    "path", PROVIDER_FILES, ids=[f"{p.relative_to(ROOT)} names no service" for p in PROVIDER_FILES]
)
def test_no_provider_module_names_a_service(path: Path) -> None:
    assert service_names_in(path.read_text(encoding="utf-8"), SERVICES) == []

"""Java-style rendering used in Elasticsearch messages."""

from __future__ import annotations

import pytest

from emulators.elasticsearch.java_format import java_double, java_hash_order, java_repr


def test_hash_order_follows_java_string_hash_codes() -> None:
    # "Aa" and "BB" share a Java hash code, so they share a bucket and keep insertion order.
    assert java_hash_order(["BB", "Aa"]) == ["BB", "Aa"]
    assert java_hash_order(["Aa", "BB"]) == ["Aa", "BB"]
    assert java_hash_order(["b", "a"]) == ["a", "b"]


@pytest.mark.parametrize(
    ("value", "text"),
    [(1.0, "1.0"), (2.5, "2.5"), (1e7, "1.0E7"), (0.0001, "1.0E-4"), (123456.0, "123456.0")],
    ids=["one", "a fraction", "ten million", "a small number", "a large plain number"],
)
def test_doubles_print_like_java(value: float, text: str) -> None:
    assert java_double(value) == text


def test_nested_values_print_like_java_collections() -> None:
    assert java_repr({"a": [1, True, None, "x"]}) == "{a=[1, true, null, x]}"

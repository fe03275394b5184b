"""providers/switches.py: the one list of words an on/off setting accepts."""

from __future__ import annotations

import pytest

from providers.switches import parse_switch, switch

NAME = "ES_INFERENCE_TEST_SWITCH"


@pytest.mark.parametrize("word", ["1", "true", "TRUE", " yes ", "On"])
def test_every_true_word_is_on(word: str) -> None:
    assert parse_switch(word) is True


@pytest.mark.parametrize("word", ["0", "false", "No", " off", ""])
def test_every_false_word_is_off(word: str) -> None:
    assert parse_switch(word) is False


@pytest.mark.parametrize("word", ["maybe", "2", "enabled", "t"])
def test_any_other_word_is_neither(word: str) -> None:
    assert parse_switch(word) is None


@pytest.mark.parametrize("default", [True, False])
def test_an_unset_empty_or_unknown_variable_keeps_the_default(
    monkeypatch: pytest.MonkeyPatch, default: bool
) -> None:
    monkeypatch.delenv(NAME, raising=False)
    assert switch(NAME, default=default) is default
    for value in ("", "  ", "maybe"):
        monkeypatch.setenv(NAME, value)
        assert switch(NAME, default=default) is default


def test_a_switch_word_overrides_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(NAME, "off")
    assert switch(NAME, default=True) is False
    monkeypatch.setenv(NAME, "on")
    assert switch(NAME, default=False) is True

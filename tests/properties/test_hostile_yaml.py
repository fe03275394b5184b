"""Hostile stack files at every entry point that reads one, in a process whose memory is capped.

Issue 14 row 1 and beyond: alias bombs of any shape and place, recursive aliases, nesting deep
enough to crash a recursive parser, files past the size bound, YAML-only types, huge integers and
non-finite numbers. Every entry point (``es-inference validate``, the Pulumi program's
``load_stack``, the delete path's ``declared_force``, and ``es-inference export``'s output read
back) must answer each with a clear problem and no traceback. The examples run in a child process
with a 1.5 GiB address-space limit, so a defect fails the test (MemoryError) instead of swapping
the machine; the child reports its peak resident memory, which must stay near its baseline.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import resource
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from tests.properties._strategies import budget, record

ROOT = Path(__file__).resolve().parents[2]
ADDRESS_SPACE = 1536 * 1024 * 1024
# Peak RSS the whole run may add to the child's baseline. The loader's own bounds allow about
# 180 MB: a flat list of 499,000 values (1 MB of text, under MAX_VALUES) parses into that much.
# A bomb that expanded, or one error object per wrong value (1.9 GB before MAX_PROBLEMS), would
# need GBs; the old 150 MB bound failed now and then on a large flat list the loader rightly read.
MEMORY_GROWTH_KB = 320 * 1024
VALID_ENDPOINT = {
    "inference_id": "hf-minilm",
    "task_type": "text_embedding",
    "service": "hugging_face",
    "service_settings": {"url": "http://127.0.0.1:1/embed", "api_key": {"secret": "hfApiKey"}},
}
# What a clear answer looks like: located, or a named rule; never a Python error's words.
CLEAR = re.compile(
    r"(\$(?:[.\[]\S*)?: \S.*|line \d+, column \d+: \S.*|larger than \d+ MiB, .*|not valid YAML .*"
    r"|cannot be read: .*|nested too deeply to (read|validate))"
)


# --- hostile texts ------------------------------------------------------------------------------


@st.composite
def alias_bombs(draw: st.DrawFn) -> str:
    """Levels of lists or mappings of aliases to the level before, placed anywhere."""
    levels, fan_out = draw(st.integers(3, 14)), draw(st.integers(2, 16))
    as_map = draw(st.booleans())
    lines = ['b0: &b0 ["lol"]']
    for level in range(1, levels + 1):
        if as_map:
            refs = ", ".join(f"k{i}: *b{level - 1}" for i in range(fan_out))
            lines.append(f"b{level}: &b{level} {{{refs}}}")
        else:
            lines.append(f"b{level}: &b{level} [{', '.join([f'*b{level - 1}'] * fan_out)}]")
    bomb = f"*b{levels}"
    where = draw(st.sampled_from(["endpoints", "service_settings", "timeout", "top-level key"]))
    body = {
        "endpoints": f"endpoints: {bomb}",
        "service_settings": (
            "endpoints:\n  - inference_id: x\n    task_type: text_embedding\n"
            f"    service: hugging_face\n    service_settings: {bomb}"
        ),
        "timeout": f"elasticsearch: {{timeout: {bomb}}}\nendpoints: []",
        "top-level key": f"? {bomb}\n: 1\nendpoints: []",
    }[where]
    if levels * fan_out < 40 and fan_out**levels < 500_000:
        bomb_size = fan_out**levels
        record("hostile YAML", f"small alias tree ({bomb_size} values)")
    else:
        record("hostile YAML", "alias bomb")
    # The anchors must come first; a stack file has no room for them, so they sit in a key.
    return "\n".join(lines).replace("\n", "\n  ").join(["x-anchors:\n  ", "\n"]) + body + "\n"


@st.composite
def deep_nesting(draw: st.DrawFn) -> str:
    depth = draw(st.integers(65, 100) | st.integers(1_000, 300_000))
    opener = draw(st.sampled_from(["[", "{a: ", "- "]))
    record("hostile YAML", "deep nesting")
    if opener == "- ":
        return "endpoints:\n" + "".join("  " * i + "- \n" for i in range(min(depth, 3000)))
    return f"endpoints: {opener * depth}\n"


@st.composite
def odd_values(draw: st.DrawFn) -> str:
    """YAML-only types, huge and non-finite numbers, at the numeric fields and elsewhere."""
    value = draw(
        st.sampled_from(
            [
                ".nan",
                ".inf",
                "-.inf",
                "1e309",
                "99999999999999999999999",
                str(2**31),
                str(2**64),
                "-" + str(2**63),
                "!!binary aGVsbG8=",
                "2001-12-14t21:59:43.10-05:00",
                "!!set {a, b}",
                "!!omap [a: 1]",
                "!!python/object:os.system ls",
                "0x7fffffffffffffffff",
                "0o777777777777777777777",
                "1_000_000_000_000_000_000",
                "[1, 2]",
                "{a: 1}",
                "~",
                "''",
            ]
        )
    )
    field = draw(
        st.sampled_from(
            [
                "elasticsearch.timeout",
                "elasticsearch.retry.deadline",
                "service_settings.dimensions",
                "service_settings.max_input_tokens",
                "service_settings.rate_limit.requests_per_minute",
                "chunking_settings.max_chunk_size",
            ]
        )
    )
    record("hostile YAML", "odd value")
    endpoint: dict[str, Any] = json.loads(json.dumps(VALID_ENDPOINT))
    document: dict[str, Any] = {"endpoints": [endpoint]}
    marker = "ODD_VALUE_HERE"
    head, _, tail = field.partition(".")
    if head == "elasticsearch":
        block: dict[str, Any] = {"endpoints": ["https://127.0.0.1:9200"]}
        if "." in tail:
            block[tail.split(".")[0]] = {tail.split(".")[1]: marker}
        else:
            block[tail] = marker
        document["elasticsearch"] = block
    elif head == "chunking_settings":
        endpoint["chunking_settings"] = {"strategy": "word", "overlap": 1, tail: marker}
    elif "." in tail:
        endpoint["service_settings"][tail.split(".")[0]] = {tail.split(".")[1]: marker}
    else:
        endpoint["service_settings"][tail] = marker
    return json.dumps(document).replace(f'"{marker}"', value)


@st.composite
def recursive_aliases(draw: st.DrawFn) -> str:
    record("hostile YAML", "recursive alias")
    return draw(
        st.sampled_from(
            [
                "endpoints: &e [*e]\n",
                "endpoints: &e [{service_settings: *e}]\n",
                "endpoints:\n  - &m {inference_id: a, more: *m}\n",
            ]
        )
    )


HOSTILE = st.one_of(alias_bombs(), deep_nesting(), odd_values(), recursive_aliases())


# --- every entry point --------------------------------------------------------------------------


def _entry_points(path: Path) -> list[tuple[str, list[str]]]:
    """What each entry point says about ``path``: (entry point, its problem lines)."""
    from providers.cli import main
    from providers.errors import DeclarationError
    from providers.stack import declared_force, load_stack, stack_problems

    said: list[tuple[str, list[str]]] = []
    said.append(("validate (library)", [str(p) for p in stack_problems(path, "stack.yaml")]))
    try:
        load_stack(path, "stack.yaml")
        said.append(("the Pulumi program", []))
    except DeclarationError as exc:
        said.append(("the Pulumi program", [p.removeprefix("stack.yaml: ") for p in exc.problems]))
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = main(["validate", "--format", "json", str(path)])
    document = json.loads(out.getvalue())
    errors = [f"{e['path']}: {e['message']}" if e["path"] else e["message"] for e in
              document["files"][0]["errors"]]  # fmt: skip
    said.append(("es-inference validate", errors if status == 1 else [f"exit {status}"]))
    assert declared_force(path, "hf-minilm") is False
    return said


def _export_round_trip(directory: Path, endpoint: dict[str, Any]) -> list[str]:
    """Export a cluster holding ``endpoint`` and read the file back as the program would."""
    from providers.errors import DeclarationError
    from providers.export import render, stack_document
    from providers.schema import load_schemas
    from providers.stack import load_stack

    exported = stack_document([endpoint], load_schemas(), ["https://127.0.0.1:9200"])
    path = directory / "exported.yaml"
    path.write_text(render(exported, "a hostile cluster"), encoding="utf-8")
    try:
        load_stack(path, "exported.yaml")
    except DeclarationError as exc:
        return [p.removeprefix("exported.yaml: ") for p in exc.problems]
    return []


HOSTILE_LIVE = st.fixed_dictionaries(
    {
        "inference_id": st.just("odd"),
        "task_type": st.just("text_embedding"),
        "service": st.just("hugging_face"),
        "service_settings": st.fixed_dictionaries(
            {"url": st.just("http://127.0.0.1:1/embed")},
            optional={
                "dimensions": st.integers(-(2**70), 2**70),
                "max_input_tokens": st.integers(-(2**70), 2**70) | st.floats(allow_nan=False),
                "similarity": st.text(max_size=20),
            },
        ),
    }
)


def run_in_child() -> None:
    """The child's work: cap memory, run both properties, print what was measured."""
    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE, ADDRESS_SPACE))
    import providers.cli
    import providers.export
    import providers.stack  # noqa: F401  (the baseline includes the imports)

    baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    work = Path(tempfile.mkdtemp())
    answers: list[str] = []

    @given(HOSTILE)
    @budget(int(os.environ.get("HOSTILE_EXAMPLES", "60")))
    def every_entry_point_refuses_clearly(text: str) -> None:
        path = work / "stack.yaml"
        path.write_text(text, encoding="utf-8")
        said = _entry_points(path)
        first = said[0][1]
        for entry_point, problems in said:
            assert problems, f"{entry_point} accepted a hostile file:\n{text[:300]}"
            assert problems == first, f"{entry_point} disagrees: {problems} vs {first}"
            for problem in problems:
                assert CLEAR.fullmatch(problem), f"{entry_point}: unclear: {problem!r}"
                assert "Traceback" not in problem and "Error:" not in problem
        answers.extend(first)

    @given(HOSTILE_LIVE)
    @budget(int(os.environ.get("HOSTILE_EXAMPLES", "60")) // 2)
    def export_output_reads_back_clearly(endpoint: dict[str, Any]) -> None:
        for problem in _export_round_trip(work, endpoint):
            assert CLEAR.fullmatch(problem), f"export round trip: unclear: {problem!r}"

    every_entry_point_refuses_clearly()
    export_output_reads_back_clearly()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"baseline_kb": baseline, "peak_kb": peak, "answers": sorted(set(answers))}))


def test_hostile_stack_files_get_a_clear_error_from_every_entry_point_in_bounded_memory() -> None:
    code = "from tests.properties.test_hostile_yaml import run_in_child; run_in_child()"
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-6000:]
    measured = json.loads(done.stdout.strip().splitlines()[-1])
    growth = measured["peak_kb"] - measured["baseline_kb"]
    assert growth < MEMORY_GROWTH_KB, f"peak memory grew by {growth} KB"
    answers = measured["answers"]
    for rule in ("once its aliases are expanded", "levels deep", "finite number", "must be <="):
        assert any(rule in a for a in answers), f"no example reached the rule {rule!r}"

"""Where the provider's own time goes: cProfile of the lifecycle loops, of a no-change preview's
check+diff over many resources, and of the import; plus the same check+diff through Pulumi's
real dynamic-provider host, to tell our part from the host's.
"""

from __future__ import annotations

import cProfile
import io
import os
import pstats
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import yaml

from bench.footprint import import_env
from bench.per_op import _Provider
from bench.scale import stack_document
from emulators.lab import Lab
from harness.provider_host import ProviderHost, serialized
from providers.inference_endpoint import InferenceEndpointProvider
from providers.session import ProcessState
from providers.stack import declared_force, load_stack

__all__ = ["by_package", "ours_top", "run_profiles"]

_SITE = "site-packages/"
_C = getattr(yaml, "CSafeLoader", None)


def _package(filename: str) -> str:
    if filename.startswith(("~", "<")):
        return "(C builtins: I/O waits, dict/str methods)"
    if f"{os.sep}providers{os.sep}" in filename and "emulator" not in filename:
        return "providers (ours)"
    if _SITE in filename:
        return filename.split(_SITE, 1)[1].split(os.sep, 1)[0].removesuffix(".py")
    if f"{os.sep}bench{os.sep}" in filename or f"{os.sep}tests{os.sep}" in filename:
        return "(benchmark harness)"
    return "(stdlib)"


def by_package(stats: pstats.Stats) -> list[tuple[str, float]]:
    """Self (tottime) seconds per package, largest first."""
    totals: dict[str, float] = {}
    for (filename, _, _), (_, _, tottime, _, _) in stats.stats.items():  # type: ignore[attr-defined]
        name = _package(filename)
        totals[name] = totals.get(name, 0.0) + tottime
    return sorted(totals.items(), key=lambda item: -item[1])


def ours_top(stats: pstats.Stats, limit: int = 15) -> list[dict[str, Any]]:
    """Our functions (in ``providers/``) by cumulative time."""
    rows = []
    for (filename, line, func), (_, ncalls, tottime, cumtime, _) in stats.stats.items():  # type: ignore[attr-defined]
        if _package(filename) != "providers (ours)":
            continue
        where = filename.split(f"{os.sep}providers{os.sep}", 1)[1]
        rows.append(
            {
                "function": f"providers/{where}:{line} {func}",
                "calls": ncalls,
                "self_s": tottime,
                "cum_s": cumtime,
            }
        )
    rows.sort(key=lambda r: -r["cum_s"])
    return rows[:limit]


def _stats(profile: cProfile.Profile) -> pstats.Stats:
    return pstats.Stats(profile, stream=io.StringIO())


def _summary(stats: pstats.Stats, seconds: float, dump: Path) -> dict[str, Any]:
    stats.dump_stats(str(dump))
    return {
        "wall_s": seconds,
        "profiled_s": stats.total_tt,  # type: ignore[attr-defined]
        "by_package": by_package(stats),
        "ours_top": ours_top(stats),
        "pstats": dump.name,
    }


def _lifecycle(lab: Lab, work: Path, cycles: int, raw: Path) -> dict[str, Any]:
    variant = _Provider(lab, "profile", work / "profile-stack.yaml")
    (work / "profile-stack.yaml").write_text("endpoints: []\n")
    ops = variant.ops()
    for run in ops.values():  # warm: session, version, schemas
        run()
    profile = cProfile.Profile()
    started = time.perf_counter()
    profile.enable()
    for _ in range(cycles):
        for run in ops.values():
            run()
    profile.disable()
    seconds = time.perf_counter() - started
    summary = _summary(_stats(profile), seconds, raw / "profile-lifecycle.pstats")
    summary["cycles"] = cycles
    return summary


def _resources(lab: Lab, n: int) -> tuple[InferenceEndpointProvider, list[tuple[dict, dict]]]:
    """(checked inputs, recorded outputs) of N endpoints as the engine holds them after an up."""
    template = _Provider(lab, "template", Path(os.devnull))
    template.ops()["create"]()
    outs_template = dict(template.outs)
    template.ops()["delete"]()
    provider = template.provider
    marker = serialized(provider)
    pairs = []
    for i in range(n):
        inference_id = f"bench-rerank-{i:04d}"
        news = {**template.created, "inference_id": inference_id, "__provider": marker}
        outs = {**outs_template, "inference_id": inference_id, "__provider": marker}
        pairs.append((news, outs))
    return provider, pairs


def _check_diff(lab: Lab, n: int, raw: Path) -> dict[str, Any]:
    provider, pairs = _resources(lab, n)
    provider.check(dict(pairs[0][0]), dict(pairs[0][0]))  # schemas loaded, as after the first
    profile = cProfile.Profile()
    started = time.perf_counter()
    profile.enable()
    for news, outs in pairs:
        checked = provider.check(dict(news), dict(news))
        assert not checked.failures, checked.failures
        diffed = provider.diff(str(news["inference_id"]), dict(outs), dict(checked.inputs))
        assert diffed.changes is False, "a no-change preview found a change"
    profile.disable()
    seconds = time.perf_counter() - started
    # Unprofiled, for the number the engine would see.
    started = time.perf_counter()
    for news, outs in pairs:
        provider.diff(str(news["inference_id"]), dict(outs), provider.check(news, news).inputs)
    plain = time.perf_counter() - started
    summary = _summary(_stats(profile), seconds, raw / "profile-check-diff.pstats")
    summary.update({"resources": n, "unprofiled_s": plain})
    return summary


def _through_host(lab: Lab, n: int, work: Path) -> dict[str, Any]:
    """The same check+diff sent over gRPC to ``python -m pulumi.dynamic`` (one call at a time)."""
    _, pairs = _resources(lab, n)
    host = ProviderHost(str(work), env=import_env(work / "pycache"))
    try:
        host.configure({})
        news, outs = pairs[0]
        host.check(news, news)
        started = time.perf_counter()
        for news, outs in pairs:
            inputs, failures = host.check(news, news)
            assert not failures, failures
            response = host.diff(str(news["inference_id"]), outs, inputs)
            assert response.changes == 1, "a no-change preview found a change"
        seconds = time.perf_counter() - started
    finally:
        host.close()
    return {"resources": n, "wall_s": seconds}


_IMPORT = """
import cProfile, sys
import pulumi, pulumi.dynamic
profile = cProfile.Profile()
profile.enable()
import providers.inference_endpoint
profile.disable()
profile.dump_stats(sys.argv[1])
"""


def _import(raw: Path, pycache: Path) -> dict[str, Any]:
    dump = raw / "profile-import.pstats"
    env = import_env(pycache)
    subprocess.run([sys.executable, "-c", _IMPORT, str(dump)], env=env, check=True)  # warm
    subprocess.run([sys.executable, "-c", _IMPORT, str(dump)], env=env, check=True)
    stats = pstats.Stats(str(dump), stream=io.StringIO())
    summary = _summary(stats, float(stats.total_tt), dump)  # type: ignore[attr-defined]
    return summary


def _best(seconds: list[float]) -> float:
    return min(seconds)


def _stack_file(lab: Lab, n: int, work: Path, raw: Path) -> dict[str, Any]:
    """The stack file's cost at N entries: the program reads it whole once per preview/up
    (``load_stack``), the provider re-reads it on every delete (``declared_force``)."""
    path = work / f"stack-{n}.yaml"
    path.write_text(yaml.safe_dump(stack_document(lab, n), sort_keys=False))
    last = f"bench-rerank-{n - 1:04d}"
    load_stack(path, path.name)  # schemas loaded
    profile = cProfile.Profile()
    started = time.perf_counter()
    profile.enable()
    load_stack(path, path.name)
    profile.disable()
    program_s = time.perf_counter() - started
    summary = _summary(_stats(profile), program_s, raw / "profile-load-stack.pstats")
    force_s = []
    process = ProcessState()  # as the provider's deletes share it
    for _ in range(3):
        started = time.perf_counter()
        declared_force(path, last, process.remember)
        force_s.append(time.perf_counter() - started)
    text = path.read_text()
    parse: dict[str, float] = {}
    for name, loader in (("pure-Python SafeLoader", yaml.SafeLoader), ("libyaml CSafeLoader", _C)):
        if loader is None:
            continue
        timings = []
        for _ in range(3):
            started = time.perf_counter()
            yaml.load(text, Loader=loader)
            timings.append(time.perf_counter() - started)
        parse[name] = _best(timings)
    summary.update(
        {
            "entries": n,
            "bytes": len(text.encode()),
            "load_stack_s": program_s,
            "declared_force_s": _best(force_s),
            "yaml_parse_s": parse,
        }
    )
    return summary


def run_profiles(lab: Lab, work: Path, raw: Path, cycles: int, resources: int) -> dict[str, Any]:
    """All profiles; pstats dumps go to ``raw``."""
    return {
        "lifecycle": _lifecycle(lab, work, cycles, raw),
        "check_diff": _check_diff(lab, resources, raw),
        "check_diff_host": _through_host(lab, resources, work),
        "import": _import(raw, work / "pycache"),
        "stack_file": _stack_file(lab, resources, work, raw),
    }

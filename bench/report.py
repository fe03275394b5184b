"""Turn a run's results into ``results.md`` (tables and goals), ``profile.md`` and ``scale.png``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bench.per_op import OPS, VARIANTS
from bench.scale import PHASES

__all__ = ["PHASE_TITLES", "goals", "write_plot", "write_profile", "write_results"]

PHASE_TITLES = {
    "preview": "preview (new stack)",
    "up": "up",
    "refresh": "refresh",
    "preview_nochange": "preview (no change)",
    "destroy": "destroy",
}
_PROPOSALS = Path(__file__).resolve().parent / "proposals.md"


def _ms(value: float) -> str:
    return f"{value:.2f}"


def _mib(kb: int) -> str:
    return f"{kb / 1024:.1f}" if kb else "n/a"


def _sizes(scale: dict[str, Any]) -> list[int]:
    return sorted(int(n) for n in scale["ours"])


def _measured(scale: dict[str, Any], kind: str, n: int, phase: str) -> dict[str, Any] | None:
    """The phase's numbers, or None when it failed or did not run."""
    found = scale[kind][str(n)]["phases"].get(phase)
    return None if found is None or "error" in found else dict(found)


def _failure(scale: dict[str, Any], kind: str, n: int) -> str:
    at = scale[kind][str(n)]
    phase = at.get("failed_phase")
    if phase is None:
        return ""
    return f"{PHASE_TITLES[phase]} failed: {at['phases'][phase]['error']}"


def _per_size(scale: dict[str, Any], phase: str, key: str) -> tuple[str, list[int]]:
    shown, values = [], []
    for n in _sizes(scale):
        found = _measured(scale, "ours", n, phase)
        if found is None:
            shown.append(f"N={n}: failed")
        else:
            shown.append(f"N={n}: {found[key]}")
            values.append(int(found[key]))
    return ", ".join(shown), values


def goals(results: dict[str, Any]) -> list[tuple[str, str, bool]]:
    """(goal, what was measured, met) for every goal of the brief."""
    out: list[tuple[str, str, bool]] = []
    ratios = results["per_op"]["ratios"]
    for op in OPS:
        client = ratios[op]["client/raw"]
        provider = ratios[op]["provider/raw_seq"]
        out.append(
            (
                f"{op}: ≤ 1.2x raw httpx (median, same requests)",
                f"client {client:.2f}x, provider {provider:.2f}x "
                f"(+{ratios[op]['provider-raw_seq ms']:.2f} ms)",
                client <= 1.2 and provider <= 1.2,
            )
        )
    scale = results["scale"]
    sizes = _sizes(scale)
    top = sizes[-1]
    pairs = [
        (n, _measured(scale, "ours", n, "preview_nochange"))
        for n in sizes
        if _measured(scale, "noop", n, "preview_nochange") is not None
    ]
    ok = [(n, found) for n, found in pairs if found is not None]
    if ok:
        n, ours = ok[-1]
        floor = _measured(scale, "noop", n, "preview_nochange")
        assert floor is not None
        ratio = ours["seconds"] / floor["seconds"]
        measured = f"{ratio:.2f}x at N={n} ({ours['seconds']:.1f} s vs {floor['seconds']:.1f} s)"
        if n != top:
            measured = f"not measurable at N={top} ({_failure(scale, 'ours', top)}); " + measured
        out.append(
            (
                f"no-change preview at N={top}: ≤ 1.1x the no-op floor",
                measured,
                n == top and ratio <= 1.1,
            )
        )
    shown, counts = _per_size(scale, "preview_nochange", "requests")
    out.append(("no-change preview: 0 requests", shown, bool(counts) and not any(counts)))
    shown, counts = _per_size(scale, "refresh", "requests")
    out.append(
        ("refresh: O(1) requests (one list + GET /)", shown, bool(counts) and max(counts) <= 3)
    )
    provider_bytes = max(scale["ours"][str(n)]["footprint"].get("provider_bytes", 0) for n in sizes)
    out.append(("serialized provider < 1 KB", f"{provider_bytes} bytes", provider_bytes < 1024))
    ours_import = results["imports"]["median_s"]["ours"] * 1000
    out.append(
        ("our part of the import < 150 ms", f"{ours_import:.0f} ms (median)", ours_import < 150)
    )
    return out


def _per_op_section(per_op: dict[str, Any]) -> list[str]:
    stats, ratios, requests = per_op["stats"], per_op["ratios"], per_op["requests"]
    lines = [
        "| op | client | provider | raw httpx | raw httpx, provider's requests "
        "| client / raw | provider / raw (same requests) | provider / raw (one request) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for op in OPS:
        cells = [f"{_ms(stats[v][op]['median'])} / {_ms(stats[v][op]['p90'])}" for v in VARIANTS]
        lines.append(
            f"| {op} | {' | '.join(cells)} | {ratios[op]['client/raw']:.2f}x "
            f"| {ratios[op]['provider/raw_seq']:.2f}x ({ratios[op]['provider-raw_seq ms']:+.2f} ms) "
            f"| {ratios[op]['provider/raw']:.2f}x |"
        )
    lines += [
        "",
        "Cells are median / p90 in ms. Requests per operation (from the emulator's log):",
        "",
        "| op | client and raw | provider and raw (provider's requests) |",
        "|---|---|---|",
    ]
    for op in OPS:
        lines.append(
            f"| {op} | {'; '.join(requests['client'][op])} | {'; '.join(requests['provider'][op])} |"
        )
    return lines


def _scale_section(scale: dict[str, Any]) -> list[str]:
    lines = [
        "| phase | N | ours (s) | no-op floor (s) | ours / floor | requests (ours) "
        "| peak provider RSS ours / floor (MiB) |",
        "|---|---|---|---|---|---|---|",
    ]
    for phase in PHASES:
        for n in _sizes(scale):
            ours = _measured(scale, "ours", n, phase)
            floor = _measured(scale, "noop", n, phase)
            if ours is None or floor is None:
                cells, why = [], []
                for kind, found in (("ours", ours), ("noop", floor)):
                    name = "ours" if kind == "ours" else "floor"
                    if found is not None:
                        cells.append(f"{found['seconds']:.2f}")
                    elif phase in scale[kind][str(n)]["phases"]:
                        cells.append("failed")
                        why.append(f"{name}: {scale[kind][str(n)]['phases'][phase]['error']}")
                    else:
                        cells.append("not run")
                        why.append(f"{name}: not run after the failure above")
                lines.append(
                    f"| {PHASE_TITLES[phase]} | {n} | {cells[0]} | {cells[1]} | - "
                    f"| {'; '.join(why)} | - |"
                )
                continue
            breakdown = ", ".join(f"{k} x{v}" for k, v in ours["by_request"].items())
            lines.append(
                f"| {PHASE_TITLES[phase]} | {n} | {ours['seconds']:.2f} | {floor['seconds']:.2f} "
                f"| {ours['seconds'] / floor['seconds']:.2f}x | {ours['requests']}"
                f"{' (' + breakdown + ')' if breakdown else ''} "
                f"| {_mib(ours['peak_rss_kb'])} / {_mib(floor['peak_rss_kb'])} |"
            )
    return lines


def _cpu_section(scale: dict[str, Any]) -> list[str]:
    lines = [
        "| phase | N | provider process ours / floor | program ours / floor "
        "| CLI and plugins ours / floor | emulator + HF server (ours) |",
        "|---|---|---|---|---|---|",
    ]
    for phase in PHASES:
        for n in _sizes(scale):
            ours = _measured(scale, "ours", n, phase)
            floor = _measured(scale, "noop", n, phase)
            if ours is None or floor is None or "cpu_s" not in ours:
                continue
            mine, base = ours["cpu_s"], floor["cpu_s"]
            cells = [f"{mine[r]:.2f} / {base[r]:.2f}" for r in ("provider", "program", "engine")]
            lines.append(
                f"| {PHASE_TITLES[phase]} | {n} | {' | '.join(cells)} | {mine['servers']:.2f} |"
            )
    return lines


def _footprint_section(results: dict[str, Any]) -> list[str]:
    scale = results["scale"]
    sizes = _sizes(scale)
    measured = [n for n in sizes if scale["ours"][str(n)]["footprint"]]
    at = 100 if 100 in measured else measured[-1]
    ours, noop = scale["ours"][str(at)]["footprint"], scale["noop"][str(at)]["footprint"]
    lo, hi = measured[0], measured[-1]
    marginal = ""
    if hi > lo:
        grow = (
            scale["ours"][str(hi)]["footprint"]["export_bytes"]
            - scale["ours"][str(lo)]["footprint"]["export_bytes"]
        ) / (hi - lo)
        marginal = f"; marginal {grow:.0f} bytes per endpoint between N={lo} and N={hi}"
    imports = results["imports"]["median_s"]
    lines = [
        "| measure | ours | no-op floor |",
        "|---|---|---|",
        f"| serialized provider (`__provider`, base64) | {ours['provider_bytes']} bytes, "
        f"stored {ours['provider_copies_per_resource']}x per resource (inputs and outputs) "
        f"| {noop['provider_bytes']} bytes |",
        f"| one resource in the state (JSON) | {ours['resource_bytes']} bytes "
        f"| {noop['resource_bytes']} bytes |",
        f"| `pulumi stack export` / N at N={at} | {ours['per_endpoint_bytes']:.0f} bytes{marginal} "
        f"| {noop['per_endpoint_bytes']:.0f} bytes |",
        "",
        f"Import in a fresh interpreter (median of {results['imports']['runs']} runs, warm "
        "bytecode cache, interpreter start-up excluded):",
        "",
        "| what | ms |",
        "|---|---|",
        f"| `import providers.inference_endpoint`, total | {imports['total'] * 1000:.0f} |",
        f"| Pulumi's part: `import pulumi, pulumi.dynamic` alone | {imports['pulumi'] * 1000:.0f} |",
        f"| ours: `import providers.inference_endpoint` after `import pulumi, pulumi.dynamic` "
        f"| {imports['ours'] * 1000:.0f} |",
        f"| first `load_schemas()` (the first check of a process) | {imports['first_check'] * 1000:.0f} |",
        "",
        'What "ours" adds (`-X importtime`, one run): our modules\' own time, and each '
        "dependency they import first, with everything it imports:",
        "",
        "| owner | ms |",
        "|---|---|",
    ]
    for name, micros in results["imports"]["import_owners_us"].items():
        lines.append(f"| {name} | {micros / 1000:.1f} |")
    return lines


def write_results(results: dict[str, Any], path: Path) -> None:
    """``results.md``."""
    machine = results["machine"]
    lines = [
        "# Benchmark results",
        "",
        f"`{results['command']}` ({results['mode']} run, {results['seconds'] / 60:.1f} min, "
        f"{results['finished']}).",
        "",
        "## Machine",
        "",
        f"- {machine['nproc']} cores, {machine['cpu']}; {machine['memory']}",
        f"- Python {machine['python']}; Pulumi CLI {machine['pulumi_cli']}, "
        f"Python SDK {machine['pulumi_sdk']}",
        f"- load average at start {machine['load_start']}, at end {machine['load_end']} "
        "(other jobs may share the machine: compare the columns of one run, not runs)",
        f"- code: commit {machine.get('commit', 'unknown')}"
        f"{' with uncommitted changes in providers/ or schemas/' if machine.get('providers_modified') else ''}",
        "- emulator (Elasticsearch 9.1.0) and Hugging Face server: separate processes on 127.0.0.1",
        "",
        "## Goals",
        "",
        "| goal | measured | met |",
        "|---|---|---|",
    ]
    for goal, measured, met in goals(results):
        lines.append(f"| {goal} | {measured} | {'yes' if met else '**no**'} |")
    per_op = results["per_op"]
    lines += [
        "",
        f"## 1. Per operation ({per_op['repetitions']} repetitions, interleaved)",
        "",
        "A rerank endpoint per variant: create (PUT; the emulator calls the Hugging Face server "
        "to validate), read, update (`top_n`), delete. `raw httpx` sends the client's requests; "
        "`raw httpx, provider's requests` sends what the provider sends (its read lists "
        "`_inference/_all`, its delete checks references with `dry_run` first), so "
        "provider / raw (same requests) is our overhead.",
        "",
        *_per_op_section(per_op),
        "",
        "## 2. Scale under the real engine",
        "",
        "Rerank endpoints; each (provider, N) in a fresh project and `file://` backend. Times are "
        "the CLI's wall time; the floor is `bench/noop` (a dynamic provider that does nothing) "
        "over the same stack file. `up`, `refresh` and `destroy` run with `--skip-preview`. "
        f"{_repeats(results)}",
        "",
        *_scale_section(results["scale"]),
        "",
        "CPU seconds per phase, by process (the provider's and the program's are sampled every "
        "50 ms, so their last 50 ms may be missing; the CLI's is the rest of the command's "
        "children; the servers' is exact):",
        "",
        *_cpu_section(results["scale"]),
        "",
        "![scale](scale.png)",
        "",
        "## 3. Footprint",
        "",
        *_footprint_section(results),
        "",
        "## 4. Profile",
        "",
        "See [profile.md](profile.md).",
        "",
    ]
    path.write_text("\n".join(lines))


def _repeats(results: dict[str, Any]) -> str:
    repeats = results.get("scale_repeats", 1)
    if repeats <= 1:
        return "Each phase ran once."
    return (
        f"Previews and refresh: median of {repeats} runs at every N, the kinds alternating; "
        "up and destroy ran once."
    )


def _profile_table(summary: dict[str, Any]) -> list[str]:
    lines = ["| package (self time) | s |", "|---|---|"]
    for name, seconds in summary["by_package"][:8]:
        lines.append(f"| {name} | {seconds:.3f} |")
    lines += ["", "| our function | calls | self s | cumulative s |", "|---|---|---|---|"]
    for row in summary["ours_top"][:12]:
        lines.append(
            f"| `{row['function']}` | {row['calls']} | {row['self_s']:.4f} | {row['cum_s']:.4f} |"
        )
    return lines


def _stack_file_section(stack: dict[str, Any]) -> list[str]:
    parse = "; ".join(f"{name} {s * 1000:.0f} ms" for name, s in stack["yaml_parse_s"].items())
    return [
        f"## (iv) the stack file at N={stack['entries']} ({stack['bytes'] / 1024:.0f} KiB)",
        "",
        f"- the program's `load_stack` (once per preview and up, in the program process): "
        f"{stack['load_stack_s'] * 1000:.0f} ms under cProfile;",
        f"- the provider's `declared_force` (once per **delete**, in the provider process): "
        f"{stack['declared_force_s'] * 1000:.0f} ms per call, so a destroy of "
        f"{stack['entries']} endpoints spends about "
        f"{stack['declared_force_s'] * stack['entries']:.0f} s re-reading the file;",
        f"- parsing the file alone: {parse}.",
        "",
        *_profile_table(stack),
    ]


def write_profile(results: dict[str, Any], path: Path) -> None:
    """``profile.md``: the measured tables, then the proposals (``bench/proposals.md``)."""
    profiles = results["profiles"]
    lifecycle, check_diff = profiles["lifecycle"], profiles["check_diff"]
    host = profiles["check_diff_host"]
    lines = [
        "# Profile of the provider's own work",
        "",
        f"From `{results['command']}` ({results['mode']} run, {results['finished']}); pstats "
        "dumps are in `raw/` (`python -m pstats raw/<file>`).",
        "",
        f"## (i) create, read, update, delete in process ({lifecycle['cycles']} cycles, "
        f"{lifecycle['wall_s']:.2f} s under cProfile)",
        "",
        *_profile_table(lifecycle),
        "",
        f"## (ii) check + diff over {check_diff['resources']} resources (a no-change preview)",
        "",
        f"{check_diff['unprofiled_s'] * 1000:.0f} ms without the profiler "
        f"({check_diff['unprofiled_s'] / check_diff['resources'] * 1e6:.0f} µs per resource); "
        f"the same calls sent one at a time to Pulumi's real dynamic-provider host over gRPC take "
        f"{host['wall_s'] * 1000:.0f} ms ({host['wall_s'] / host['resources'] * 1e6:.0f} µs per "
        "resource), so the rest is the host's (de)serialization and gRPC.",
        "",
        *_profile_table(check_diff),
        "",
        f"## (iii) import of providers.inference_endpoint after pulumi "
        f"({profiles['import']['wall_s'] * 1000:.0f} ms under cProfile)",
        "",
        *_profile_table(profiles["import"]),
        "",
        *_stack_file_section(profiles["stack_file"]),
        "",
    ]
    if _PROPOSALS.is_file():
        lines.append(_PROPOSALS.read_text())
    path.write_text("\n".join(lines))


def write_plot(results: dict[str, Any], path: Path) -> None:
    """``scale.png``: time per phase against N (ours and the floor), ratio, requests, memory."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import LogLocator, NullFormatter, ScalarFormatter

    scale = results["scale"]
    sizes = _sizes(scale)

    def series(kind: str, phase: str, value: Any) -> tuple[list[int], list[float]]:
        xs, ys = [], []
        for n in sizes:
            found = _measured(scale, kind, n, phase)
            if found is not None:
                xs.append(n)
                ys.append(float(value(found, n)))
        return xs, ys

    figure, axes = plt.subplots(2, 4, figsize=(18, 8.5))
    panels = list(axes.flat)
    for axis, phase in zip(panels[:5], PHASES, strict=True):
        for kind, style in (("ours", "o-"), ("noop", "s--")):
            label = "ours" if kind == "ours" else "no-op floor"
            axis.plot(*series(kind, phase, lambda f, _: f["seconds"]), style, label=label)
        failed = [n for n in sizes if _measured(scale, "ours", n, phase) is None]
        title = PHASE_TITLES[phase]
        axis.set_title(
            f"{title}\n(ours failed at N={', '.join(map(str, failed))})" if failed else title
        )
        axis.set_yscale("log")
        axis.yaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
        axis.yaxis.set_major_formatter(ScalarFormatter())
        axis.yaxis.set_minor_formatter(NullFormatter())
        axis.set_xlabel("endpoints (N)")
        axis.set_ylabel("wall time (s)")
        axis.grid(True, which="both", alpha=0.3)
        axis.legend()
    ratio_axis, request_axis, memory_axis = panels[5], panels[6], panels[7]

    def ratio(found: dict[str, Any], n: int) -> float:
        floor = _measured(scale, "noop", n, phase)
        return float(found["seconds"]) / float(floor["seconds"]) if floor else float("nan")

    for phase in PHASES:
        label = PHASE_TITLES[phase]
        ratio_axis.plot(*series("ours", phase, ratio), "o-", label=label)
        request_axis.plot(*series("ours", phase, lambda f, _: f["requests"]), "o-", label=label)
        memory_axis.plot(
            *series("ours", phase, lambda f, _: f["peak_rss_kb"] / 1024), "o-", label=label
        )
    floor_memory = [
        max(p.get("peak_rss_kb", 0) for p in scale["noop"][str(n)]["phases"].values()) / 1024
        for n in sizes
    ]
    memory_axis.plot(sizes, floor_memory, "k:", label="no-op floor (max)")
    ratio_axis.axhline(1.1, color="grey", linestyle=":")
    ratio_axis.set_title("ours / floor")
    request_axis.set_title("requests to Elasticsearch (ours)")
    request_axis.set_yscale("symlog")
    memory_axis.set_title("peak provider RSS (MiB)")
    for axis in panels:
        axis.set_xscale("log")
        axis.set_xticks(sizes, [str(n) for n in sizes])
        axis.xaxis.set_minor_formatter(NullFormatter())
    for axis in (ratio_axis, request_axis, memory_axis):
        axis.set_xlabel("endpoints (N)")
        axis.grid(True, which="both", alpha=0.3)
        axis.legend(fontsize=8)
    figure.suptitle(f"pulumi-es-inference at scale ({results['mode']} run, {results['finished']})")
    figure.tight_layout()
    figure.savefig(path, dpi=90)
    plt.close(figure)

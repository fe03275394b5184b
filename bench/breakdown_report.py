"""``breakdown.md``: the Terraform anchor beside our figures, and each command split by process and phase."""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["TERRAFORM", "TERRAFORM_LABEL", "write_breakdown", "write_terraform_plot"]

_LEVERS = Path(__file__).resolve().parent / "levers.md"
TERRAFORM_LABEL = (
    "2026-11, Terraform 1.14.8 + terraform-provider-elasticstack 0.16.3 built from source, "
    "ES emulator 9.1.0, this 2-core machine, one run, medians of 3 for plan (issue 16)"
)
# (command, N) -> (Terraform s, ours then s, requests Terraform, requests ours then)
TERRAFORM: dict[tuple[str, int], tuple[float, float, int, int]] = {
    ("up", 1): (0.39, 2.32, 3, 2),
    ("up", 10): (0.66, 2.30, 30, 11),
    ("up", 100): (3.49, 6.63, 300, 101),
    ("up", 400): (16.2, 43.2, 1200, 401),
    ("preview_refresh", 1): (0.29, 2.52, 1, 2),
    ("preview_refresh", 10): (0.33, 2.56, 10, 2),
    ("preview_refresh", 100): (1.06, 4.72, 100, 2),
    ("preview_refresh", 400): (3.82, 10.95, 400, 2),
    ("destroy", 1): (0.44, 1.42, 2, 2),
    ("destroy", 10): (0.51, 1.41, 20, 20),
    ("destroy", 100): (1.87, 4.20, 200, 200),
    ("destroy", 400): (13.1, 29.5, 800, 800),
}
TITLES = {"up": "apply / up", "preview_refresh": "plan / preview --refresh", "destroy": "destroy"}
_CLI = {
    "up": "pulumi up",
    "preview_refresh": "pulumi preview --refresh",
    "destroy": "pulumi destroy",
}
_ROLES = (
    ("cli", "CLI (Go: start-up, secrets, backend, engine)"),
    ("langhost", "language host (Go)"),
    ("listing", "package listing (language host's `pip list`)"),
    ("program", "program (Python)"),
    ("provider", "dynamic-provider host (Python)"),
    ("servers", "emulator + Hugging Face server"),
)


def _command_settings(by_command: dict[str, dict[str, str]]) -> list[str]:
    """The line naming the settings scripts/pulumi gives one command only (none: no line)."""
    parts = [f"`{k}={v}` ({name})" for name, extra in by_command.items() for k, v in extra.items()]
    return ["- and for one command only: " + ", ".join(parts)] if parts else []


def _s(value: float) -> str:
    return f"{value:.2f}"


def _terraform_section(breakdown: dict[str, Any]) -> list[str]:
    lines = [
        "## 1. Against Terraform",
        "",
        f"Anchor: {TERRAFORM_LABEL}. The *then* column is ours in the same run; *now* is this run "
        "(same emulator version, same machine, other jobs may share it: see the load above).",
        "",
        "| phase | N | Terraform s | ours then s | ours now s | now / Terraform | requests TF / ours now |",
        "|---|---|---|---|---|---|---|",
    ]
    for command in ("up", "preview_refresh", "destroy"):
        for (cmd, n), (tf, then, tf_requests, _) in TERRAFORM.items():
            if cmd != command:
                continue
            now = breakdown.get(str(n), {}).get(command)
            if now is None:
                lines.append(
                    f"| {TITLES[command]} | {n} | {tf} | {then} | not run | | {tf_requests} / |"
                )
                continue
            ratio = now["seconds"] / tf
            verdict = "**faster**" if ratio < 1 else f"{ratio:.1f}x"
            lines.append(
                f"| {TITLES[command]} | {n} | {tf} | {then} | {_s(now['seconds'])} | {verdict} "
                f"| {tf_requests} / {now['requests']} |"
            )
    return [*lines, ""]


def _process_table(measured: dict[str, Any]) -> list[str]:
    cpu = measured["cpu_s"]
    processes = measured.get("processes", {})
    lines = [
        "| process | count | CPU s | alive (s after the command started) |",
        "|---|---|---|---|",
    ]
    for role, title in _ROLES:
        if role not in cpu:
            continue
        seen = processes.get(role)
        alive = f"{seen['start_s']:.2f} - {seen['end_s']:.2f}" if seen else ""
        count = str(seen["processes"]) if seen else ("1" if role == "cli" else "")
        lines.append(f"| {title} | {count} | {_s(cpu[role])} | {alive} |")
    lines.append(f"| all children of the command | | {_s(cpu['total'])} | |")
    return lines


def _phase_table(trace: dict[str, Any]) -> list[str]:
    lines = ["| phase (from the CLI's trace) | s |", "|---|---|"]
    rows = [
        (
            "CLI start-up: config, secrets manager (passphrase key derivation), backend lock",
            "cli_start",
        ),
        ("package listing (GetRequiredPlugins)", "listing"),
        (
            "program: Python start and the SDK's import, to the SDK's first engine call",
            "program_start",
        ),
        (
            "program: start to its first resource registration (the line above, then our "
            "imports, the stack file, schemas)",
            "first_register",
        ),
        ("program: whole run", "program"),
        ("dynamic-provider host start (Python start, `import pulumi.dynamic`)", "provider_start"),
        ("after the program: last steps, final state write, plugin shutdown", "after_program"),
    ]
    for title, key in rows:
        if key in trace:
            lines.append(f"| {title} | {_s(trace[key])} |")
    reads = trace.get("state_reads", {})
    lines.append(
        f"| state reads (`file://` backend): {reads.get('count', 0)} files | "
        f"{_s(reads.get('total_s', 0.0))} |"
    )
    if "snapshot_read" in trace:
        lines.append(
            "| state read, whole (the snapshot's files, deserialized, its secrets decrypted) | "
            f"{_s(trace['snapshot_read'])} |"
        )
    writes = trace.get("state_writes", {})
    lines.append(
        f"| state writes (`file://` backend): {writes.get('count', 0)} files | "
        f"{_s(writes.get('total_s', 0.0))} |"
    )
    lines.append(f"| **whole command (trace)** | **{_s(trace.get('total', 0.0))}** |")
    calls = trace.get("provider_calls", {})
    if calls:
        lines += [
            "",
            "| provider call | calls | first ms | median ms | sum of calls s | first to last s |",
            "|---|---|---|---|---|---|",
        ]
        for name, call in calls.items():
            lines.append(
                f"| {name} | {call['count']} | {call['first_ms']:.1f} | {call['median_ms']:.1f} | "
                f"{_s(call['total_s'])} | {_s(call['span_s'])} |"
            )
    return lines


def _profile_table(profiles: dict[str, Any]) -> list[str]:
    lines = []
    for command, profile in profiles.items():
        for role, samples in profile["samples"].items():
            total = sum(samples.values()) or 1
            shares = ", ".join(f"{owner} {count / total:.0%}" for owner, count in samples.items())
            lines.append(f"- {TITLES[command]}, {role} ({total} samples): {shares}")
    return lines


def _floor_rows(measured: dict[str, Any]) -> list[tuple[str, str, float]]:
    """The command's critical path at N = 1, each part with its owner."""
    trace = measured.get("trace", {})
    calls = trace.get("provider_calls", {})
    first_calls = sum(c["first_ms"] for name, c in calls.items() if name != "Configure") / 1000
    rows = [
        (
            "CLI start-up: Go process, config, passphrase key derivation, backend",
            "engine",
            trace.get("cli_start", 0.0),
        ),
        (
            "package listing the language host asks for (scripts/pulumi-python)",
            "ours",
            trace.get("listing", 0.0),
        ),
    ]
    if "program" in trace:
        rows += [
            (
                "program: Python start and the SDK's import",
                "engine",
                trace.get("program_start", 0.0),
            ),
            (
                "program: our imports, the stack file, schemas, declaring",
                "ours",
                trace.get("first_register", 0.0) - trace.get("program_start", 0.0),
            ),
        ]
    rows += [
        (
            "dynamic-provider host start: Python, `import pulumi.dynamic`",
            "engine",
            trace.get("provider_start", 0.0),
        ),
        (
            "first provider calls: our imports and schemas, then the requests",
            "ours + servers",
            first_calls,
        ),
    ]
    if "after_program" in trace:
        rows.append(
            (
                "after the program: final state write, plugins stopped",
                "engine",
                trace["after_program"],
            )
        )
    accounted = sum(r[2] for r in rows)
    rows.append(
        (
            "the rest: engine steps and RPCs between these, CLI exit",
            "engine",
            max(0.0, measured["seconds"] - accounted),
        )
    )
    return rows


def _floor_section(breakdown: dict[str, Any]) -> list[str]:
    smallest = min((int(n) for n in breakdown), default=None)
    if smallest is None:
        return []
    lines = [
        f"## 5. The fixed cost at N = {smallest}: whose is it",
        "",
        "The parts of each command's wall time on its critical path (from the trace; overlapping "
        "work is counted once), and who owns each.",
        "",
        "| part | owner | up s | preview --refresh s | destroy s |",
        "|---|---|---|---|---|",
    ]
    columns = {
        c: dict((r[0], (r[1], r[2])) for r in _floor_rows(breakdown[str(smallest)][c]))
        for c in _CLI
    }
    titles: list[str] = []
    for rows in columns.values():
        titles += [t for t in rows if t not in titles]
    totals: dict[str, dict[str, float]] = {c: {} for c in _CLI}
    for title in titles:
        owner = next(rows[title][0] for rows in columns.values() if title in rows)
        cells = []
        for command, rows in columns.items():
            value = rows.get(title, (owner, None))[1]
            cells.append("" if value is None else _s(value))
            if value is not None:
                totals[command][owner] = totals[command].get(owner, 0.0) + value
        lines.append(f"| {title} | {owner} | {' | '.join(cells)} |")
    for owner in ("engine", "ours", "ours + servers"):
        cells = [_s(totals[c].get(owner, 0.0)) for c in _CLI]
        lines.append(f"| **total: {owner}** | | {' | '.join(cells)} |")
    cells = [_s(breakdown[str(smallest)][c]["seconds"]) for c in _CLI]
    lines.append(f"| **whole command** | | {' | '.join(cells)} |")
    return [*lines, ""]


def write_breakdown(results: dict[str, Any], path: Path) -> None:
    """Write ``breakdown.md`` from a ``--breakdown`` run's results."""
    breakdown = results["breakdown"]
    machine = results["machine"]
    settings = results.get("engine_env", {})
    lines = [
        "# Where the time of a command goes",
        "",
        f"`{results['command']}` ({results['finished']}, {results['seconds'] / 60:.1f} min).",
        "",
        f"- {machine['nproc']} cores, {machine['cpu']}; Python {machine['python']}; Pulumi CLI "
        f"{machine['pulumi_cli']}, SDK {machine['pulumi_sdk']}; code: commit {machine['commit']}",
        f"- load average at start {machine['load_start']}, at end {machine.get('load_end', '?')}",
        "- engine settings (from `scripts/pulumi --print-engine-env`): "
        + ", ".join(f"`{k}={Path(v).name if '/' in v else v}`" for k, v in settings.items()),
        *_command_settings(results.get("engine_env_by_command", {})),
        "- Pulumi's automatic log: "
        + (
            "on (`ES_INFERENCE_PULUMI_AUTOMATIC_LOG=true`)"
            if results.get("automatic_log")
            else "off, as `scripts/demo` and the pipeline recipes run (each project's own Pulumi "
            "home, its `logs` a link to /dev/null: `ES_INFERENCE_PULUMI_AUTOMATIC_LOG=false`)"
        ),
        "- each N: a fresh `file://` backend; `up`, then `preview --refresh`, then `destroy`, "
        f"that round {results.get('repeats', 1)} times, each command's median run reported; "
        "rerank endpoints on the Hugging Face server, emulator Elasticsearch 9.1.0",
        "",
        *_terraform_section(breakdown),
        "![Terraform, ours then and ours now, per command and N](terraform.png)",
        "",
        "## 2. One command, split by process and phase",
        "",
        "CPU seconds by process come from `/proc` (sampled every 20 ms; the CLI's is the rest of "
        "the command's children); phases come from the CLI's own OpenTelemetry trace "
        "(`--otel-traces`). Provider calls overlap (the engine runs up to `--parallel` at once, "
        "the host serves 4), so their sum can exceed the wall time.",
        "",
    ]
    for n in sorted(int(k) for k in breakdown):
        if "profiles" not in breakdown[str(n)]:
            continue
        for command in ("up", "preview_refresh", "destroy"):
            measured = breakdown[str(n)][command]
            lines += [
                f"### `{_CLI[command]}` at N = {n}: "
                f"{_s(measured['seconds'])} s, {measured['requests']} requests",
                "",
                *_process_table(measured),
                "",
                *_phase_table(measured.get("trace", {})),
                "",
            ]
    unpickled = [
        (n, at["provider_unpickling"])
        for n, at in breakdown.items()
        if at.get("provider_unpickling")
    ]
    if unpickled:
        lines += [
            "### The provider's unpickling in the host",
            "",
            "The host decodes and unpickles a resource's `__provider` at its first call and keeps "
            "the result (`pulumi.dynamic.__main__.get_provider` caches it by its string), so once "
            "per process. Timed apart, after each N's first `up`, in a fresh interpreter with the "
            "host's modules imported, as after its warm-up:",
            "",
            "| N | serialized provider bytes | first unpickling ms | again ms |",
            "|---|---|---|---|",
            *(
                f"| {n} | {u['bytes']} | {u['first_ms']:.2f} | {u['again_ms']:.3f} |"
                for n, u in sorted(unpickled, key=lambda x: int(x[0]))
            ),
            "",
        ]
    profiled = {n: at["profiles"] for n, at in breakdown.items() if "profiles" in at}
    if profiled:
        lines += [
            "## 3. Sampling profile of the Python processes",
            "",
            "py-spy attached to the program and the provider (250 Hz, from a few ms after each "
            "process starts), sampling only the thread that holds the GIL: Python at work, not "
            "threads waiting for the GIL or a core. Native work without the GIL (gRPC's core, "
            "protobuf) is not sampled. A sample counts as *imports* when any frame is loading a "
            "module, else it belongs to the package of its innermost known frame.",
            "",
        ]
        for n, profiles in sorted(profiled.items(), key=lambda x: int(x[0])):
            lines += [f"N = {n}:", "", *_profile_table(profiles), ""]
    if _LEVERS.exists():
        lines += ["## 4. Levers", "", _LEVERS.read_text().strip(), ""]
    lines += _floor_section(breakdown)
    path.write_text("\n".join(lines))


def write_terraform_plot(results: dict[str, Any], path: Path) -> None:
    """``terraform.png``: per command, time against N for Terraform, ours then and ours now."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import NullFormatter, ScalarFormatter

    breakdown = results["breakdown"]
    figure, axes = plt.subplots(1, 3, figsize=(15, 4.6))
    for axis, command in zip(axes, ("up", "preview_refresh", "destroy"), strict=True):
        sizes = sorted(n for cmd, n in TERRAFORM if cmd == command)
        axis.plot(sizes, [TERRAFORM[(command, n)][0] for n in sizes], "s-", label="Terraform")
        axis.plot(sizes, [TERRAFORM[(command, n)][1] for n in sizes], "^:", label="ours, then")
        now = [n for n in sizes if command in breakdown.get(str(n), {})]
        axis.plot(
            now, [breakdown[str(n)][command]["seconds"] for n in now], "o-", label="ours, now"
        )
        axis.set_title(TITLES[command])
        axis.set_xscale("log")
        axis.set_yscale("log")
        axis.set_xticks(sizes, [str(n) for n in sizes])
        axis.xaxis.set_minor_formatter(NullFormatter())
        axis.yaxis.set_major_formatter(ScalarFormatter())
        axis.set_xlabel("endpoints (N)")
        axis.set_ylabel("wall time (s)")
        axis.grid(True, which="both", alpha=0.3)
        axis.legend(fontsize=8)
    figure.suptitle(
        f"Against Terraform (anchor: 2026-11, same emulator and machine); now: {results['finished']}"
    )
    figure.tight_layout()
    figure.savefig(path, dpi=90)
    plt.close(figure)

"""Where the time of one command goes: ``scripts/bench --breakdown``.

For each N: a fresh project (our provider, the engine settings of scripts/pulumi), then ``up``,
``preview --refresh`` and ``destroy``, that round ``repeats`` times (the median run of each command
is reported, with every run's time), each under the real CLI with
``--otel-traces`` (the CLI's own spans: start-up, the backend's reads and writes, the language
host's calls, the program's run, every provider call). Meanwhile ``/proc`` is polled for the
command's processes (CLI, language host, its package listing, program, dynamic-provider host):
CPU seconds and lifetime of each. With ``profile``, one more run of each command attaches the
sampling profiler (py-spy) to the program and the provider and sorts their samples by package.
After the first ``up`` of each N, the provider's unpickling is timed apart (``provider_unpickling``).
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from bench.scale import cpu_seconds, summarize_requests
from emulators.lab import HF_KEY, Lab
from harness.otel_trace import read_spans
from harness.pulumi_cli import PulumiProject

__all__ = [
    "COMMANDS",
    "ROLES",
    "bucket_samples",
    "provider_unpickling",
    "run_breakdown",
    "trace_phases",
]

COMMANDS: dict[str, tuple[str, ...]] = {
    "up": ("up", "--yes", "--skip-preview"),
    "preview_refresh": ("preview", "--refresh"),
    "destroy": ("destroy", "--yes", "--skip-preview"),
}
# Process roles, recognised by a part of their command line (first match wins).
ROLES = (
    ("provider", b"pulumi.dynamic"),
    ("program", b"pulumi-language-python-exec"),
    ("listing", b"pip"),
    ("langhost", b"pulumi-language-python"),
)
_TICK = os.sysconf("SC_CLK_TCK")
_PROVIDER_CALLS = ("Check", "Diff", "Create", "Read", "Update", "Delete", "Configure")


def _uptime() -> float:
    return float(Path("/proc/uptime").read_text().split()[0])


class Watch:
    """Polls ``/proc`` for one project's processes; optionally attaches py-spy to Python ones."""

    def __init__(self, marker: str, profile_dir: Path | None, interval: float = 0.02) -> None:
        self.marker = marker.encode()
        self.profile_dir = profile_dir
        self.interval = interval
        self.roles: dict[int, str] = {}
        self.cpu: dict[int, float] = {}
        self.started: dict[int, float] = {}
        self.last_seen: dict[int, float] = {}
        self.peak_kb: dict[int, int] = {}
        self.spies: list[subprocess.Popen[bytes]] = []
        self._ignored: set[int] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self.t0 = _uptime()

    def __enter__(self) -> Watch:
        self.t0 = _uptime()
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join()
        for spy in self.spies:
            try:
                spy.wait(timeout=20)
            except subprocess.TimeoutExpired:
                spy.kill()
                spy.wait()

    def _role(self, pid: int) -> str | None:
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
            if not cmdline:
                return None
            role = next((r for r, key in ROLES if key in cmdline), None)
            if role is None:
                if b"pulumi" not in cmdline and b"sh\x00" not in cmdline:
                    self._ignored.add(pid)
                return None
            if self.marker not in Path(f"/proc/{pid}/environ").read_bytes():
                self._ignored.add(pid)
                return None
            return role
        except OSError:
            return None

    def _spy(self, pid: int, role: str) -> None:
        assert self.profile_dir is not None
        spy = Path(sys.executable).with_name("py-spy")
        out = self.profile_dir / f"{role}-{pid}.txt"
        # --gil: only the thread holding the GIL, i.e. Python at work. Without it py-spy also counts
        # threads that are runnable but wait for the GIL or a core (on 2 cores, most of the host's
        # pool and gRPC threads), which read as "asyncio and threads" half of the host's time.
        command = [str(spy), "record", "--pid", str(pid), "--rate", "250", "--format", "raw"]
        command += ["--gil", "--output", str(out), "--nonblocking"]
        self.spies.append(
            subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        )

    def _loop(self) -> None:
        while True:
            now = _uptime()
            for entry in os.scandir("/proc"):
                if not entry.name.isdigit():
                    continue
                pid = int(entry.name)
                if pid in self._ignored:
                    continue
                if pid not in self.roles:
                    role = self._role(pid)
                    if role is None:
                        continue
                    self.roles[pid] = role
                    try:
                        stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                        self.started[pid] = int(stat[19]) / _TICK - self.t0
                    except (OSError, IndexError):
                        self.started[pid] = now - self.t0
                    if self.profile_dir is not None and role in ("program", "provider"):
                        self._spy(pid, role)
                used = cpu_seconds(pid)
                if used:
                    self.cpu[pid] = max(self.cpu.get(pid, 0.0), used)
                self.last_seen[pid] = now - self.t0  # still listed, even if it used no CPU yet
                try:
                    status = Path(f"/proc/{pid}/status").read_text()
                    hwm = next(
                        int(line.split()[1])
                        for line in status.splitlines()
                        if line.startswith("VmHWM:")
                    )
                    self.peak_kb[pid] = max(self.peak_kb.get(pid, 0), hwm)
                except (OSError, StopIteration, ValueError):
                    pass
            if self._stop.wait(self.interval):
                return

    def by_role(self) -> dict[str, dict[str, float]]:
        """CPU seconds, processes, first start and last sight (s from the command's start) per role."""
        out: dict[str, dict[str, float]] = {}
        for pid, role in self.roles.items():
            entry = out.setdefault(
                role, {"cpu_s": 0.0, "processes": 0, "start_s": 1e9, "end_s": 0.0, "peak_kb": 0}
            )
            entry["cpu_s"] += self.cpu.get(pid, 0.0)
            entry["processes"] += 1
            entry["start_s"] = min(entry["start_s"], self.started.get(pid, 0.0))
            entry["end_s"] = max(entry["end_s"], self.last_seen.get(pid, 0.0))
            entry["peak_kb"] = max(entry["peak_kb"], self.peak_kb.get(pid, 0))
        return out


def trace_phases(path: Path) -> dict[str, Any]:
    """The CLI's phases from its OTel trace, in seconds (see the module docstring)."""
    spans = read_spans(path.read_text())
    if not spans:
        return {}
    root = max(spans, key=lambda s: s["end"] - s["start"])
    t0 = root["start"]

    def named(name: str) -> list[dict[str, Any]]:
        return [s for s in spans if s["name"] == name]

    def first(name: str) -> dict[str, Any] | None:
        found = named(name)
        return min(found, key=lambda s: s["start"]) if found else None

    listing = first("pulumirpc.LanguageRuntime/GetRequiredPlugins")
    run = first("pulumirpc.LanguageRuntime/Run")
    snapshot = first("diyBackend.getSnapshot")
    plugins = sorted(named("newPlugin"), key=lambda s: s["start"])
    # The first newPlugin is the language host; the one after the listing is the provider.
    after = listing["end"] if listing else t0
    # Every plugin started after the listing is a provider host (a stock preview --refresh starts two).
    providers = [s for s in plugins if s["start"] >= after]
    monitor = [s for s in spans if s["name"].startswith("pulumirpc.ResourceMonitor/")]
    phases: dict[str, Any] = {
        "total": root["end"] - t0,
        "cli_start": (snapshot["start"] if snapshot else after) - t0,
        "listing": (listing["end"] - listing["start"]) if listing else 0.0,
        "provider_start": sum(s["end"] - s["start"] for s in providers),
        "provider_starts": len(providers),
    }
    if run is not None:
        phases["program"] = run["end"] - run["start"]
        # The SDK's first call (GetDeploymentInfo); the program's runner sends the invoke that
        # starts the provider host before it imports the SDK (providers/provider_start.py).
        sdk_calls = [s for s in monitor if not s["name"].endswith("/Invoke")]
        first_rpc = min((s["start"] for s in sdk_calls if s["start"] >= run["start"]), default=None)
        phases["program_start"] = (first_rpc - run["start"]) if first_rpc else 0.0
        registers = [s for s in monitor if s["name"].endswith("/RegisterResource")]
        if registers:
            phases["first_register"] = min(s["start"] for s in registers) - run["start"]
            phases["registrations"] = len(registers)
        phases["after_program"] = root["end"] - run["end"]
    calls: dict[str, dict[str, float]] = {}
    for name in _PROVIDER_CALLS:
        found = named(f"pulumirpc.ResourceProvider/{name}")
        if found:
            durations = [s["end"] - s["start"] for s in found]
            calls[name] = {
                "count": len(found),
                "total_s": sum(durations),
                "median_ms": statistics.median(durations) * 1000,
                "first_ms": durations[0] * 1000,
                "span_s": max(s["end"] for s in found) - min(s["start"] for s in found),
            }
    phases["provider_calls"] = calls
    writes = named("gocloud.dev/blob.NewWriter") + named("gocloud.dev/blob.Copy")
    phases["state_writes"] = {
        "count": len(named("gocloud.dev/blob.NewWriter")),
        "total_s": sum(s["end"] - s["start"] for s in writes),
    }
    reads = named("gocloud.dev/blob.NewRangeReader")
    phases["state_reads"] = {
        "count": len(reads),
        "total_s": sum(s["end"] - s["start"] for s in reads),
    }
    # The whole read of the stack's state: its files, deserialized, its secrets decrypted.
    phases["snapshot_read"] = sum(s["end"] - s["start"] for s in named("diyBackend.getSnapshot"))
    return phases


_BUCKETS = (
    ("providers", "ours (providers/)"),
    ("emulators", "ours (providers/)"),
    ("dill", "pickling (dill, pickle)"),
    ("pickle", "pickling (dill, pickle)"),
    ("grpc", "gRPC"),
    ("google", "protobuf"),
    ("pulumi", "Pulumi SDK"),
    ("yaml", "PyYAML"),
    ("jsonschema", "jsonschema"),
    ("referencing", "jsonschema"),
    ("rpds", "jsonschema"),
    ("attr", "jsonschema"),
    ("httpx", "HTTP client (httpx)"),
    ("httpcore", "HTTP client (httpx)"),
    ("h11", "HTTP client (httpx)"),
    ("anyio", "HTTP client (httpx)"),
    ("tenacity", "HTTP client (httpx)"),
    ("asyncio", "asyncio and threads"),
    ("selectors", "asyncio and threads"),
    ("concurrent", "asyncio and threads"),
    ("threading", "asyncio and threads"),
    ("queue", "asyncio and threads"),
)


def _owner(frame: str) -> str | None:
    # A py-spy raw frame: "function (path/to/file.py:line)".
    where = frame.rsplit(" (", 1)[-1].rstrip(")")
    parts = where.replace("\\", "/").split("/")
    for part in parts[::-1][1:]:
        for package, bucket in _BUCKETS:
            if part == package:
                return bucket
    module = parts[-1].split(":")[0].removesuffix(".py")
    return next((bucket for package, bucket in _BUCKETS if module == package), None)


def bucket_samples(text: str) -> dict[str, int]:
    """py-spy raw samples by owner: imports (by the module loading), else the innermost known frame's package."""
    counts: Counter[str] = Counter()
    for line in text.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        frames = stack.split(";")
        if any(f.startswith(("_find_and_load ", "_load_unlocked ")) for f in frames):
            # Charged to the module whose body runs: the innermost <module> frame.
            body = next((f for f in reversed(frames) if f.startswith("<module> (")), "")
            counts[f"imports: {_owner(body) or 'other'}"] += int(count)
            continue
        owner = next((o for o in map(_owner, reversed(frames)) if o is not None), "other")
        counts[owner] += int(count)
    return dict(counts.most_common())


def _profile(profile_dir: Path) -> dict[str, dict[str, int]]:
    out: dict[str, Counter[str]] = defaultdict(Counter)
    for path in sorted(profile_dir.glob("*.txt")):
        role = path.name.split("-", 1)[0]
        out[role].update(bucket_samples(path.read_text(errors="replace")))
    return {role: dict(c.most_common()) for role, c in out.items()}


def _children_cpu() -> float:
    import resource

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _command(
    project: PulumiProject,
    lab: Lab,
    servers: list[int],
    command: str,
    traces: Path,
    profile_dir: Path | None = None,
) -> dict[str, Any]:
    lab.clear_log()
    trace = traces / f"{command}-{time.monotonic_ns()}.json"
    servers_before = sum(cpu_seconds(pid) for pid in servers)
    children_before = _children_cpu()
    marker = f"PULUMI_HOME={project.env['PULUMI_HOME']}"
    with Watch(marker, profile_dir) as watch:
        started = time.perf_counter()
        args = (
            COMMANDS[command]
            if profile_dir
            else (*COMMANDS[command], f"--otel-traces=file://{trace}")
        )
        result = project.run(*args, check=False, timeout=3600)
        seconds = time.perf_counter() - started
    if result.returncode != 0:
        raise RuntimeError(f"pulumi {' '.join(COMMANDS[command])} failed:\n{result.output[-3000:]}")
    entries = lab.requests()
    roles = watch.by_role()
    children = _children_cpu() - children_before
    measured: dict[str, Any] = {
        "seconds": seconds,
        "requests": len(entries),
        "by_request": summarize_requests(entries),
        "cpu_s": {
            "total": children,
            **{role: v["cpu_s"] for role, v in roles.items()},
            "cli": max(0.0, children - sum(v["cpu_s"] for v in roles.values())),
            "servers": sum(cpu_seconds(pid) for pid in servers) - servers_before,
        },
        "processes": roles,
    }
    if profile_dir is None:
        measured["trace"] = trace_phases(trace)
        trace.unlink(missing_ok=True)
    return measured


# A fresh interpreter as the provider host is once its warm-up is done (its modules imported),
# then what the host does with a resource's `__provider` at its first call: decode and unpickle it.
# The host does it once per process (pulumi.dynamic.__main__.get_provider caches it by its string).
_UNPICKLE = """
import base64, sys, time
from providers.deferred_imports import defer_unused_modules
defer_unused_modules()
import dill, pulumi.dynamic
from providers.host_warm_up import warm_up
warm_up()
text = sys.stdin.read()
started = time.perf_counter()
dill.loads(base64.b64decode(text))
first = time.perf_counter() - started
started = time.perf_counter()
for _ in range(200):
    dill.loads(base64.b64decode(text))
print(first, (time.perf_counter() - started) / 200, flush=True)
"""


def provider_unpickling(project: PulumiProject, env: dict[str, str]) -> dict[str, float]:
    """Bytes of a recorded resource's serialized provider, and ms to unpickle it, first and again."""
    resources = json.loads(project.export())["deployment"].get("resources", [])
    serialized = next(
        str(r["outputs"]["__provider"])
        for r in resources
        if r["type"].startswith("pulumi-python:dynamic") and "__provider" in r.get("outputs", {})
    )
    done = subprocess.run(
        [sys.executable, "-c", _UNPICKLE],
        input=serialized,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    first, again = (float(x) for x in done.stdout.split())
    return {"bytes": len(serialized), "first_ms": first * 1000, "again_ms": again * 1000}


def _project(n: int, lab: Lab, root: Path, env: dict[str, str]) -> PulumiProject:
    from bench.scale import stack_document

    root.mkdir(parents=True)
    project = PulumiProject(root, "bench", {"ES_INFERENCE_RETRY_DEADLINE": "60", **env})
    project.write_stack(stack_document(lab, n))
    project.set_secret("hfApiKey", HF_KEY)
    project.preview()  # compiles the bytecode into the cache, as the first run of a pipeline would
    return project


def _median(samples: list[dict[str, Any]]) -> dict[str, Any]:
    """The run with the median wall time (all samples' times kept)."""
    ordered = sorted(samples, key=lambda s: s["seconds"])
    chosen = dict(ordered[(len(ordered) - 1) // 2])
    chosen["samples_s"] = [s["seconds"] for s in samples]
    return chosen


def run_breakdown(
    sizes: list[int],
    lab: Lab,
    servers: list[int],
    work: Path,
    log: Any,
    *,
    repeats: int = 3,
    profile_sizes: tuple[int, ...] = (),
    env: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Every command at every N (see the module docstring); profiles at ``profile_sizes``."""
    pycache = work / "pycache"
    base_env = {"PYTHONDONTWRITEBYTECODE": "", "PYTHONPYCACHEPREFIX": str(pycache), **(env or {})}
    traces = work / "traces"
    traces.mkdir(exist_ok=True)
    out: dict[str, Any] = {}
    for n in sizes:
        root = work / f"breakdown-{n}"
        project = _project(n, lab, root, base_env)
        runs: dict[str, list[dict[str, Any]]] = {command: [] for command in COMMANDS}
        unpickling: dict[str, float] = {}
        for _ in range(repeats):
            for command in COMMANDS:  # up, preview --refresh, destroy: each round starts empty
                runs[command].append(_command(project, lab, servers, command, traces))
                if command == "up" and not unpickling:
                    unpickling = provider_unpickling(project, base_env)
        at: dict[str, Any] = {command: _median(samples) for command, samples in runs.items()}
        for command, measured in at.items():
            times = " ".join(f"{s:.2f}" for s in measured["samples_s"])
            log(f"  breakdown N={n:<4} {command:<16} {measured['seconds']:7.2f} s (runs: {times})")
        at["provider_unpickling"] = unpickling
        if n in profile_sizes:
            profiles: dict[str, Any] = {}
            for command in COMMANDS:  # the same order: up, preview --refresh, destroy
                profile_dir = work / f"profile-{n}-{command}"
                profile_dir.mkdir()
                measured = _command(project, lab, servers, command, traces, profile_dir)
                profiles[command] = {
                    "seconds": measured["seconds"],
                    "samples": _profile(profile_dir),
                }
            at["profiles"] = profiles
            log(f"  breakdown N={n:<4} profiled")
        if lab.user_endpoint_ids():
            raise RuntimeError(f"N={n}: destroy left endpoints behind")
        shutil.rmtree(root, ignore_errors=True)
        out[str(n)] = at
    return out

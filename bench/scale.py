"""Scale under the real engine: N endpoints through preview, up, refresh, preview, destroy.

Each (provider, N) gets a fresh project folder and ``file://`` backend (``PulumiProject``). Beside
our provider runs a no-op dynamic provider (``bench/noop``) over the same stack file: the engine's
own floor. Per phase: wall time of the CLI command, the requests the emulator received (its log is
cleared before the phase), and the peak RSS (VmHWM) of the provider process the engine started.
"""

from __future__ import annotations

import json
import os
import re
import resource
import shutil
import statistics
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

from emulators.lab import HF_KEY, Lab
from harness.pulumi_cli import PulumiProject, Result

__all__ = ["KINDS", "PHASES", "run_scale", "stack_document"]

BENCH = Path(__file__).resolve().parent
NOOP = BENCH / "noop"
KINDS = ("ours", "noop")
PHASES = ("preview", "up", "refresh", "preview_nochange", "destroy")
STACK = "bench"
_REPEATABLE = ("preview", "refresh", "preview_nochange")
_ENDPOINT_PATH = re.compile(r"^/_inference/([^/]+)/([^/]+)(/_update)?$")


def stack_document(lab: Lab, n: int) -> dict[str, Any]:
    """N rerank endpoints on the lab's Hugging Face server, the key a Pulumi config secret."""
    return {
        "elasticsearch": {"endpoints": [lab.es_url]},
        "endpoints": [
            {
                "inference_id": f"bench-rerank-{i:04d}",
                "task_type": "rerank",
                "service": "hugging_face",
                "service_settings": {
                    "url": f"{lab.hf_url}/rerank",
                    "api_key": {"secret": "hfApiKey"},
                },
                "task_settings": {"return_documents": True, "top_n": 3},
            }
            for i in range(n)
        ],
    }


class NoopProject(PulumiProject):
    """A PulumiProject whose program and Pulumi.yaml are ``bench/noop``'s (set before stack init)."""

    def __init__(self, root: Path, stack: str, env: dict[str, str]) -> None:
        self._pending = True
        super().__init__(root, stack, env)

    def run(self, *args: str, check: bool = True, timeout: float = 600) -> Result:
        if self._pending:
            self._pending = False
            shutil.copy(NOOP / "__main__.py", self.dir / "__main__.py")
            text = (NOOP / "Pulumi.yaml").read_text()
            venv = f"virtualenv: {Path(sys.prefix)}"
            (self.dir / "Pulumi.yaml").write_text(text.replace("virtualenv: .venv", venv))
        return super().run(*args, check=check, timeout=timeout)


_TICK = os.sysconf("SC_CLK_TCK")
_ROLES = {b"pulumi.dynamic": "provider", b"pulumi-language-python-exec": "program"}


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process so far (0 when it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _TICK


class ProcessSampler:
    """Polls ``/proc`` every ``interval`` s for this project's provider and program processes.

    Keeps the provider's peak RSS (VmHWM) and the last CPU time seen of each process, by role.
    """

    def __init__(self, marker: str, interval: float = 0.05) -> None:
        self.marker = marker.encode()
        self.interval = interval
        self.peak_kb = 0
        self.roles: dict[int, str] = {}
        self.cpu: dict[int, float] = {}
        self._stop = threading.Event()
        self._ignored: set[int] = set()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def __enter__(self) -> ProcessSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join()

    def cpu_of(self, role: str) -> float:
        """CPU seconds of the processes of one role."""
        return sum(self.cpu.get(pid, 0.0) for pid, r in self.roles.items() if r == role)

    def _role(self, pid: int) -> str | None:
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
            role = next((r for key, r in _ROLES.items() if key in cmdline), None)
            if role is None:
                # The engine's child execs sh, then python, under one pid: keep watching those.
                if cmdline and b"pulumi" not in cmdline:
                    self._ignored.add(pid)
                return None
            return role if self.marker in Path(f"/proc/{pid}/environ").read_bytes() else None
        except OSError:
            return None

    def _loop(self) -> None:
        while True:
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
                used = cpu_seconds(pid)
                if used:
                    self.cpu[pid] = max(self.cpu.get(pid, 0.0), used)
                if self.roles[pid] != "provider":
                    continue
                try:
                    status = Path(f"/proc/{pid}/status").read_text()
                except OSError:
                    continue
                found = re.search(r"^VmHWM:\s+(\d+) kB", status, re.MULTILINE)
                if found:
                    self.peak_kb = max(self.peak_kb, int(found.group(1)))
            if self._stop.wait(self.interval):
                return


def summarize_requests(entries: list[dict[str, Any]]) -> dict[str, int]:
    """Requests by ``METHOD path`` with endpoint ids folded into ``{id}``."""
    counts: Counter[str] = Counter()
    for entry in entries:
        path = str(entry["path"])
        found = _ENDPOINT_PATH.match(path)
        if found and found.group(2) != "_all":
            path = f"/_inference/{found.group(1)}/{{id}}{found.group(3) or ''}"
        query = "&".join(sorted(entry.get("query") or {}))
        counts[f"{entry['method']} {path}{'?' + query if query else ''}"] += 1
    return dict(sorted(counts.items()))


_COMMANDS = {
    "preview": ("preview",),
    "up": ("up", "--yes", "--skip-preview"),
    "refresh": ("refresh", "--yes", "--skip-preview"),
    "preview_nochange": ("preview",),
    "destroy": ("destroy", "--yes", "--skip-preview"),
}


def _phase(project: PulumiProject, lab: Lab, phase: str, servers: list[int]) -> dict[str, Any]:
    lab.clear_log()
    servers_before = sum(cpu_seconds(pid) for pid in servers)
    children_before = _children_cpu()
    with ProcessSampler(f"PULUMI_HOME={project.env['PULUMI_HOME']}") as sampler:
        started = time.perf_counter()
        result = project.run(*_COMMANDS[phase], check=False, timeout=7200)
        seconds = time.perf_counter() - started
    entries = lab.requests()
    children = _children_cpu() - children_before
    provider_cpu, program_cpu = sampler.cpu_of("provider"), sampler.cpu_of("program")
    measured: dict[str, Any] = {
        "seconds": seconds,
        "requests": len(entries),
        "by_request": summarize_requests(entries),
        "peak_rss_kb": sampler.peak_kb,
        "provider_processes": sum(1 for r in sampler.roles.values() if r == "provider"),
        "cpu_s": {
            "provider": provider_cpu,
            "program": program_cpu,
            # The CLI, its language host and plugins: everything the command ran but ours.
            "engine": max(0.0, children - provider_cpu - program_cpu),
            "servers": sum(cpu_seconds(pid) for pid in servers) - servers_before,
        },
    }
    if result.returncode != 0:
        measured["error"] = _error_summary(result.output)
        measured["output_tail"] = result.output[-3000:]
    return measured


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _error_summary(output: str) -> str:
    """The exception line and the engine's resource summary of a failed command."""
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    errors = [line for line in lines if re.match(r"^[A-Za-z_.]*(Error|Exception)\b.*:", line)]
    summary = [line for line in lines if re.search(r"\d+ (errored|to create|created)$", line)]
    picked = errors[-1:] + summary
    return "; ".join(picked) if picked else (lines[-1] if lines else "no output")


def _footprint(project: PulumiProject, n: int) -> dict[str, Any]:
    exported = project.export()
    resources = json.loads(exported)["deployment"].get("resources", [])
    ours = [r for r in resources if r["type"].startswith("pulumi-python:dynamic")]
    sizes = [len(str(r.get("outputs", {}).get("__provider", ""))) for r in ours]
    return {
        "export_bytes": len(exported.encode()),
        "resources": len(ours),
        "per_endpoint_bytes": len(exported.encode()) / n,
        "provider_bytes": max(sizes) if sizes else 0,
        "provider_copies_per_resource": sum(
            1 for where in ("inputs", "outputs") if "__provider" in (ours[0].get(where) or {})
        )
        if ours
        else 0,
        "resource_bytes": len(json.dumps(ours[0]).encode()) if ours else 0,
    }


def _project(kind: str, n: int, lab: Lab, work: Path) -> PulumiProject:
    root = work / f"{kind}-{n}"
    root.mkdir(parents=True)
    env = {
        "ES_INFERENCE_RETRY_DEADLINE": "60",
        # Compile once into a private cache, as an installed package would be.
        "PYTHONDONTWRITEBYTECODE": "",
        "PYTHONPYCACHEPREFIX": str(work / "pycache"),
        "PYTHONPATH": str(NOOP),
    }
    project = NoopProject(root, STACK, env) if kind == "noop" else PulumiProject(root, STACK, env)
    project.write_stack(stack_document(lab, n))
    project.set_secret("hfApiKey", HF_KEY)
    return project


def _merge(samples: list[dict[str, Any]]) -> dict[str, Any]:
    """The median time of the repetitions; requests and memory of the worst one."""
    broken = [s for s in samples if "error" in s]
    if broken:
        return broken[0]
    merged = dict(max(samples, key=lambda s: s["requests"]))
    merged["seconds"] = statistics.median(s["seconds"] for s in samples)
    merged["samples_s"] = [s["seconds"] for s in samples]
    merged["peak_rss_kb"] = max(s["peak_rss_kb"] for s in samples)
    merged["cpu_s"] = {
        role: statistics.median(s["cpu_s"][role] for s in samples) for role in samples[0]["cpu_s"]
    }
    return merged


def run_size(
    n: int, lab: Lab, servers: list[int], work: Path, repeats: dict[str, int], log: Any
) -> dict[str, Any]:
    """Every phase at one N, ours and the floor side by side (fresh backends).

    The kinds alternate within each phase, so drift hits both alike; a phase that leaves the state
    as it found it (the previews, refresh) may run ``repeats[phase]`` times: the median counts.
    A kind whose command fails stops there: the failure is recorded (``error``), its later
    phases are not run, and its stack is destroyed, untimed, before the next N.
    """
    projects = {kind: _project(kind, n, lab, work) for kind in KINDS}
    samples: dict[str, dict[str, list[dict[str, Any]]]] = {k: {} for k in KINDS}
    footprint: dict[str, Any] = {}
    failed: dict[str, str] = {}
    turn = 0
    for phase in PHASES:
        times = repeats.get(phase, 1) if phase in _REPEATABLE else 1
        for _ in range(times):
            order = KINDS if turn % 2 == 0 else tuple(reversed(KINDS))
            turn += 1
            for kind in order:
                if kind in failed:
                    continue
                measured = _phase(projects[kind], lab, phase, servers)
                samples[kind].setdefault(phase, []).append(measured)
                if "error" in measured:
                    failed[kind] = phase
                    log(f"  {kind:4} N={n:<5} {phase:17} FAILED: {measured['error']}")
                    continue
                log(
                    f"  {kind:4} N={n:<5} {phase:17} {measured['seconds']:8.2f} s "
                    f"{measured['requests']:6} requests  {measured['peak_rss_kb'] / 1024:6.1f} MiB"
                )
                if phase == "up":
                    footprint[kind] = _footprint(projects[kind], n)
    for kind in failed:
        projects[kind].run(*_COMMANDS["destroy"], check=False, timeout=7200)
    left = lab.user_endpoint_ids()
    if left:
        raise RuntimeError(f"N={n}: destroy left {len(left)} endpoints behind")
    for project in projects.values():
        shutil.rmtree(project.root, ignore_errors=True)
    return {
        kind: {
            "phases": {
                phase: _merge(samples[kind][phase]) for phase in PHASES if phase in samples[kind]
            },
            "footprint": footprint.get(kind, {}),
            **({"failed_phase": failed[kind]} if kind in failed else {}),
        }
        for kind in KINDS
    }


def run_scale(
    sizes: list[int], lab: Lab, servers: list[int], work: Path, repeats: int, log: Any
) -> dict[str, Any]:
    """Every N in turn; the phases that leave the state unchanged run ``repeats`` times.
    ``servers`` are the emulator's and the HF server's pids (their CPU time is reported)."""
    results: dict[str, dict[str, Any]] = {kind: {} for kind in KINDS}
    for n in sizes:
        measured = run_size(n, lab, servers, work, dict.fromkeys(_REPEATABLE, repeats), log)
        for kind in KINDS:
            results[kind][str(n)] = measured[kind]
    return results

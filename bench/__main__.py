"""``python -m bench [--smoke] [--sizes 1,10,100,1000] [--out bench/results]`` (see scripts/bench).

Runs, against one emulator and Hugging Face server: the per-operation comparison, the import
measurements, the profiles, then the scale phases under the real engine; writes ``results.md``,
``profile.md``, ``scale.png``, ``results.json`` and ``raw/`` into the output folder.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from bench import breakdown, breakdown_report, per_op, report, scale
from bench.footprint import run_imports
from bench.profiling import run_profiles
from bench.servers import lab_processes
from emulators.lab import Lab
from harness.pulumi_cli import REPO, engine_env, pulumi_bin_dir

STARTED = time.monotonic()


def log(message: str) -> None:
    """Progress on stderr, with the minutes since start."""
    print(
        f"[bench {(time.monotonic() - STARTED) / 60:5.1f} min] {message}",
        file=sys.stderr,
        flush=True,
    )


def _cpu() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown CPU"


def _memory() -> str:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB RAM"
    return "unknown RAM"


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def machine() -> dict[str, Any]:
    """What the numbers were measured on."""
    cli = subprocess.run(
        [str(pulumi_bin_dir() / "pulumi"), "version"], capture_output=True, text=True, check=True
    )
    head = subprocess.run(
        ["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    )
    dirty = subprocess.run(
        ["git", "-C", str(REPO), "status", "--porcelain", "providers", "schemas"],
        capture_output=True,
        text=True,
    )
    return {
        "commit": head.stdout.strip() or "unknown",
        "providers_modified": bool(dirty.stdout.strip()),
        "nproc": os.cpu_count(),
        "cpu": _cpu(),
        "memory": _memory(),
        "python": platform.python_version(),
        "pulumi_cli": cli.stdout.strip(),
        "pulumi_sdk": importlib.metadata.version("pulumi"),
        "load_start": _load(),
    }


def _warm(lab: Lab, work: Path) -> None:
    """One throwaway preview per provider kind: Go binaries, language host and bytecode cache."""
    for kind in scale.KINDS:
        root = work / f"warm-{kind}"
        root.mkdir()
        env = {"PYTHONDONTWRITEBYTECODE": "", "PYTHONPYCACHEPREFIX": str(work / "pycache")}
        env["PYTHONPATH"] = str(scale.NOOP)
        project = (
            scale.NoopProject(root, scale.STACK, env)
            if kind == "noop"
            else scale.PulumiProject(root, scale.STACK, env)
        )
        project.write_stack(scale.stack_document(lab, 1))
        project.set_secret("hfApiKey", "hf_warm_up_only")
        project.preview()
        shutil.rmtree(root, ignore_errors=True)


def _parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="scripts/bench", description=__doc__)
    parser.add_argument(
        "--smoke", action="store_true", help="N = 1 and 3, few repetitions (~1 min)"
    )
    parser.add_argument(
        "--sizes", help="comma-separated N for the scale phases (default 1,10,100,1000)"
    )
    parser.add_argument("--out", default=str(REPO / "bench" / "results"), help="output folder")
    parser.add_argument("--repetitions", type=int, help="per-operation repetitions (default 200)")
    parser.add_argument(
        "--breakdown",
        action="store_true",
        help="only split up, preview --refresh and destroy by process and phase, beside the "
        "Terraform anchor (sizes default 1,10,100,400; profiles at the smallest and largest)",
    )
    parser.add_argument(
        "--engine-env",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override an engine setting of scripts/pulumi for this run (to measure a lever off)",
    )
    parser.add_argument(
        "--rewrite-report",
        action="store_true",
        help="measure nothing: rewrite the .md files and the plot from <out>/results.json",
    )
    args = parser.parse_args(argv)
    default_sizes = "1,10,100,400" if args.breakdown else "1,10,100,1000"
    sizes = args.sizes or ("1,3" if args.smoke else default_sizes)
    try:
        args.sizes = sorted({int(n) for n in sizes.split(",") if n.strip()})
    except ValueError:
        parser.error(f"--sizes must be comma-separated integers, not {sizes!r}")
    if not args.sizes or args.sizes[0] < 1:
        parser.error("--sizes needs at least one N >= 1")
    args.repetitions = args.repetitions or (10 if args.smoke else 200)
    try:
        args.engine_env = dict(pair.split("=", 1) for pair in args.engine_env)
    except ValueError:
        parser.error("--engine-env takes KEY=VALUE")
    return args


def _write(results: dict[str, Any], out: Path) -> None:
    report.write_results(results, out / "results.md")
    report.write_profile(results, out / "profile.md")
    report.write_plot(results, out / "scale.png")


def _breakdown(args: argparse.Namespace, out: Path, argv: Sequence[str] | None) -> int:
    """``--breakdown``: the commands of the Terraform comparison, split by process and phase."""
    out.mkdir(parents=True, exist_ok=True)
    command = "scripts/bench " + " ".join(sys.argv[1:] if argv is None else argv)
    settings = {**engine_env(), **args.engine_env}
    results: dict[str, Any] = {
        "command": command.strip(),
        "machine": machine(),
        "engine_env": settings,
        # Settings scripts/pulumi gives one command only (the harness passes the command on).
        "engine_env_by_command": {
            name: {k: v for k, v in engine_env(name).items() if settings.get(k) != v}
            for name in ("preview", "up", "destroy")
        },
        "repeats": 1 if args.smoke else 3,
        # Each project has its own Pulumi home, without Pulumi's automatic log unless asked for.
        "automatic_log": args.engine_env.get("ES_INFERENCE_PULUMI_AUTOMATIC_LOG") == "true",
    }
    log(f"breakdown; sizes {args.sizes}; engine {settings}")
    with (
        tempfile.TemporaryDirectory(prefix="es-inference-bench-") as tmp,
        lab_processes() as (lab, servers),
    ):
        work = Path(tmp)
        _warm(lab, work)
        results["breakdown"] = breakdown.run_breakdown(
            args.sizes,
            lab,
            servers,
            work,
            log,
            repeats=results["repeats"],
            profile_sizes=(args.sizes[0], args.sizes[-1]),
            env=args.engine_env,
        )
    results["machine"]["load_end"] = _load()
    results["seconds"] = time.monotonic() - STARTED
    results["finished"] = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    (out / "breakdown.json").write_text(json.dumps(results, indent=1, default=str) + "\n")
    breakdown_report.write_breakdown(results, out / "breakdown.md")
    breakdown_report.write_terraform_plot(results, out / "terraform.png")
    log(f"done in {results['seconds'] / 60:.1f} min: {out / 'breakdown.md'}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the whole suite; return the exit status."""
    # A shell starts background jobs with SIGINT ignored, and children inherit that. The CLI
    # stops its language host with SIGINT and waits 5 s before killing it: every preview and
    # up would take 5 s longer. Handled (not ignored) here, it is reset to the default in children.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    args = _parse(argv)
    out = Path(args.out).resolve()
    if args.rewrite_report:
        if (out / "results.json").exists():
            _write(json.loads((out / "results.json").read_text()), out)
        if (out / "breakdown.json").exists():
            found = json.loads((out / "breakdown.json").read_text())
            breakdown_report.write_breakdown(found, out / "breakdown.md")
            breakdown_report.write_terraform_plot(found, out / "terraform.png")
        return 0
    if args.breakdown:
        return _breakdown(args, out, argv)
    raw = out / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    command = "scripts/bench " + " ".join(sys.argv[1:] if argv is None else argv)
    results: dict[str, Any] = {
        "command": command.strip(),
        "mode": "smoke" if args.smoke else "full",
        "machine": machine(),
    }
    log(f"{results['mode']} run; sizes {args.sizes}; output {out}")
    with (
        tempfile.TemporaryDirectory(prefix="es-inference-bench-") as tmp,
        lab_processes() as (lab, servers),
    ):
        work = Path(tmp)
        log("per operation")
        measured = per_op.run_per_op(lab, work, args.repetitions)
        (raw / "per_op_samples.json").write_text(json.dumps(measured["samples_ns"]))
        results["per_op"] = {
            "repetitions": args.repetitions,
            "seconds": measured["seconds"],
            **per_op.summarize(measured),
        }
        log("import time")
        results["imports"] = run_imports(3 if args.smoke else 10, work / "pycache")
        log("profiles")
        results["profiles"] = run_profiles(
            lab, work, raw, cycles=5 if args.smoke else 100, resources=100 if args.smoke else 1000
        )
        log("scale: warming up the engine")
        _warm(lab, work)
        log("scale")
        repeats = 1 if args.smoke else 3
        results["scale"] = scale.run_scale(args.sizes, lab, servers, work, repeats, log)
        results["scale_repeats"] = repeats
    results["machine"]["load_end"] = _load()
    results["seconds"] = time.monotonic() - STARTED
    results["finished"] = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    summary = {k: v for k, v in results.items()}
    summary["imports"] = {k: v for k, v in results["imports"].items() if k != "samples_s"}
    (out / "results.json").write_text(json.dumps(summary, indent=1, default=str) + "\n")
    _write(results, out)
    log(f"done in {results['seconds'] / 60:.1f} min: {out / 'results.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

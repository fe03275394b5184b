"""The ``es-inference`` command: offline validation of stack files, and the local test servers."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

__all__ = ["main"]

USAGE_ERROR = 2


def _validate(args: argparse.Namespace) -> int:
    from providers.stack import stack_problems

    if args.files and args.stack:
        print("es-inference validate: give files or --stack, not both", file=sys.stderr)
        return USAGE_ERROR
    if args.stack:
        files = [Path("stacks") / f"{args.stack}.yaml"]
    elif args.files:
        files = [Path(f) for f in args.files]
    else:
        files = sorted(Path("stacks").glob("*.yaml"))
        if not files:
            print("es-inference validate: no stacks/*.yaml here; name the files", file=sys.stderr)
            return USAGE_ERROR
    missing = [path for path in files if not path.is_file()]
    if missing:
        for path in missing:
            print(f"es-inference validate: {path}: no such file", file=sys.stderr)
        return USAGE_ERROR
    report = [(str(path), stack_problems(path, str(path))) for path in files]
    if args.format == "json":
        document = {
            "valid": not any(problems for _, problems in report),
            "files": [
                {
                    "file": file,
                    "valid": not problems,
                    "errors": [{"path": p.path, "message": p.message} for p in problems],
                }
                for file, problems in report
            ],
        }
        print(json.dumps(document, indent=2))
    else:
        for file, problems in report:
            for problem in problems:
                print(f"{file}: {problem}")
        if not any(problems for _, problems in report):
            print(
                f"{len(report)} stack file{'s' if len(report) != 1 else ''} valid", file=sys.stderr
            )
    return 1 if any(problems for _, problems in report) else 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="es-inference",
        description="Elasticsearch inference endpoints as code (a Pulumi dynamic provider).",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    validate = commands.add_parser(
        "validate",
        help="validate stack files offline (exit 0 valid, 1 invalid, 2 usage error)",
        description="Validate stack files against schemas/ without contacting anything. "
        "With no arguments, every stacks/*.yaml.",
    )
    validate.add_argument("files", nargs="*", metavar="FILE", help="stack files to check")
    validate.add_argument("--stack", metavar="NAME", help="check stacks/NAME.yaml")
    validate.add_argument("--format", choices=["text", "json"], default="text")
    validate.set_defaults(func=_validate)

    from providers.emulator.commands import register

    register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits 2 on usage errors, 0 on --help
        return int(exc.code or 0)
    status: int = args.func(args)
    return status


if __name__ == "__main__":
    sys.exit(main())

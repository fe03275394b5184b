"""The ``es-inference`` command: validate and export stack files, write the stack reference,
summarize and check changes in pipelines (``providers.pipeline_commands``); run the local test
servers."""

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
    from providers.stack import unreadable as not_a_stack_file

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
    unreadable = [(path, why) for path in files if (why := not_a_stack_file(path)) is not None]
    if unreadable:
        for path, why in unreadable:
            print(f"es-inference validate: {path}: {why}", file=sys.stderr)
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


def _say(message: str) -> None:
    print(f"es-inference export: {message}", file=sys.stderr)


def _export(args: argparse.Namespace) -> int:
    import os

    from providers.client import ElasticsearchClient
    from providers.connection import resolve_connection
    from providers.errors import ProviderError
    from providers.export import render, stack_document
    from providers.schema import load_schemas

    output = Path(args.output) if args.output else None
    if output is not None and output.exists() and not args.overwrite:
        _say(f"{output} exists; pass --overwrite to replace it")
        return USAGE_ERROR
    if not args.url and not os.environ.get("ELASTICSEARCH_ENDPOINTS"):
        _say("which cluster? pass --url https://host:9200 or export ELASTICSEARCH_ENDPOINTS")
        return USAGE_ERROR
    declared = {"endpoints": args.url} if args.url else {}
    try:
        settings = resolve_connection(
            declared, config={}, env=os.environ, project="es-inference", stack_file="--url"
        )
        with ElasticsearchClient(settings, on_retry=_say) as client:
            version = client.get_cluster_version()
            endpoints = client.get_inference_endpoints()
    except ProviderError as exc:
        _say(str(exc))
        return 1
    exported = stack_document(endpoints, load_schemas(), list(args.url or []))
    text = render(exported, f"{', '.join(settings.endpoints)} (Elasticsearch {version})")
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text, encoding="utf-8")
    count = len(exported.document["endpoints"])
    skipped = (
        f", {len(exported.skipped)} skipped (see the file's header)" if exported.skipped else ""
    )
    _say(f"{count} endpoint{'s' if count != 1 else ''} exported{skipped}")
    return 0


def _docs(args: argparse.Namespace) -> int:
    from providers.reference import readme_block, replace_block, stack_reference
    from providers.schema import load_schemas

    schemas = load_schemas()
    root = Path(args.root) if args.root else schemas.directory.parent
    readme, reference = root / "README.md", root / "docs" / "stack-reference.md"
    if not readme.is_file():
        print(f"es-inference docs: {readme}: no such file (pass --root)", file=sys.stderr)
        return USAGE_ERROR
    current = readme.read_text(encoding="utf-8")
    try:
        wanted = {
            readme: replace_block(current, readme_block(schemas)),
            reference: stack_reference(schemas),
        }
    except ValueError as exc:
        print(f"es-inference docs: {readme}: {exc}", file=sys.stderr)
        return USAGE_ERROR
    stale = [
        path
        for path, text in wanted.items()
        if not path.is_file() or path.read_text(encoding="utf-8") != text
    ]
    if args.check:
        for path in stale:
            print(f"es-inference docs: {path} is stale; run es-inference docs", file=sys.stderr)
        return 1 if stale else 0
    for path in stale:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(wanted[path], encoding="utf-8")
        print(f"es-inference docs: wrote {path}", file=sys.stderr)
    return 0


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
    export = commands.add_parser(
        "export",
        help="write a stack file for the endpoints a cluster already has",
        description="Read every inference endpoint of a cluster (GET _inference/_all) and write a "
        "stack file that declares them, secrets as {secret: <id>.<field>} references. Set those "
        "secrets and `pulumi up` adopts the endpoints. The connection comes from --url and the "
        "ELASTICSEARCH_* environment variables.",
    )
    export.add_argument(
        "--url",
        action="append",
        metavar="URL",
        help="Elasticsearch URL (repeatable); "
        "default ELASTICSEARCH_ENDPOINTS. Given, it is written into the stack file",
    )
    export.add_argument("--output", "-o", metavar="FILE", help="write here instead of stdout")
    export.add_argument("--overwrite", action="store_true", help="replace an existing --output")
    export.set_defaults(func=_export)
    docs = commands.add_parser(
        "docs",
        help="write the stack reference from schemas/ (docs/stack-reference.md, README table)",
        description="Generate docs/stack-reference.md and the README's table of services from "
        "schemas/. With --check, write nothing and exit 1 if either is stale.",
    )
    docs.add_argument("--check", action="store_true", help="exit 1 if the files are stale")
    docs.add_argument("--root", metavar="DIR", help="the checkout (default: next to schemas/)")
    docs.set_defaults(func=_docs)

    from emulators.commands import register
    from providers.pipeline_commands import register as register_pipeline_commands

    register_pipeline_commands(commands)
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

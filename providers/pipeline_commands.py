"""The pipeline commands of ``es-inference``: ``summary``, ``check`` and ``smoke``.

Each reads stack files and talks to the cluster named by the stack file's ``elasticsearch:`` block
and the ``ELASTICSEARCH_*`` environment (Pulumi config is not read here: a pipeline sets the
environment from its secret store). Each prints Markdown or text for people and JSON for tools, and
exits with a code from its module's ``EXIT_CODES``.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from providers.client import ElasticsearchClient
    from providers.connection import ConnectionSettings
    from providers.stack import StackDeclaration

__all__ = ["register"]

USAGE_ERROR = 2


def _say(command: str, message: str) -> None:
    print(f"es-inference {command}: {message}", file=sys.stderr)


def _stack_path(stack: str | None, stack_file: str | None) -> Path | None:
    if stack_file:
        return Path(stack_file)
    return Path("stacks") / f"{stack}.yaml" if stack else None


def _connection(declaration: StackDeclaration) -> ConnectionSettings:
    """The stack's cluster, from its ``elasticsearch:`` block and the environment (no config)."""
    from providers.connection import resolve_connection

    return resolve_connection(
        declaration.elasticsearch,
        config={},
        env=os.environ,
        project=os.environ.get("PULUMI_PROJECT", "es-inference"),
        stack_file=declaration.source,
    )


@contextmanager
def _client(declaration: StackDeclaration, command: str) -> Iterator[ElasticsearchClient]:
    """A client for the stack's cluster; raises ProviderError when it cannot be named."""
    from providers.client import ElasticsearchClient

    settings = _connection(declaration)
    with ElasticsearchClient(settings, on_retry=lambda m: _say(command, m)) as client:
        yield client


def _references(
    client: ElasticsearchClient, task_type: str, inference_id: str
) -> tuple[list[str], list[str]]:
    """What uses an endpoint, asked as the provider's delete asks: ``DELETE …?dry_run=true``."""
    found = client.delete_inference_endpoint(task_type, inference_id, dry_run=True) or {}
    return list(found.get("pipelines") or []), list(found.get("indexes") or [])


def _summary(args: argparse.Namespace) -> int:
    from providers.errors import ProviderError
    from providers.schema import load_schemas
    from providers.stack import declared_force, load_stack, stack_problems
    from providers.summary import EXIT_CODES, render_json, render_markdown, summarize
    from providers.versions import Version

    text = sys.stdin.read() if args.preview == "-" else None
    if text is None:
        try:
            text = Path(args.preview).read_text(encoding="utf-8")
        except OSError as exc:
            _say("summary", f"{args.preview}: cannot be read ({exc.strerror or exc})")
            return EXIT_CODES["error"]
    try:
        document = json.loads(text)
        if not isinstance(document, dict):
            raise ValueError("not a JSON object")
    except ValueError as exc:
        _say(
            "summary",
            f"{args.preview}: not the output of `pulumi preview --json` ({exc}); "
            "did the preview itself fail before printing?",
        )
        return EXIT_CODES["error"]
    urns = [str(s.get("urn", "")) for s in document.get("steps") or []]
    stack = args.stack or next(
        (u.removeprefix("urn:pulumi:").split("::", 1)[0] for u in urns if u), "unknown"
    )
    path = _stack_path(stack, args.stack_file)
    invalid: list[str] = []
    declaration = None
    if path is not None and path.is_file():
        invalid = [f"{path}: {p}" for p in stack_problems(path, str(path))]
        if not invalid:
            declaration = load_stack(path, str(path))
    elif args.stack or args.stack_file:
        _say("summary", f"{path}: no such file")
        return USAGE_ERROR

    touches = any(
        str(step.get("op"))
        in ("create", "replace", "delete", "create-replacement", "delete-replaced")
        and str((step.get("newState") or step.get("oldState") or {}).get("type", "")).endswith(
            "elasticsearch:InferenceEndpoint"
        )
        for step in document.get("steps") or []
    )
    with ExitStack() as resources:
        client: ElasticsearchClient | None = None
        version: Version | None = None
        unreachable = (
            f"the stack file ({path}) is invalid, so its cluster is unknown"
            if invalid
            else f"no stack file {path} names {stack}'s cluster; pass --stack-file FILE"
        )
        if declaration is not None and touches and not args.no_references:
            try:
                client = resources.enter_context(_client(declaration, "summary"))
                version = client.get_cluster_version()
            except ProviderError as exc:
                client, unreachable = None, str(exc)

        def references(task_type: str, inference_id: str) -> tuple[list[str], list[str]]:
            if client is None:
                raise ProviderError(unreachable)
            return _references(client, task_type, inference_id)

        summary = summarize(
            document,
            stack=stack,
            schemas=load_schemas(),
            declared_force=(lambda i: declared_force(path, i)) if path else (lambda _: False),
            references=None if args.no_references else references,
            cluster_version=version,
            invalid=invalid,
        )
    if args.format == "json":
        print(json.dumps(render_json(summary), indent=2))
    else:
        print(render_markdown(summary))
    return summary.exit_code


def _check(args: argparse.Namespace) -> int:
    from providers.drift import EXIT_CODES, Report, compare, render_json, render_text, worst
    from providers.errors import ProviderError
    from providers.schema import load_schemas
    from providers.stack import load_stack, stack_problems

    folder = Path(args.stacks_dir)
    files = sorted(folder.glob("*.yaml"))
    if args.stack and folder / f"{args.stack}.yaml" not in files:
        _say("check", f"{folder / (args.stack + '.yaml')}: no such file")
        return USAGE_ERROR
    if not files:
        _say("check", f"no {folder}/*.yaml here; pass --stacks-dir")
        return USAGE_ERROR
    invalid = [f"{path}: {p}" for path in files for p in stack_problems(path, str(path))]
    reports: list[Report] = []
    if invalid:
        reports.append(Report("", "", invalid=invalid))
    else:
        by_cluster: dict[tuple[str, ...], list[StackDeclaration]] = {}
        unresolved: list[str] = []
        for path in files:
            declaration = load_stack(path, str(path))
            try:
                settings = _connection(declaration)
            except ProviderError as exc:
                if not args.stack or path.stem == args.stack:
                    unresolved.append(str(exc))
                continue
            by_cluster.setdefault(settings.endpoints, []).append(declaration)
        if unresolved:
            reports.append(Report("", "", errors=unresolved))
        for cluster, declarations in by_cluster.items():
            sources = [d.source for d in declarations]
            checked = [s for s in sources if not args.stack or Path(s).stem == args.stack]
            if not checked:
                continue
            try:
                with _client(declarations[0], "check") as client:
                    version = client.get_cluster_version()
                    live = client.get_inference_endpoints()
                    findings = compare(
                        {d.source: d.endpoints for d in declarations},
                        live,
                        load_schemas(),
                        version,
                        checked=checked,
                        references=functools.partial(_references, client),
                    )
            except ProviderError as exc:
                reports.append(Report(", ".join(cluster), "", errors=[str(exc)]))
                continue
            reports.append(Report(", ".join(cluster), str(version), findings))
    status = worst(r.status for r in reports)
    if args.format == "json":
        print(json.dumps(render_json(reports), indent=2))
        return EXIT_CODES[status]
    for line in render_text(reports, verbose=args.verbose):
        print(line)
    _say("check", status.replace("_", " "))
    return EXIT_CODES[status]


def _smoke(args: argparse.Namespace) -> int:
    from providers.errors import ElasticsearchError, ElasticsearchUnreachable, ProviderError
    from providers.smoke import (
        EXIT_CODES,
        Outcome,
        answer_problems,
        call_for,
        changed_endpoints,
        expected_dimensions,
        outcome_status,
        render_json,
        render_text,
    )
    from providers.stack import load_stack, stack_problems

    path = _stack_path(args.stack, args.stack_file)
    if path is None or not path.is_file():
        _say("smoke", f"{path or 'which stack?'}: no such file; pass --stack NAME or --stack-file")
        return USAGE_ERROR
    invalid = stack_problems(path, str(path))
    if invalid:
        for problem in invalid:
            print(f"{path}: {problem}")
        return EXIT_CODES["invalid"]
    declaration = load_stack(path, str(path))
    wanted = [
        e
        for e in declaration.endpoints
        if (e.smoke_test if e.smoke_test is not None else declaration.smoke_test or args.all)
    ]
    if args.changes:
        try:
            changed = changed_endpoints(Path(args.changes).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            _say("smoke", f"{args.changes}: not the output of `pulumi up --json` ({exc})")
            return EXIT_CODES["error"]
        wanted = [e for e in wanted if e.inference_id in changed]
    outcomes: list[Outcome] = []
    try:
        with _client(declaration, "smoke") as client:
            mapping = client.get_mapping() if wanted else {}
            for endpoint in wanted:
                live = client.get_inference_endpoint(endpoint.task_type, endpoint.inference_id)
                if live is None:
                    gone = ["not on the cluster (did pulumi up fail?)"]
                    outcomes.append(Outcome(endpoint.inference_id, endpoint.task_type, gone))
                    continue
                call = call_for(endpoint.task_type)
                expected = expected_dimensions(endpoint.inference_id, live, mapping)
                try:
                    answer = client.perform_inference(
                        endpoint.task_type, endpoint.inference_id, call.body, stream=call.stream
                    )
                except ElasticsearchUnreachable:
                    raise
                except ElasticsearchError as exc:
                    outcomes.append(Outcome(endpoint.inference_id, endpoint.task_type, [str(exc)]))
                    continue
                problems = answer_problems(
                    endpoint.task_type,
                    answer,
                    expected=expected,
                    task_settings=live.get("task_settings") or {},
                )
                checked = [f"{size} dimensions ({where})" for where, size in expected]
                outcomes.append(
                    Outcome(endpoint.inference_id, endpoint.task_type, problems, checked)
                )
    except ProviderError as exc:
        _say("smoke", str(exc))
        return EXIT_CODES["error"]
    status = outcome_status(outcomes)
    if args.format == "json":
        print(json.dumps(render_json(outcomes), indent=2))
        return EXIT_CODES[status]
    for line in render_text(outcomes):
        print(line)
    failed = sum(1 for o in outcomes if not o.passed)
    if not outcomes:
        _say("smoke", "no endpoint to test (none changed, or smoke_test is off)")
    else:
        _say("smoke", f"{len(outcomes) - failed} passed, {failed} failed")
    return EXIT_CODES[status]


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``summary``, ``check`` and ``smoke`` to the ``es-inference`` command."""
    summary = commands.add_parser(
        "summary",
        help="summarize `pulumi preview --json` per endpoint, for a change request "
        "(exit 0 no change, 1 invalid, 3 changes, 4 blocked, 5 error)",
        description="Read the output of `pulumi preview --json` and print one row per inference "
        "endpoint: the action, the fields that change and why, what blocks it (the ingest "
        "pipelines and semantic_text indexes that use an endpoint to be deleted or replaced, "
        "unless force), and version notes. Markdown for a CI comment, JSON for tools. Exit "
        "codes: 0 no change, 1 the stack file is invalid, 2 usage error, 3 changes, 4 blocked, "
        "5 error (the preview failed, or references could not be checked).",
    )
    summary.add_argument(
        "--preview",
        default="-",
        metavar="FILE",
        help="the `pulumi preview --json` output (default: standard input)",
    )
    summary.add_argument("--stack", metavar="NAME", help="the stack (default: from the preview)")
    summary.add_argument(
        "--stack-file", metavar="FILE", help="the stack file (default: stacks/<stack>.yaml)"
    )
    summary.add_argument("--format", choices=["md", "json"], default="md")
    summary.add_argument(
        "--no-references",
        action="store_true",
        help="do not ask the cluster what uses endpoints to be deleted or replaced",
    )
    summary.set_defaults(func=_summary)

    check = commands.add_parser(
        "check",
        help="compare stack files with the cluster: drift, missing and undeclared endpoints "
        "(exit 0 in sync, 1 invalid, 3 drift, 4 undeclared only, 5 error)",
        description="Read every endpoint of each cluster the stack files name (one GET "
        "_inference/_all) and report drift (what `pulumi up` would change), declared endpoints "
        "that are missing, and endpoints no stack file declares, with the pipelines and indexes "
        "that use them. For a scheduled job. Exit codes: 0 in sync, 1 a stack file is invalid, "
        "2 usage error, 3 drift or missing endpoints, 4 only undeclared endpoints, 5 error.",
    )
    check.add_argument(
        "--stack",
        metavar="NAME",
        help="check only stacks/NAME.yaml for drift (every stack "
        "file still counts for what is undeclared)",
    )
    check.add_argument("--stacks-dir", default="stacks", metavar="DIR", help="default: stacks")
    check.add_argument("--format", choices=["text", "json"], default="text")
    check.add_argument("--verbose", "-v", action="store_true", help="list endpoints in sync too")
    check.set_defaults(func=_check)

    smoke = commands.add_parser(
        "smoke",
        help="after pulumi up, call each endpoint for real and check its answer "
        "(exit 0 passed, 1 invalid, 3 failed, 5 error)",
        description="Call each endpoint of the stack whose smoke_test is on (POST "
        "_inference/<task_type>/<id> with a tiny input; chat_completion through _stream) and "
        "check the answer: embedding size equal to the endpoint's dimensions and to the "
        "model_settings of every semantic_text field that uses it, ranked documents for rerank, "
        "text for completion and chat_completion. Exit codes: 0 passed (or nothing to test), 1 "
        "the stack file is invalid, 2 usage error, 3 an endpoint failed, 5 error.",
    )
    smoke.add_argument("--stack", metavar="NAME", help="test stacks/NAME.yaml")
    smoke.add_argument("--stack-file", metavar="FILE", help="test this stack file")
    smoke.add_argument(
        "--changes",
        metavar="FILE",
        help="only the endpoints that the `pulumi up --json` output in FILE created or changed",
    )
    smoke.add_argument(
        "--all",
        action="store_true",
        help="every endpoint, unless it sets smoke_test: false (default: those with it on)",
    )
    smoke.add_argument("--format", choices=["text", "json"], default="text")
    smoke.set_defaults(func=_smoke)

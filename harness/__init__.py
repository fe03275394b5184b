"""Drive the real Pulumi parts for the tests and the benchmarks (not shipped).

- ``harness.pulumi_cli``: the Pulumi CLI (built by scripts/pulumi) on a copy of the project;
- ``harness.provider_host``: Pulumi's dynamic-provider host process, over gRPC;
- ``harness.otel_trace``: the spans of the CLI's OpenTelemetry trace;
- ``harness.signals``: SIGINT as a CI runner gives it, in every process they start.
"""

__all__: list[str] = []

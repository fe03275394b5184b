"""The no-op program: one NoopEndpoint per entry of stacks/<stack>.yaml, secrets as Pulumi secrets.

It reads the same stack file as the real program and declares resources with the same properties
and the same stack output, without schema validation, so the difference is our provider's work.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pulumi
import yaml
from noop_provider import NoopEndpoint, NoopProvider


def _settings(raw: dict[str, Any]) -> dict[str, Any]:
    settings: dict[str, Any] = {}
    for name, value in raw.items():
        if isinstance(value, dict) and set(value) == {"secret"}:
            settings[name] = pulumi.Config().require_secret(value["secret"])
        else:
            settings[name] = value
    return settings


document = yaml.safe_load(Path(f"stacks/{pulumi.get_stack()}.yaml").read_text())
provider = NoopProvider()
summaries: dict[str, Any] = {}
for entry in document["endpoints"]:
    resource = NoopEndpoint(
        entry["inference_id"],
        provider=provider,
        inference_id=entry["inference_id"],
        task_type=entry["task_type"],
        service=entry["service"],
        service_settings=_settings(entry["service_settings"]),
        task_settings=entry.get("task_settings"),
        chunking_settings=entry.get("chunking_settings"),
        force=bool(entry.get("force", False)),
    )
    summaries[entry["inference_id"]] = pulumi.Output.unsecret(
        pulumi.Output.all(resource.task_type, resource.service, resource.service_settings).apply(
            lambda args: {"task_type": args[0], "service": args[1], "url": args[2].get("url")}
        )
    )
pulumi.export("endpoints", summaries)

"""Under the real engine, a reference to an unset secret stops the program with one wording."""

from __future__ import annotations

import pytest

from emulators.lab import Lab
from harness.pulumi_cli import PulumiProject
from tests.e2e.conftest import stack_document

pytestmark = pytest.mark.e2e


def test_references_to_unset_secrets_are_all_reported_in_the_providers_words(
    project: PulumiProject, lab: Lab
) -> None:
    document = stack_document(lab)
    document["endpoints"][0]["service_settings"]["api_key"] = {"secret": "missingKey"}
    document["endpoints"][1]["service_settings"]["api_key"] = {"env": "HF_KEY_NOT_EXPORTED"}
    project.write_stack(document)

    result = project.preview(check=False)

    assert result.returncode != 0
    assert "stacks/e2e.yaml is invalid (2 errors):" in result.output
    for line in (
        "stacks/e2e.yaml: $.endpoints[0].service_settings.api_key refers to the Pulumi config "
        "secret 'es-inference:missingKey', which is not set; run: pulumi config set --secret "
        "es-inference:missingKey <value>",
        "stacks/e2e.yaml: $.endpoints[1].service_settings.api_key refers to the environment "
        "variable 'HF_KEY_NOT_EXPORTED', which is not set",
    ):
        assert line in result.output
    assert "Traceback" not in result.output
    assert lab.requests() == []

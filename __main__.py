"""The Pulumi program: declare the inference endpoints listed in stacks/<stack>.yaml."""

from providers.program import run

run()

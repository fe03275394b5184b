"""The Pulumi program: declare the inference endpoints listed in stacks/<stack>.yaml."""

from providers.provider_start import start_provider_host

start_provider_host()  # before the program's imports: the engine starts the provider host now

from providers.program import run  # noqa: E402

run()

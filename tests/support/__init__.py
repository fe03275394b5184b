"""Helpers shared by the test tiers: loopback servers, the dynamic-provider host, the Pulumi CLI."""

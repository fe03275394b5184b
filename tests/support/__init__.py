"""Helpers of the test tiers only: the CI recipe runner, a local S3-compatible store, the settings
no test may see (and the bench run without them); and aliases of ``harness`` modules for branches
written before they moved (see harness/)."""

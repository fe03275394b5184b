"""Aliases of ``harness`` modules for branches written before it moved (see harness/)."""

"""Baselines measured side by side with the sidecar."""

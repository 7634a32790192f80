"""Shared values for the Kubernetes client and emulator tests (the argocd step's tests use them too)."""

OLD = "1" * 40
NEW = "2" * 40
NEWER = "3" * 40

"""pressplay's benchmark: ``.venv/bin/python -m bench`` (see docs/performance.md)."""

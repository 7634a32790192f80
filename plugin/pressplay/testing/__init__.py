"""Test tools shipped for users too: the agent emulator, sidecar runners and API emulators.

Production code never imports this package (only ``pressplay.demo`` and tests do).
"""

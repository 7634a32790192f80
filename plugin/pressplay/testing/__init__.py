"""Test tools shipped for users too: the agent emulator, sidecar runners and API emulators.

They come with the ``testing`` extra (``pip install 'pressplay[testing]'``), which also brings
``pressplay demo``; the sidecar's image installs pressplay without it. Production code never imports
this package (an import-linter contract in pyproject.toml says so).
"""

from importlib.util import find_spec

#: the import name of each package the kit needs beyond pressplay's own dependencies
_KIT_NEEDS = {
    "cheroot": "cheroot",
    "jsonschema": "jsonschema",
    "jsonpatch": "jsonpatch",
    "graphql": "graphql-core",
}
_missing = sorted(dist for module, dist in _KIT_NEEDS.items() if find_spec(module) is None)
if _missing:
    raise ImportError(
        f"pressplay.testing needs {', '.join(_missing)}, which come with the testing extra: "
        "pip install 'pressplay[testing]'"
    )

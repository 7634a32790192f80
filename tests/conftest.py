pytest_plugins = ["pressplay.testing.pytest_plugin"]

"""A feature app that exists only in the tests: it plugs into the core through
oversight/registry.py and oversight/permissions.py alone (a page with its read
and its navigation item, a contract-dashboard panel, a home panel, a
notification kind and a demo part), so the tests can show that a new feature
appears without any core file changing. It is installed only inside
tests/oversight/test_registry.py (its ``plugin_installed`` fixture)."""

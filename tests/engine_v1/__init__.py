"""The engine's entry reader and scanner as they were before issue 11's hot-path rewrite:
a reference the property tests compare the engine with (tests/test_hotpath_equivalence.py)."""

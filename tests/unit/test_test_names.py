"""Test modules are imported by basename (no packages under tests/): two files of one name in different
folders break collection, so every test file name is unique."""

from collections import Counter

from robopercept import paths


def test_test_file_names_are_unique():
    names = Counter(p.name for p in (paths.root() / "tests").rglob("test_*.py"))
    assert not [n for n, c in names.items() if c > 1], [n for n, c in names.items() if c > 1]

"""Paths the tests share: the repository root and the test fixtures (import as ``from testdata import ...``)."""

from pathlib import Path

TESTS = Path(__file__).resolve().parent
REPO_ROOT = TESTS.parent
FIXTURES = TESTS / "fixtures"
PARITY_DIR = FIXTURES / "parity"
LEMUR_DIR = FIXTURES / "lemur"

"""Fixtures shared by the data-path tests."""

from __future__ import annotations

import pytest

from data.store import Store


@pytest.fixture
def store():
    with Store(":memory:") as s:
        yield s

"""One Dash app per test session for the browser tests.

Dash hands the callbacks registered with `dash.callback` to the first app set up
in a process and removes them from its global list, so a second `create_app()`
in the same process serves pages without callbacks. Browser tests share this
app; each test's runtime is found at call time through `runtime.current()`.
"""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def waterline_app():
    from app import create_app

    return create_app()

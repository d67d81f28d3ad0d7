"""Suite-wide test wiring: Chromium for dash[testing], Mosquitto fixtures, skip rules.

Tests that need a system program are skipped, with the reason, where it is missing
(`make test` installs them as root). Tests using a browser or a Mosquitto fixture get the
`browser` / `mqtt` marker automatically, so `-m "not browser"` needs no bookkeeping.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from dash import _callback as dash_callbacks
from selenium.webdriver.chrome.options import Options

pytest_plugins = ["tests.fixtures.mosquitto", "tests.fixtures.city"]

BROWSER_FIXTURES = {"dash_duo", "dash_duo_mp", "dash_br"}
MOSQUITTO_FIXTURES = {"mosquitto", "mosquitto_module"}
NEEDED_PACKAGES = {  # marker: {program: Debian package}
    "browser": {
        Path("/usr/bin/chromium"): "chromium",
        Path("/usr/bin/chromedriver"): "chromium-driver",
    },
    "mqtt": {Path("/usr/sbin/mosquitto"): "mosquitto"},
}


def pytest_setup_options() -> Options:
    options = Options()
    options.binary_location = "/usr/bin/chromium"
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu",
                "--disable-dev-shm-usage", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--no-first-run"):
        options.add_argument(arg)
    return options


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        fixtures = set(getattr(item, "fixturenames", ()))
        if fixtures & BROWSER_FIXTURES:
            item.add_marker(pytest.mark.browser)
        if fixtures & MOSQUITTO_FIXTURES:
            item.add_marker(pytest.mark.mqtt)
        for marker, packages in NEEDED_PACKAGES.items():
            missing = [f"{pkg} ({prog})" for prog, pkg in packages.items() if not prog.exists()]
            if missing and item.get_closest_marker(marker):
                item.add_marker(pytest.mark.skip(
                    reason=f"not installed: {', '.join(missing)}; `make test` installs it"
                ))


@pytest.fixture(scope="session")
def dash_callback_registry() -> tuple[list, dict, list]:
    """What `dash.callback` registered when the app and its callbacks were imported."""
    import app  # noqa: F401  (module-level clientside callbacks)
    import callbacks  # noqa: F401  (every page's callbacks)

    return (list(dash_callbacks.GLOBAL_CALLBACK_LIST), dict(dash_callbacks.GLOBAL_CALLBACK_MAP),
            list(dash_callbacks.GLOBAL_INLINE_SCRIPTS))


@pytest.fixture(autouse=True)
def _fresh_dash_callbacks(request: pytest.FixtureRequest) -> None:
    """Dash hands the registered callbacks to the first app that serves and empties its registry,
    so a second `create_app()` in the same process would serve pages whose callbacks never fire.
    Each browser test starts with the registry as it was after import."""
    if not set(getattr(request, "fixturenames", ())) & BROWSER_FIXTURES:
        return
    callback_list, callback_map, inline_scripts = request.getfixturevalue("dash_callback_registry")
    dash_callbacks.GLOBAL_CALLBACK_LIST[:] = callback_list
    dash_callbacks.GLOBAL_CALLBACK_MAP.clear()
    dash_callbacks.GLOBAL_CALLBACK_MAP.update(callback_map)
    dash_callbacks.GLOBAL_INLINE_SCRIPTS[:] = inline_scripts


SCREENSHOTS = Path(__file__).resolve().parents[1] / "docs" / "screenshots"


@pytest.fixture
def page_screenshot(tmp_path, request):
    """``page_screenshot(dash_duo, "zones")`` saves what the browser shows.

    Into docs/screenshots/ when ``WATERLINE_SCREENSHOTS=1`` (`make screenshots`),
    otherwise into the test's temporary directory: a test run leaves the tracked
    files as they were.
    """
    import os

    def save(dash_duo, name: str) -> Path:
        folder = SCREENSHOTS if os.environ.get("WATERLINE_SCREENSHOTS") == "1" else tmp_path
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{name}.png"
        dash_duo.driver.save_screenshot(str(path))
        return path

    return save

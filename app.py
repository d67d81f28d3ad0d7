"""Waterline's web app (Dash Pages with dash-bootstrap-components) and the demo entry point.

`python app.py` runs the demo (`python -m dashapp demo`). The app itself is
built by `create_app()`, once, by the command that serves it, after the store
is open: nothing here starts threads or connects at import time.
"""

from __future__ import annotations

from pathlib import Path

import dash
import dash_bootstrap_components as dbc
from dash import ClientsideFunction, Input, Output, State, clientside_callback, html

HERE = Path(__file__).resolve().parent

NAV_ITEMS = [  # (label, path): an entry whose page is not built yet shows disabled
    ("Overview", "/"),
    ("Zones", "/zones"),
    ("Explore", "/explore"),
    ("Meters", "/meters"),
    ("Tanks & pumps", "/tanks"),
    ("Forecast", "/forecast"),
    ("Leaks & alerts", "/alerts"),
    ("Reports", "/reports"),
    ("System health", "/health"),
    ("Admin", "/admin"),
]


def _nav_link(label: str, path: str, built: set[str]) -> dbc.NavLink:
    if path in built:
        return dbc.NavLink(label, href=path, active="partial" if path != "/" else "exact")
    return dbc.NavLink(label, disabled=True)


def _navbar() -> dbc.Navbar:
    built = {page["path"] for page in dash.page_registry.values()}
    theme_switch = html.Div(
        [
            html.Label("Dark", htmlFor="theme-switch", className="text-light small me-2 mb-0"),
            dbc.Switch(id="theme-switch", value=False, persistence=True, persistence_type="local",
                       className="mb-0", input_style={"cursor": "pointer"}),
        ],
        className="d-flex align-items-center ms-auto",
    )
    return dbc.Navbar(
        dbc.Container(
            [
                dbc.NavbarBrand(["Water", html.Span("line", className="drop")], href="/"),
                dbc.NavbarToggler(id="nav-toggler", n_clicks=0),
                dbc.Collapse(
                    [dbc.Nav([_nav_link(label, path, built) for label, path in NAV_ITEMS], navbar=True),
                     theme_switch],
                    id="nav-collapse", navbar=True, is_open=False,
                ),
            ],
            fluid=True,
        ),
        color="dark",
        dark=True,
        expand="xl",  # ten entries: below 1200 px (tablets) they fold behind the toggler
        className="mb-3",
    )


clientside_callback(
    ClientsideFunction(namespace="waterline", function_name="applyTheme"),
    Input("theme-switch", "value"),
)
clientside_callback(
    ClientsideFunction(namespace="waterline", function_name="toggleNav"),
    Output("nav-collapse", "is_open"),
    Input("nav-toggler", "n_clicks"),
    State("nav-collapse", "is_open"),
)


def create_app() -> dash.Dash:
    """Build the Dash app; pages register themselves from pages/, callbacks from callbacks/."""
    app = dash.Dash(
        __name__,
        use_pages=True,
        pages_folder=str(HERE / "pages"),
        assets_folder=str(HERE / "assets"),
        title="Waterline",
        suppress_callback_exceptions=True,
        serve_locally=True,
    )
    import callbacks  # noqa: F401  (registers every page's callbacks)

    app.layout = html.Div([_navbar(), dbc.Container(dash.page_container, fluid=True, className="pb-4")])
    return app


if __name__ == "__main__":
    from dashapp.cli import main

    main(["demo"], prog_name="python app.py")

"""Waterline's web app (Dash Pages with dash-bootstrap-components) and the demo entry point.

`python app.py` runs the demo (`python -m dashapp demo`). The app itself is
built by `create_app()`, once, by the command that serves it, after the store
is open: nothing here starts threads or connects at import time.
"""

from __future__ import annotations

from pathlib import Path

import dash
import dash_bootstrap_components as dbc
from dash import html

HERE = Path(__file__).resolve().parent

NAV_ITEMS = [  # (label, path): pages other issues add keep their places here
    ("Overview", "/"),
]


def _navbar() -> dbc.Navbar:
    return dbc.Navbar(
        dbc.Container(
            [
                dbc.NavbarBrand(["Water", html.Span("line", className="drop")], href="/"),
                dbc.Nav([dbc.NavLink(label, href=path, active="exact") for label, path in NAV_ITEMS],
                        navbar=True),
            ],
            fluid=True,
        ),
        color="dark",
        dark=True,
        className="mb-3",
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

    app.layout = html.Div([_navbar(), dbc.Container(dash.page_container, fluid=True)])
    return app


if __name__ == "__main__":
    from dashapp.cli import main

    main(["demo"], prog_name="python app.py")

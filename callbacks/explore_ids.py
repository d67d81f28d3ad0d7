"""Component ids of the Explore page, shared by its layout and callbacks."""

STATE = "explore-state"          # dcc.Store: {"level": ..., "key": ...}
URL_SEARCH = "explore-url-search"  # dcc.Store: the query string that reproduces the view
ZONE = "explore-zone"
CATEGORY = "explore-category"
METER = "explore-meter"
UNIT = "explore-unit"
TZ = "explore-tz"
COMPARE = "explore-compare"
UP = "explore-up"
TOP_LEVEL = "explore-top-level"
BREADCRUMB = "explore-breadcrumb"
NOTICE = "explore-notice"
SUMMARY = "explore-summary"
CONSUMPTION = "explore-consumption"
HEATMAP = "explore-heatmap"
TOP = "explore-top"
INITIAL = "explore-initial"      # dcc.Store: the view the URL asked for

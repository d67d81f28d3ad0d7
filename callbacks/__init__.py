"""Callbacks of every page. Each module must be imported here, or it registers nothing."""

from callbacks import overview  # noqa: F401
from callbacks import forecast  # noqa: F401

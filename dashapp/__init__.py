"""Waterline: the command line and process wiring of the water monitoring product."""

# Waterline: `make demo` serves the app, `make test` runs the whole suite (as CI does).

SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
VPY := $(VENV)/bin/python
PYTEST_ARGS ?=

# Debian package:program that proves it is installed.
SYSTEM_DEPS := mosquitto:/usr/sbin/mosquitto chromium:/usr/bin/chromium \
	chromium-driver:/usr/bin/chromedriver poppler-utils:/usr/bin/pdftoppm

.PHONY: venv system-deps test demo screenshots clean

venv: $(VENV)/.installed-runtime

$(VPY):
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed-runtime: requirements.txt | $(VPY)
	$(VPY) -m pip install -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements-dev.txt requirements.txt $(VENV)/.installed-runtime
	$(VPY) -m pip install -r requirements-dev.txt
	touch $@

# As root, install what is missing; otherwise say so (the tests needing it skip).
system-deps:
	@missing=""; \
	for dep in $(SYSTEM_DEPS); do \
		[ -x "$${dep#*:}" ] || missing="$$missing $${dep%%:*}"; \
	done; \
	if [ -z "$$missing" ]; then \
		echo "system-deps: all present"; \
	elif [ "$$(id -u)" = 0 ]; then \
		echo "system-deps: installing$$missing"; \
		apt-get update && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $$missing; \
	else \
		echo "system-deps: missing$$missing (not root: tests that need them will skip)"; \
	fi

test: system-deps $(VENV)/.installed-dev
	$(VPY) -m pytest $(PYTEST_ARGS)

# Browser tests that save what they see into docs/screenshots/ (the README shows them).
screenshots: system-deps $(VENV)/.installed-dev
	WATERLINE_SCREENSHOTS=1 $(VPY) -m pytest -m browser -q $(PYTEST_ARGS)

demo: venv
	$(VPY) app.py

clean:
	rm -rf $(VENV) var .pytest_cache .hypothesis .ruff_cache .mypy_cache build dist *.egg-info
	find . -name __pycache__ -type d -prune -exec rm -rf {} +

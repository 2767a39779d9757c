# Tongban IdP. `make run` brings up the embedded demo; `make test` runs the whole suite.
# Both set up everything they need on a fresh machine of this kind (Debian, Python 3.11, root).

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PYTEST_ARGS ?= -n 2

.PHONY: run test lint translations system-deps bench clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	touch $@

# Compiled catalogues are build output (git-ignored); sources are idp/translations/*/LC_MESSAGES/*.po.
translations: $(VENV)/.installed
	$(VENV)/bin/pybabel compile -f -d idp/translations >/dev/null

run: $(VENV)/.installed translations
	$(PY) -m clients.demo

# System packages the tests drive for real: Debian's Chromium (browser tests), OpenLDAP's slapd
# and ldap-utils (directory tests).
system-deps:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "installing Debian packages for the tests: chromium"; \
	  (apt-get install -y -q chromium >/dev/null 2>&1 || \
	   (apt-get update -q >/dev/null && apt-get install -y -q chromium >/dev/null)); }
	@{ test -x /usr/sbin/slapd && command -v ldapmodify >/dev/null 2>&1; } || { \
	  echo "installing Debian packages for the tests: slapd ldap-utils"; \
	  export DEBIAN_FRONTEND=noninteractive; \
	  (apt-get install -y -q slapd ldap-utils >/dev/null 2>&1 || \
	   (apt-get update -q >/dev/null && apt-get install -y -q slapd ldap-utils >/dev/null)); }

test: $(VENV)/.installed translations system-deps
	$(PY) -m pytest $(PYTEST_ARGS)

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .

bench: $(VENV)/.installed translations
	bench/run.sh

clean:
	rm -rf $(VENV) instance keys .pytest_cache

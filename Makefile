# The two commands: `make run` (the whole system with a demo district) and `make test`.
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
export PATH := $(abspath $(BIN)):$(PATH)
# eventlet's deprecation notice and nameko's pkg_resources import, repeated by every process
QUIET_WARNINGS := ignore::Warning:nameko.cli.commands,ignore::UserWarning:nameko.cli.main

.PHONY: run test lint install clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade 'pip>=24' 'setuptools<81'
	$(BIN)/pip install --quiet -c constraints.txt -e '.[test]'
	touch $@

run: install
	@$(BIN)/yuelihui check-broker
	@$(BIN)/yuelihui migrate
	@$(BIN)/yuelihui declare
	@$(BIN)/yuelihui load-demo
	@echo ""
	@echo "  API:      http://127.0.0.1:8000/api/v1  (OpenAPI: /api/v1/openapi.json)"
	@echo "  Metrics:  http://127.0.0.1:PORT/metrics and /health: gateway 8000, registry 8001,"
	@echo "            meetings 8002, petitions 8003, supervision 8004, notify 8005"
	@echo "  Mail:     a development SMTP sink on 127.0.0.1:1025 prints e-mails; SMS go to var/sms.jsonl"
	@echo "  Logins:   admin, township, liaison, member, inspector, department / yuelihui-demo"
	@echo "  Ctrl-C stops everything."
	@echo ""
	@YLH_ALLOW_DEV_SECRETS=1 PYTHONWARNINGS=$(QUIET_WARNINGS) $(BIN)/honcho start -f Procfile

test: install
	$(BIN)/ruff check .
	@$(BIN)/python -m tests.preflight
	$(BIN)/pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .

clean:
	rm -rf var $(VENV)

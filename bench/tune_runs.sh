#!/usr/bin/env bash
# Tuning (issue 6) behind docs/results.md and docs/benchmarks.md: tune gemma-3-270m on train-split
# users of ML-1M Comedy -> Sci-Fi, serve each tuned model with vLLM and evaluate it on test users.
# Resumable like bench/eval_runs.sh: a finished tuning run or eval run is skipped, an interrupted
# one continues. Tuning runs ~3 s per example on 2 CPU cores (300 users x 3 kinds: ~50 minutes).
#   bench/tune_runs.sh [RUNS_DIR] [TUNED_DIR] [USERS]
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-runs}; TUNED=${2:-tuned}; USERS=${3:-500}
SB=.venv/bin/scenebridge
PORT=8012  # tuned models are served here; the packaged model keeps the default port
RA_STORE=${RA_STORE:-$RUNS/store-romance-action}  # a scene pair no model was tuned on
run() { local name=$1; shift; echo "== $name"; "$SB" eval --seed 0 --users "$USERS" --out "$RUNS/$name" "$@"; }
tuned_eval() {  # tuned_eval MODEL NAME ARGS...: evaluate with a tuned model, served on $PORT
  local model=$1 name=$2; shift 2
  SCENEBRIDGE_LLM_PORT=$PORT run "$name" --model "$TUNED/$model" "$@"
}
serve_only() {  # one tuned model on $PORT at a time
  "$SB" llm stop --port "$PORT" >/dev/null
}

# 1. Tune on the full mix: warm + cold + source-only examples.
"$SB" tune --out "$TUNED/mixed-300" --train-users 300 --learning-rate 3e-5

# 2. The tuned verbalizer and hybrid on Comedy -> Sci-Fi (the hybrid's weights are fitted for the
#    tuned model on validation users and kept inside its directory).
serve_only
for protocol in warm cold; do
  tuned_eval mixed-300 "$protocol-uniform-verbalizer-tuned" --protocol "$protocol" --ranker verbalizer
done
tuned_eval mixed-300 "cold-uniform-verbalizer-tuned-notransfer" --protocol cold --ranker verbalizer --no-transfer
[ -f "$TUNED/mixed-300/fusion/ml-1m.json" ] || SCENEBRIDGE_LLM_PORT=$PORT "$SB" fit-hybrid --users 200 --model "$TUNED/mixed-300"
for protocol in warm cold; do
  tuned_eval mixed-300 "$protocol-uniform-hybrid-tuned" --protocol "$protocol" --ranker hybrid
done
tuned_eval mixed-300 "warm-uniform-verbalizer-tuned-p3" --protocol warm --ranker verbalizer --permutations 3 --orders shuffled
tuned_eval mixed-300 "warm-uniform-verbalizer-tuned-p4" --protocol warm --ranker verbalizer --permutations 4 --concurrency 8

# 3. An untuned scene pair: Romance -> Action, zero-shot vs tuned (memorised titles or transfer?).
[ -f "$RA_STORE/chroma.sqlite3" ] || "$SB" ingest --dataset ml-1m --source Romance --target Action --store "$RA_STORE"
RA=(--users 300 --store "$RA_STORE" --source Romance --target Action)  # the later --users wins
for ranker in random popularity verbalizer; do
  run "ra-warm-uniform-$ranker" "${RA[@]}" --ranker "$ranker"
done
tuned_eval mixed-300 "ra-warm-uniform-verbalizer-tuned" "${RA[@]}" --ranker verbalizer

# 4. Ablation: tuned on source-scene-only examples (never saw a Sci-Fi ranking).
serve_only
"$SB" llm stop >/dev/null  # the CPU is the trainer's
"$SB" tune --out "$TUNED/source-150" --train-users 150 --validation-users 20 --kinds source --learning-rate 3e-5
tuned_eval source-150 "cold-uniform-verbalizer-tuned-source" --protocol cold --ranker verbalizer
serve_only

# 5. Ranking latency, idle, one server at a time: packaged, tuned (merged), base + LoRA adapter.
LAT=(--users 20 --listwise-users 4 --explain-users 3)
"$SB" llm stop >/dev/null; "$SB" llm serve --detach >/dev/null
.venv/bin/python bench/recommend_latency.py "${LAT[@]}"
"$SB" llm stop >/dev/null
"$SB" llm serve --model "$TUNED/mixed-300" --port "$PORT" --detach >/dev/null
.venv/bin/python bench/recommend_latency.py "${LAT[@]}" --model "$TUNED/mixed-300" --llm-url "http://127.0.0.1:$PORT/v1"
serve_only
"$SB" tune --out "$TUNED/lora-small" --train-users 2 --validation-users 1 --kinds warm,cold \
  --method lora --learning-rate 2e-3  # latency does not depend on what the adapter learned
"$SB" llm serve --model "$TUNED/lora-small" --adapter --port "$PORT" --detach >/dev/null
.venv/bin/python bench/recommend_latency.py "${LAT[@]}" --model "$TUNED/lora-small" --llm-url "http://127.0.0.1:$PORT/v1"
serve_only

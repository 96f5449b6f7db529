#!/usr/bin/env bash
# The re-ranker's evaluation matrix behind docs/results.md ("The LLM re-ranker"): ML-1M
# Comedy -> Sci-Fi, seed 0, every run resumable (a finished run is skipped).
#   bench/rerank_runs.sh STAGE [RUNS_DIR]
# STAGE:
#   validation  choices on validation users (200): rerank zero-shot with the backbone's order vs
#               4 balanced rotations of it, and the backbone, full and full-cold
#   zero-shot   test users (500): the packaged model re-ranking, full, full-cold and popular negatives,
#               with its ablations
#   tuned DIR   the tuned model DIR (served at $TUNED_URL, default http://127.0.0.1:8012/v1): the same
#               on validation and test users
# The packaged model is served at $LLM_URL (default: the local server, started if none runs).
set -euo pipefail
cd "$(dirname "$0")/.."
STAGE=${1:?stage: validation | zero-shot | tuned DIR}
RUNS=${RUNS:-runs}; USERS=${USERS:-500}; VAL_USERS=${VAL_USERS:-200}
SB=.venv/bin/scenebridge
run() {  # finished runs are skipped; an interrupted one resumes
  local name=$1; shift
  if [ -f "$RUNS/$name/metrics.json" ]; then echo "== $name (done)"; return; fi
  echo "== $name"; "$SB" eval --seed 0 --out "$RUNS/$name" "$@"
}
LLM=(); [ -n "${LLM_URL:-}" ] && LLM=(--llm-url "$LLM_URL")

case "$STAGE" in
validation)
  for protocol in full full-cold; do
    run "rr-val-$protocol-backbone" --split validation --protocol "$protocol" --ranker backbone --users "$VAL_USERS"
    run "rr-val-$protocol-zs" --split validation --protocol "$protocol" --ranker rerank --users "$VAL_USERS" "${LLM[@]}"
    run "rr-val-$protocol-zs-rot4" --split validation --protocol "$protocol" --ranker rerank --permutations 4 \
      --users "$VAL_USERS" "${LLM[@]}"
  done ;;
zero-shot)
  for protocol in full full-cold; do
    run "rr-$protocol-backbone" --protocol "$protocol" --ranker backbone --users "$USERS"
    run "rr-$protocol-zs" --protocol "$protocol" --ranker rerank --users "$USERS" "${LLM[@]}"
  done
  for protocol in warm cold; do
    run "rr-$protocol-popular-backbone" --protocol "$protocol" --negatives popular --ranker backbone --users "$USERS"
    run "rr-$protocol-popular-zs" --protocol "$protocol" --negatives popular --ranker rerank --users "$USERS" "${LLM[@]}"
  done ;;
tuned)
  DIR=${2:?the tuned model directory}; RUNS=${3:-$RUNS}
  TUNED=(--model "$DIR" --llm-url "${TUNED_URL:-http://127.0.0.1:8012/v1}")
  for protocol in full full-cold; do
    run "rr-val-$protocol-backbone" --split validation --protocol "$protocol" --ranker backbone --users "$VAL_USERS"
    run "rr-val-$protocol-tuned" --split validation --protocol "$protocol" --ranker rerank --users "$VAL_USERS" "${TUNED[@]}"
  done
  for protocol in full full-cold; do
    run "rr-$protocol-backbone" --protocol "$protocol" --ranker backbone --users "$USERS"
    run "rr-$protocol-tuned" --protocol "$protocol" --ranker rerank --users "$USERS" "${TUNED[@]}"
    run "rr-$protocol-tuned-no-support" --protocol "$protocol" --ranker rerank --prompt rerank_no_support \
      --users "$USERS" "${TUNED[@]}"
    run "rr-$protocol-tuned-no-source" --protocol "$protocol" --ranker rerank --prompt rerank_no_source \
      --users "$USERS" "${TUNED[@]}"
  done
  for protocol in warm cold; do
    run "rr-$protocol-popular-backbone" --protocol "$protocol" --negatives popular --ranker backbone --users "$USERS"
    run "rr-$protocol-popular-tuned" --protocol "$protocol" --negatives popular --ranker rerank --users "$USERS" \
      "${TUNED[@]}"
  done ;;
*) echo "unknown stage $STAGE (validation | zero-shot | tuned DIR)" >&2; exit 2 ;;
esac

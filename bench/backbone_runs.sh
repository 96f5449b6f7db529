#!/usr/bin/env bash
# The backbone's evaluation matrix behind docs/results.md ("The collaborative backbone"): ML-1M
# Comedy -> Sci-Fi and Romance -> Action, test-split users, seed 0. Hyper-parameters and the
# default ranker come from `scenebridge fit-backbone` (validation users); every run is resumable.
#   bench/backbone_runs.sh [RUNS_DIR] [USERS] [PAIR2_STORE]
# Score rankers take seconds per run; the hybrid calls the model server only if its fitted
# weights give the LLM a say.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-runs}; USERS=${2:-500}; RA_STORE=${3:-stores/romance-action}
SB=.venv/bin/scenebridge
run() {  # finished runs are skipped; an interrupted one resumes
  local name=$1; shift
  if [ -f "$RUNS/$name/metrics.json" ]; then echo "== $name (done)"; return; fi
  echo "== $name"; "$SB" eval --seed 0 --out "$RUNS/$name" "$@"
}
STORE=${SCENEBRIDGE_STORE_DIR:-$HOME/.cache/scenebridge/store}

# The backbone is chosen on validation users on first use (or by `scenebridge fit-backbone`);
# the hybrid's weights are fitted on validation users on top of it.
[ -f "$STORE/fusion/ml-1m.json" ] && grep -q '"backbone"' "$STORE/fusion/ml-1m.json" || "$SB" fit-hybrid --users 200
SCORE_RANKERS="popularity cross_cooc embedding ease ials backbone hybrid"
for protocol in warm cold; do
  for negatives in uniform popular; do
    for ranker in $SCORE_RANKERS; do
      run "bb-$protocol-$negatives-$ranker" --protocol "$protocol" --negatives "$negatives" --ranker "$ranker" --users "$USERS"
    done
  done
done
for protocol in full full-cold; do
  for ranker in $SCORE_RANKERS; do
    run "bb-$protocol-$ranker" --protocol "$protocol" --ranker "$ranker" --users "$USERS"
  done
done
# The hybrid's first fit, on uniform negatives only (bench/fusion/hybrid-uniformfit.json): it
# beat the backbone on validation's uniform cases and lost on test users' popular ones.
for protocol in warm cold; do
  for negatives in uniform popular; do
    run "bb-$protocol-$negatives-hybrid-uniformfit" --protocol "$protocol" --negatives "$negatives" --ranker hybrid \
      --fusion bench/fusion/hybrid-uniformfit.json --users "$USERS"
  done
done
for protocol in full full-cold; do
  run "bb-$protocol-hybrid-uniformfit" --protocol "$protocol" --ranker hybrid --fusion bench/fusion/hybrid-uniformfit.json \
    --users "$USERS"
done

# A second scene pair, in a store of its own.
[ -f "$RA_STORE/chroma.sqlite3" ] || "$SB" ingest --dataset ml-1m --source Romance --target Action --store "$RA_STORE"
RA=(--store "$RA_STORE" --source Romance --target Action --users "$USERS")
for protocol in warm cold; do
  for negatives in uniform popular; do
    for ranker in popularity cross_cooc backbone; do
      run "ra-$protocol-$negatives-$ranker" --protocol "$protocol" --negatives "$negatives" --ranker "$ranker" "${RA[@]}"
    done
  done
done
for protocol in full full-cold; do
  for ranker in popularity cross_cooc backbone; do
    run "ra-$protocol-$ranker" --protocol "$protocol" --ranker "$ranker" "${RA[@]}"
  done
done

# Today's hybrid before the backbone (its weights as fitted then: bench/fusion/), on the same users,
# for the paired intervals; it calls the model server (LLM weight 0.25): ~5 minutes a run.
BEFORE=(--ranker hybrid --fusion bench/fusion/hybrid-before-backbone.json --concurrency 8)
for protocol in warm cold; do
  for negatives in uniform popular; do
    run "bb-$protocol-$negatives-hybrid-before" --protocol "$protocol" --negatives "$negatives" "${BEFORE[@]}" --users "$USERS"
  done
done
for protocol in full full-cold; do
  run "bb-$protocol-hybrid-before" --protocol "$protocol" "${BEFORE[@]}" --users "$USERS"
done

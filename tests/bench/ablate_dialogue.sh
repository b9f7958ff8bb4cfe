#!/usr/bin/env bash
# Dialogue ablation at an equal wall-clock budget (same data, tokenizer, sizes, seed, objective),
# each run alone on one torch thread, then the held-out evaluation of each:
#   flat_attn        flat seq2seq + word attention over the previous turn only
#   hred_noattn      HRED over the dialogue history, no attention
#   hred_attn        HRED over the dialogue history, word- and turn-level attention
#   hred_attn_copy   the same plus copying from the attended words (the shipped architecture)
#   hred_window_attn HRED over a window of 3 marked turns, trained pair by pair (the 2025 model)
# Usage: tests/bench/ablate_dialogue.sh TOKENIZER_MODEL [MINUTES] [OUTDIR] [VARIANT…]
set -euo pipefail
tok=$1; minutes=${2:-8}; out=${3:-runs/ablation}; shift $(( $# < 3 ? $# : 3 ))
names=("$@"); [ ${#names[@]} -gt 0 ] || names=(flat_attn hred_noattn hred_attn hred_attn_copy)
common=(--corpus chitchat --threads 1 --minutes "$minutes" --epochs 6 --eval-every 500 --valid-examples 1500
        --lr 2e-3 --vocab-size 4000 --emb-dim 128 --utt-hidden 192 --ctx-hidden 256 --dec-hidden 256
        --max-utt-tokens 24 --max-reply-tokens 24 --token-weight-power 0.25 --patience 3 --json)
history=(--history-turns 32 --context-turns 4 --batch-size 128)
declare -A variants=(
  [flat_attn]="--hierarchical false --context-turns 3 --batch-size 64"
  [hred_noattn]="${history[*]} --word-attention false --turn-attention false"
  [hred_attn]="${history[*]}"
  [hred_attn_copy]="${history[*]} --copy true"
  [hred_window_attn]="--context-turns 3 --batch-size 64"
)
for name in "${names[@]}"; do
  mkdir -p "$out/$name"; cp "$tok" "$out/$name/tokenizer.model"
  # shellcheck disable=SC2086
  python -m engine train dialogue "${common[@]}" --out "$out/$name" ${variants[$name]} > "$out/$name.train.log" 2>&1
  OMP_NUM_THREADS=1 python -m engine eval dialogue --model "$out/$name" --data chitchat --json > "$out/$name.eval.json"
done
python - "$out" "${names[@]}" <<'PY'
import json, sys
out, names = sys.argv[1], sys.argv[2:]
print("| variant | steps | per-word PPL | per-token PPL | distinct-1 | distinct-2 | top reply share |")
print("|---|---|---|---|---|---|---|")
for n in names:
    r = json.load(open(f"{out}/{n}.eval.json"))
    steps = json.load(open(f"{out}/{n}/train_log.json")).get("steps", "?")
    print(f"| {n} | {steps} | {r['per_word_perplexity']:.1f} | {r['per_token_perplexity']:.1f} | "
          f"{r['distinct_1']:.3f} | {r['distinct_2']:.3f} | {r['top_reply_share']:.3f} |")
PY

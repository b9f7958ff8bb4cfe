#!/usr/bin/env bash
# Dialogue ablation at an equal step budget (same data, tokenizer, sizes, steps, seed):
# flat seq2seq + word attention (previous turn only) vs HRED without attention vs HRED with
# two-level attention. Usage: tests/bench/ablate_dialogue.sh TOKENIZER_MODEL [STEPS] [OUTDIR]
set -euo pipefail
tok=$1; steps=${2:-800}; out=${3:-runs/ablation}
common=(--corpus chitchat --threads 1 --max-steps "$steps" --eval-every 400 --batch-size 64 --lr 2e-3
        --vocab-size 4000 --emb-dim 128 --utt-hidden 192 --ctx-hidden 256 --dec-hidden 256 --context-turns 3
        --max-utt-tokens 24 --max-reply-tokens 24 --token-weight-power 0.25 --patience 0 --json)
declare -A variants=(
  [flat_attn]="--hierarchical false"
  [hred_noattn]="--word-attention false --turn-attention false"
  [hred_attn]=""
)
for name in flat_attn hred_noattn hred_attn; do
  mkdir -p "$out/$name"; cp "$tok" "$out/$name/tokenizer.model"
  # shellcheck disable=SC2086
  python -m engine train dialogue "${common[@]}" --out "$out/$name" ${variants[$name]} > "$out/$name.train.log" 2>&1
  OMP_NUM_THREADS=1 python -m engine eval dialogue --model "$out/$name" --data chitchat --json > "$out/$name.eval.json"
done
python - "$out" <<'PY'
import json, sys
out = sys.argv[1]
print("| variant | per-word PPL | per-token PPL | distinct-1 | distinct-2 | top reply share |")
print("|---|---|---|---|---|---|")
for n in ("flat_attn", "hred_noattn", "hred_attn"):
    r = json.load(open(f"{out}/{n}.eval.json"))
    print(f"| {n} | {r['per_word_perplexity']:.1f} | {r['per_token_perplexity']:.1f} | {r['distinct_1']:.3f} | "
          f"{r['distinct_2']:.3f} | {r['top_reply_share']:.3f} |")
PY

"""``python -m engine inspect gradients|gates|compare|embeddings|generate``: look inside recurrent nets.

* ``gradients``: ||dLoss/dh_t|| per time step (and layer) for a cell on a synthetic task, before
  and after ``--steps`` of training; ``--clip`` and ``--identity-init`` show the lecture's remedies.
* ``gates``: gate activations over time, for a sentence through a language model (``--model``
  folder from ``train lm``) or a chat model (its utterance encoder) with ``--text``, or for a bit
  string through a parity model (``--bits``).
* ``compare``: accuracy against sequence length for several cells on a task.
* ``embeddings``: nearest neighbours of ``--word`` in a language or chat model's embedding (and in gensim
  vectors trained on ``--text-file``), and a 2-D PCA of ``--words``.
* ``generate``: continue ``--text`` with a language model.

``--json`` prints the numbers; ``--png FILE`` draws them (numpy -> PIL, no GUI needed).
"""

from __future__ import annotations

import argparse

from engine.cli_args import json_text, positive

HELP = "look inside recurrent networks: gradient flow, gates, cell comparison, embeddings"
WHAT = ("gradients", "gates", "compare", "embeddings", "generate")


def _csv(kind):
    """A comma-separated list of ``kind`` (named, so a bad value reads "invalid list of int")."""

    def parse(s: str) -> tuple:
        try:
            return tuple(kind(v) for v in s.split(",") if v.strip())
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"expected comma-separated {kind.__name__} values, got {s!r}"
            ) from None

    parse.__name__ = f"list of {kind.__name__}"
    return parse


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("what", choices=WHAT, help="which probe to run")
    p.add_argument("--task", default="adding", help="synthetic task: parity | adding | copy")
    p.add_argument("--cell", default="rnn", help="cell for gradients/gates (engine.nn.cells registry)")
    p.add_argument("--cells", type=_csv(str), default=("rnn", "irnn", "gru", "lstm"), help="compare: a,b,c")
    p.add_argument("--length", type=int, default=30, help="sequence length for gradients")
    p.add_argument("--lengths", type=_csv(int), default=(5, 10, 20), help="compare: lengths, e.g. 5,10,20")
    p.add_argument("--hidden", type=int, default=32, help="hidden size")
    p.add_argument("--layers", type=int, default=1, help="recurrent layers")
    p.add_argument("--steps", type=int, default=0, help="training steps before probing (compare: per run)")
    p.add_argument("--batch-size", type=positive, default=32)
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument(
        "--clip",
        type=float,
        default=None,
        help="gradient clipping norm, 0 = off (gradients: off, compare: 1)",
    )
    p.add_argument("--identity-init", action="store_true", help="Elman cell: W = I, zero biases")
    p.add_argument("--probe-every", type=int, default=0, help="gradients: probe every N steps (0: steps/4)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--model", default=None, help="language model folder (train lm) or chat model for gates/embeddings"
    )
    p.add_argument("--text", default="", help="gates: input sentence; generate: seed phrase")
    p.add_argument("--bits", default="1000010101", help="gates without --model: parity input bits")
    p.add_argument("--word", default="", help="embeddings: word whose neighbours to list")
    p.add_argument("--words", type=_csv(str), default=(), help="embeddings: words to project, a,b,c")
    p.add_argument("--text-file", default=None, help="embeddings: train gensim vectors on this text")
    p.add_argument("--k", type=int, default=8, help="neighbours to list")
    p.add_argument("--png", default=None, help="also draw the result into this PNG file")
    dec = p.add_argument_group("generate: decoding (the shared engine.decoding options)")
    dec.add_argument("--method", choices=["greedy", "beam", "sample"], default="sample")
    dec.add_argument("--beam-size", type=int, default=None)
    dec.add_argument("--temperature", type=float, default=None)
    dec.add_argument("--top-k", type=int, default=None)
    dec.add_argument("--top-p", type=float, default=None)
    dec.add_argument("--max-len", type=int, default=None)
    dec.add_argument("--repetition-penalty", type=float, default=None)


def run(args) -> int:
    import torch

    from engine.device import choose_device

    device = choose_device(args.device).name
    torch.manual_seed(args.seed)
    result = RUNNERS[args.what](args, device)
    if args.json:
        print(json_text(result))
    return 0


def _gradients(args, device: str) -> dict:
    from engine.lab.flow import FlowConfig, run_flow

    every = args.probe_every or max(1, args.steps // 4)
    cfg = FlowConfig(
        task=args.task,
        cell=args.cell,
        length=args.length,
        hidden_size=args.hidden,
        num_layers=args.layers,
        steps=args.steps,
        batch_size=args.batch_size,
        lr=args.lr,
        clip_norm=args.clip or 0.0,
        identity_init=args.identity_init,
        probe_every=every,
        seed=args.seed,
    )
    res = run_flow(cfg, device)
    first, last = res["probes"][0], res["probes"][-1]
    if not args.json:
        for probe in (first, last) if len(res["probes"]) > 1 else (first,):
            print(
                f"step {probe['step']}: loss {probe['loss']:.4f}, "
                f"param grad norm {probe['param_grad_norm']:.3g}"
            )
            for layer, norms in enumerate(probe["h"]):
                cells = " ".join(f"{v:.1e}" for v in norms)
                print(f"  layer {layer} ||dL/dh_t||, t = 1..{len(norms)}: {cells}")
                if norms[-1] > 0:
                    print(f"  first/last step ratio: {norms[0] / norms[-1]:.3g}")
    if args.png:
        from engine.lab.render import line_plot

        series = {}
        for probe in (first, last) if last is not first else (first,):
            for layer, norms in enumerate(probe["h"]):
                name = f"step {probe['step']}" + (f" L{layer}" if len(probe["h"]) > 1 else "")
                series[name] = (list(range(1, len(norms) + 1)), norms)
        line_plot(
            args.png,
            series,
            f"gradient flow: {args.cell} on {args.task}",
            "time step t",
            "||dL/dh_t||",
            log_y=True,
        )
    return res


def _gates(args, device: str) -> dict:

    from engine.lab.probes import gate_activations

    if args.model:
        from engine.lab.jobs import sentence_input

        rnn, x, labels, cell = sentence_input(args.model, args.text, device)
    else:
        from engine.lab.compare import CompareConfig, train_one
        from engine.lab.tasks import ParityTask

        bits = ParityTask.from_string(args.bits)
        task = ParityTask()
        cfg = CompareConfig(
            task="parity",
            cells=(args.cell,),
            hidden_size=args.hidden,
            num_layers=args.layers,
            steps=max(args.steps, 1),
            lr=args.lr,
            seed=args.seed,
        )
        if args.steps:
            model, _ = train_one(task, args.cell, bits.shape[1], cfg, device)
        else:
            from engine.lab.compare import SequenceModel

            model = SequenceModel(task, args.cell, args.hidden, args.layers).to(device)
        x, labels = task.encode(bits).to(device), list(args.bits.strip())
        rnn, cell = model.rnn, args.cell
    layers = gate_activations(rnn, x.detach())
    out = {"cell": cell, "tokens": labels, "layers": [{k: v.tolist() for k, v in g.items()} for g in layers]}
    if not args.json:
        print(f"{cell}: {len(labels)} steps: {' '.join(labels)}")
        for i, gates in enumerate(layers):
            for name, g in gates.items():
                print(
                    f"  layer {i} {name:14s} (T={g.shape[0]}, H={g.shape[1]}) "
                    f"mean {g.mean():.3f} range {g.min():.3f}..{g.max():.3f}"
                )
    if args.png:
        from engine.lab.render import heatmaps

        maps = {f"L{i} {k}": v.T for i, g in enumerate(layers) for k, v in g.items()}
        heatmaps(args.png, maps, labels, f"{cell} gates (rows: units, columns: time)")
    return out


def _compare(args, device: str) -> dict:
    from engine.lab.compare import CompareConfig, run_comparison

    cfg = CompareConfig(
        task=args.task,
        cells=args.cells,
        lengths=args.lengths,
        hidden_size=args.hidden,
        num_layers=args.layers,
        steps=args.steps or 200,
        batch_size=args.batch_size,
        lr=args.lr,
        clip_norm=1.0 if args.clip is None else args.clip,
        seed=args.seed,
    )
    res = run_comparison(cfg, device)
    if not args.json:
        print(f"{res['description']}: accuracy after {cfg.steps} steps (chance {res['chance']:.2f})")
        print("cell            " + " ".join(f"T={n:<5d}" for n in res["lengths"]))
        for cell, accs in res["accuracy"].items():
            print(f"{cell:15s} " + " ".join(f"{a:7.2f}" for a in accs))
    if args.png:
        from engine.lab.render import line_plot

        series = {c: (res["lengths"], a) for c, a in res["accuracy"].items()}
        line_plot(
            args.png,
            series,
            f"{res['description']}, {cfg.steps} steps",
            "sequence length",
            "accuracy",
            y_range=(0.0, 1.0),
        )
    return res


def _embeddings(args, device: str) -> dict:
    from engine.lab import embeddings as E
    from engine.lab.lm import read_sentences

    if not args.model:
        raise ValueError("embeddings need --model (a language model folder from `train lm`, or a chat model)")
    if not args.word and len(args.words) < 2:
        raise ValueError("give --word (neighbours) and/or --words a,b,c (a 2-D projection)")
    from engine.lab.jobs import embedding_matrix

    matrix, tok, written = embedding_matrix(args.model)
    args.word, args.words = written(args.word or ""), [written(w) for w in args.words]
    out: dict = {}
    if args.word:
        out["model"] = E.model_neighbours(matrix, tok, args.word, args.k)
        if args.text_file:
            out["gensim"] = E.gensim_neighbours(read_sentences(args.text_file), args.word, args.k)
    if len(args.words) >= 2:
        out["projection"] = E.projection(matrix, tok, list(args.words))
    if not args.json:
        for source in ("model", "gensim"):
            if source in out:
                print(
                    f"{source} neighbours of {args.word!r}: "
                    + ", ".join(f"{w} {s:.2f}" for w, s in out[source])
                )
        if "projection" in out:
            for w, (x, y) in zip(out["projection"]["words"], out["projection"]["xy"]):
                print(f"  {w:15s} {x:8.3f} {y:8.3f}")
    if args.png and "projection" in out:
        from engine.lab.render import scatter

        scatter(args.png, out["projection"]["xy"], out["projection"]["words"], "embedding PCA")
    return out


def _generate(args, device: str) -> dict:
    from engine.decoding import DecodeOptions
    from engine.lab.lm import generate, load_lm

    if not args.model:
        raise ValueError("generate needs --model (a language model folder from `train lm`)")
    model, tok = load_lm(args.model, device)
    given = {
        k: getattr(args, k)
        for k in ("beam_size", "temperature", "top_k", "top_p", "max_len", "repetition_penalty")
        if getattr(args, k) is not None
    }
    options = DecodeOptions.from_dict({"method": args.method, "seed": args.seed, **given})
    text = generate(model, tok, args.text, options, device)
    if not args.json:
        print(text)
    return {"seed": args.text, "text": text, "options": options.to_dict()}


# what -> runner(args, device) -> JSON-able result
RUNNERS = {
    "gradients": _gradients,
    "gates": _gates,
    "compare": _compare,
    "embeddings": _embeddings,
    "generate": _generate,
}

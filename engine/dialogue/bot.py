"""ChatBot: a loaded dialogue model folder that answers a conversation.

``ChatBot.load(folder)`` rebuilds the model from ``config.json`` + ``model.safetensors`` +
``tokenizer.model`` (no pickle) and ``reply(turns, options)`` returns a :class:`Reply` with the
text, the streamed pieces and both levels of attention for the "why this reply" view.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from engine import checkpoint
from engine.decoding import CancelToken, DecodeOptions, decode
from engine.dialogue.corpus import merge_turns
from engine.dialogue.data import encode_context, prep
from engine.dialogue.model import HRED, KIND, SCHEMA_VERSION, HREDConfig

TOKENIZER_FILE = "tokenizer.model"
DEFAULT_OPTIONS_KEY = "default_decoding"
log = logging.getLogger(__name__)
RECALL_REPLIES = 5  # the bot's own last replies that self_repeat_penalty steers away from
# A chat that opens with anything but a greeting is read after this opening exchange. Nearly every
# chitchat conversation opens with greetings, so the model answered a third of realistic first
# messages ("I'm nervous about my job interview tomorrow") with "Hey!": on the non-greeting first
# turns of chitchat's test split, 86 of 150 replies (default decoding) were greetings ("Hey!" 70), 0 with the
# opening (the most frequent reply then "Oh nice!", 13 of 150). The turns are shown as added.
OPENING = ("hi", "hey! how are you?")
ADDED = " (added)"  # marks the opening's turns where the attention is shown
_GREETING = re.compile(
    r"^\W*(hi+|hey+|hel+o+|hiya|howdy|yo|sup|greetings|good (morning|afternoon|evening|day)|"
    r"what'?s up|how are (you|u)|how'?s it going)\b",
    re.IGNORECASE,
)


def opened(turns: list[str]) -> list[str]:
    """``turns`` (alternating) with OPENING before them when the chat is one message that is not
    itself a greeting; unchanged otherwise."""
    if len(turns) == 1 and not _GREETING.match(turns[0]):
        return [*OPENING, turns[0]]
    return turns


@dataclass(frozen=True)
class Reply:
    text: str  # the reply as shown to a person
    stopped: bool  # cancelled before the model finished
    latency_ms: float  # wall time of reply()
    n_tokens: int  # generated pieces
    out_tokens: list[str] = field(default_factory=list)  # generated pieces, display form
    context_tokens: list[str] = field(default_factory=list)  # context pieces the model saw
    context_turn: list[int] = field(default_factory=list)  # index of the turn of each context piece
    turn_labels: list[str] = field(default_factory=list)  # a short label per context turn
    word_attention: list[list[float]] = field(default_factory=list)  # (n_out, n_context_tokens)
    turn_attention: list[list[float]] = field(default_factory=list)  # (n_out, n_turns)


def _display(piece: str) -> str:
    return piece.replace("\u2581", " ")


def alternating(turns: list[str]) -> list[str]:
    """``turns`` by position (the last one the user's, then alternating) with the empty ones left out
    and what one speaker said on either side of them merged into one turn, as in the corpora."""
    n = len(turns)
    return list(merge_turns(((n - 1 - i) % 2, t or "") for i, t in enumerate(turns)))


def tidy(text: str) -> str:
    """Sentence-case the model's lower-case output: capitalise starts and the pronoun 'i'."""
    words = text.strip().split(" ")
    out = []
    cap = True
    for w in words:
        if w in ("i", "i'm", "i've", "i'll", "i'd"):
            w = "I" + w[1:]
        if cap and w:
            w = w[:1].upper() + w[1:]
        cap = w.endswith((".", "!", "?"))
        out.append(w)
    return " ".join(out)


# config.json sizes a chat model can have, (lowest, highest or None); ids 0..6 are special pieces
SIZES = {
    "vocab_size": (8, None),
    "emb_dim": (1, None),
    "utt_hidden": (1, None),
    "ctx_hidden": (1, None),
    "dec_hidden": (1, None),
    "dec_layers": (1, None),
    "context_turns": (1, None),
    "max_utt_tokens": (2, None),  # one piece is the speaker marker
    "max_reply_tokens": (1, None),
    "history_turns": (0, None),
}


def _default_options(value, config_path: Path) -> DecodeOptions:
    """The model's recommended decoding options (extra.default_decoding). They are only suggestions
    and the model is intact, so bad ones (a string, max_len "x") are logged and the standard options
    used, instead of an AttributeError traceback or a refusal to chat."""
    try:
        return DecodeOptions.from_dict(value)
    except (ValueError, TypeError) as exc:
        why = f"extra.{DEFAULT_OPTIONS_KEY} ignored ({exc}); using the standard options"
        log.warning("%s: %s", config_path, why)
        return DecodeOptions()


class ChatBot:
    def __init__(
        self,
        model: HRED,
        tokenizer,
        folder: Path,
        device: str,
        device_label: str,
        card: str | None,
        default_options: DecodeOptions,
    ):
        self.model = model.eval()
        self.tok = tokenizer
        self.folder = folder
        self.name = folder.name
        self.device = device
        self.device_label = device_label
        self.card = card
        self.default_options = default_options
        cfg = model.cfg
        self.context_turns = cfg.turns_read
        self.max_context_chars = 4000

    @classmethod
    def load(cls, folder: str | Path, device: str | None = None) -> ChatBot:
        """Everything in config.json is checked before the tokenizer and the weights are read."""
        import torch

        from engine.device import choose_device
        from engine.text.tokenizer import Tokenizer

        folder = Path(folder)
        meta = checkpoint.read_config(folder, kind=KIND, max_schema=SCHEMA_VERSION)
        config_path = folder / checkpoint.CONFIG_FILE
        cfg = checkpoint.config_from_dict(HREDConfig, meta["config"], config_path)
        checkpoint.check_sizes(cfg, SIZES, config_path)
        opts = _default_options(meta["extra"].get(DEFAULT_OPTIONS_KEY), config_path)
        tok_path = checkpoint.model_file(folder, meta["extra"], "tokenizer", TOKENIZER_FILE)
        if not tok_path.is_file():
            raise checkpoint.CheckpointError(f"{tok_path}: missing tokenizer")
        tok = Tokenizer.load(tok_path)
        if tok.vocab_size != cfg.vocab_size:  # another model's tokenizer: fluent nonsense otherwise
            raise checkpoint.CheckpointError(
                f"{tok_path}: the tokenizer has {tok.vocab_size} pieces, the model {cfg.vocab_size} "
                f"(vocab_size in {config_path}): the two files come from different models"
            )
        info = choose_device(device)
        checkpoint.check_shapes(folder, lambda: HRED(cfg))
        model = HRED(cfg)
        state = checkpoint.load_state(folder)
        try:
            model.load_state_dict({k: v.float() for k, v in state.items()})
        except RuntimeError as exc:  # check_shapes compared names and shapes: not expected here
            raise checkpoint.CheckpointError(
                f"{folder / checkpoint.WEIGHTS_FILE}: weights do not fit the config "
                f"({str(exc).splitlines()[0][:200]})"
            ) from None
        model.to(info.name)
        torch.set_grad_enabled(True)  # generation uses no_grad locally; leave the global flag alone
        return cls(model, tok, folder, info.name, info.label, checkpoint.read_card(folder), opts)

    # ------------------------------------------------------------------------------------------
    def prepare(self, turns: list[str], added: int = 0):
        """Tensors for the last turns; also the display pieces and turn index of each. ``added``:
        how many of the first turns the app put there (the OPENING), marked in their labels."""
        import torch

        cfg = self.model.cfg
        turns = alternating(turns)
        ctx = encode_context(
            self.tok, turns, self.context_turns, cfg.max_utt_tokens, markers=cfg.speaker_markers
        )
        N, L = len(ctx), max(len(u) for u in ctx)
        x = torch.zeros((1, N, L), dtype=torch.long)
        lens = torch.zeros((1, N), dtype=torch.long)
        pieces, turn_of = [], []
        for n, u in enumerate(ctx):
            x[0, n, : len(u)] = torch.tensor(u)
            lens[0, n] = len(u)
            pieces += [self.tok.id_to_piece(i) for i in u]
            turn_of += [n] * len(u)
        used = turns[-self.context_turns :]
        labels = []
        for n, t in enumerate(used):
            who = "you" if (len(used) - 1 - n) % 2 == 0 else "bot"
            short = prep(t)[:24]
            mark = ADDED if n < added - (len(turns) - len(used)) else ""
            labels.append(f"{who}: {short}{'…' if len(prep(t)) > 24 else ''}{mark}")
        return x.to(self.device), lens.to(self.device), pieces, turn_of, labels, L

    def reply(
        self,
        turns: list[str],
        options: DecodeOptions | None = None,
        on_token: Callable[[str], None] | None = None,
        cancel: CancelToken | None = None,
        own_replies: list[str] | None = None,
    ) -> Reply:
        """Answer the conversation ``turns`` (alternating; the last one is the user's message).

        An empty turn (a reply that said nothing) is left out and the turns around it, one speaker's,
        become one (:func:`alternating`). ``own_replies``: the bot's earlier replies in this chat,
        newest first — what ``options.self_repeat_penalty`` keeps it from repeating (the first
        RECALL_REPLIES of them). None: taken from the alternation; a caller that knows who said what
        (the desktop's stored thread) passes them."""
        import torch

        from engine.text.normalize import has_visible

        if not turns or not has_visible(str(turns[-1])):
            raise ValueError("empty message: type something to send")
        t0 = time.perf_counter()
        opts = options or self.default_options
        read = opened(alternating(turns))
        x, lens, pieces, turn_of, labels, L = self.prepare(read, added=len(read) - len(alternating(turns)))
        emitted: list[int] = []

        def stream(tok_id: int) -> None:
            emitted.append(tok_id)
            if on_token is not None:
                prev = tidy(self.tok.decode(emitted[:-1]))
                now = tidy(self.tok.decode(emitted))
                on_token(now[len(prev) :] if now.startswith(prev) else " " + now.split(" ")[-1])

        from engine.dialogue.model import BOS_ID
        from engine.text.tokenizer import EOS_ID, UNK_ID

        mine = alternating(turns)[-2::-2] if own_replies is None else own_replies
        kept = [r for r in mine if r and r.strip()][:RECALL_REPLIES]
        own = [self.tok.encode(prep(r)) for r in kept]
        with torch.no_grad():
            state = self.model.start_state(x, lens)
            hyp = decode(
                self.model.step,
                state,
                batch=1,
                bos=BOS_ID,
                eos=EOS_ID,
                unk=UNK_ID,
                options=opts,
                device=self.device,
                on_token=stream,
                cancel=cancel,
                avoid=own,
            )[0][0]
        n_out = len(hyp.tokens)
        # word attention is over the padded (N*L) grid: keep the real pieces only, in order, of
        # the turns it covers (a history model reads more turns than it attends to word by word)
        N = lens.shape[1]
        first = max(0, N - self.model.cfg.context_turns) if self.model.cfg.history_turns else 0
        keep = [n * L + j for n in range(first, N) for j in range(int(lens[0, n]))]
        word = [[row[i] for i in keep] for row in hyp.attn.get("word", [])[:n_out]]
        shown = [i for i, n in enumerate(turn_of) if n >= first]
        turn = [row[: len(labels)] for row in hyp.attn.get("turn", [])[:n_out]]
        text = tidy(self.tok.decode(hyp.tokens))
        stopped = bool(cancel is not None and cancel.cancelled)
        return Reply(
            text=text,
            stopped=stopped,
            latency_ms=(time.perf_counter() - t0) * 1000,
            n_tokens=n_out,
            out_tokens=[_display(self.tok.id_to_piece(i)) for i in hyp.tokens],
            context_tokens=[_display(pieces[i]) for i in shown],
            context_turn=[turn_of[i] for i in shown],
            turn_labels=labels,
            word_attention=word,
            turn_attention=turn,
        )


def find_models(*roots: str | Path) -> list[Path]:
    """Model folders of kind "dialogue" directly under (or equal to) each root, sorted by name."""
    return checkpoint.find_model_folders(KIND, *roots)

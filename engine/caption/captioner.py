"""Captioning images (arrays, files, folders) with a loaded captioner: captions, alternative beams
and one 7x7 attention map per word. Bad files get a per-file message; the rest of a batch goes on.
A blank, almost uniform picture (a black frame, a white page) is not shown to the model, which
would invent people in it: it gets a plain caption flagged ``low_information`` (see :func:`blank_caption`).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import torch

from engine.batch_search import Hyp
from engine.caption.encoder import normalize
from engine.caption.images import DEFAULT_MAX_PIXELS, load_batches
from engine.caption.model import CaptionModel, bf16_available, load
from engine.caption.vocab import Vocab
from engine.checkpoint import CheckpointError
from engine.decoding import DecodeOptions, decode_batch

# Words that may repeat within a caption ("a man in a red shirt"); every other word may appear
# once when repetition blocking is on ("a man wearing a black hat and hat" cannot happen).
FUNCTION_WORDS = frozenset(
    [
        "a",
        "an",
        "the",
        "and",
        "or",
        "but",
        "of",
        "in",
        "on",
        "at",
        "to",
        "with",
        "by",
        "for",
        "from",
        "into",
        "onto",
        "over",
        "under",
        "near",
        "next",
        "through",
        "while",
        "is",
        "are",
        "his",
        "her",
        "their",
        "its",
        "one",
        "two",
        "three",
        "other",
        "another",
        "each",
    ]
)


# A picture whose every colour channel has a standard deviation below this (0..255 scale, on the
# image as prepared for the encoder) is "blank": nothing in it to caption. Measured on the 5,000
# Flickr8k images the captioner was trained on: the smallest is 10.6 (p0.1 21.0, p1 29.1, median 63.7),
# so 5 is half of the flattest real photo (9.2 on the 64x36 frames video cuts are judged on); one-colour
# PNGs, JPEGs and video frames measure 0. Random noise (24) and a page of text (33) are not blank.
BLANK_STD = 5.0
# Colour names of a blank picture's hue: (upper edge in degrees, name).
_HUES = ((15, "red"), (45, "orange"), (70, "yellow"), (165, "green"), (200, "cyan"), (255, "blue"))
_HUES += ((320, "purple"), (345, "pink"), (361, "red"))


def blank_caption(image: np.ndarray, noun: str = "image") -> str | None:
    """A plain caption for a blank, almost uniform uint8 RGB ``(H, W, 3)`` picture ("a black image",
    "a white image", "a gray image", "a plain blue image"), None for any other picture."""
    import colorsys

    px = np.asarray(image).reshape(-1, np.asarray(image).shape[-1]).astype(np.float32)
    if px.size == 0 or float(px.std(axis=0).max()) >= BLANK_STD:
        return None
    mean = px.mean(axis=0)
    level = float(mean.mean())
    if float(mean.max() - mean.min()) < 24 or level < 20:  # no colour cast: black, gray or white
        shade = "black" if level < 40 else "white" if level > 215 else "gray"
        return f"a {shade} {noun}"
    hue = colorsys.rgb_to_hsv(*(mean[:3] / 255.0))[0] * 360
    name = next(n for edge, n in _HUES if hue < edge)
    return f"a plain {name} {noun}"


def caption_options(beam: int = 3, **overrides) -> DecodeOptions:
    """Decoding defaults for captions: beam search, trigram blocking, no <unk>."""
    base = DecodeOptions(
        method="beam" if beam > 1 else "greedy",
        beam_size=max(1, beam),
        max_len=30,
        min_len=2,
        length_penalty=0.0,
        block_ngram=3,
        ban_unk=True,
        repetition_penalty=1.0,
    )
    opts = replace(base, **overrides)
    opts.validate()
    return opts


@dataclass
class Caption:
    text: str  # the best caption
    words: list[str]  # its words (one attention map each)
    logprob: float  # summed log-probability
    attention: np.ndarray  # (len(words), 7, 7) float32: where the model looked for each word
    alternatives: list[tuple[str, float]] = field(default_factory=list)  # other beams: (text, logprob)
    low_information: bool = False  # a blank picture: a plain caption, not the model's


def plain_caption(text: str, grid: int = 7) -> Caption:
    """``text`` as a Caption of a blank picture (the model was not asked): log-probability 0, an even
    attention map per word, ``low_information`` set."""
    words = text.split()
    att = np.full((len(words), grid, grid), 1.0 / (grid * grid), np.float32)
    return Caption(text, words, 0.0, att, [], low_information=True)


@dataclass
class FileCaption:
    path: str  # the file as given
    caption: Caption | None  # None when the file could not be used
    error: str | None = None  # a message a person can read


class Captioner:
    """A loaded model ready to caption. Build with :meth:`from_folder` or from a model + vocab."""

    def __init__(
        self,
        model: CaptionModel,
        vocab: Vocab,
        device: str = "cpu",
        precision: str = "fp32",
        members: list[CaptionModel] | tuple = (),
    ):
        """``precision`` of the word-by-word search: "fp32", "bf16" (a bf16 copy of the decoder:
        measured ~5x faster per step on an AVX512-BF16 CPU, captions checked against fp32 on the
        validation split) or "auto" (bf16 where :func:`bf16_available`). The encoder stays fp32.
        ``members``: more captioners of the same vocabulary and config, averaged word by word with
        ``model`` (an ensemble, see engine.caption.ensemble); their regions are concatenated."""
        if precision not in ("auto", "fp32", "bf16"):
            raise ValueError(f"unknown precision {precision!r}; known: auto, fp32, bf16")
        self.model = model.to(device).eval()
        self.members = [m.to(device).eval() for m in members]
        for m in self.members:
            if m.cfg != model.cfg:
                raise ValueError("ensemble members must share the main model's config")
        self.vocab = vocab
        self.device = device
        use_bf16 = precision == "bf16" or (precision == "auto" and bf16_available(device))
        self.decoders = [
            copy.deepcopy(m.decoder).to(torch.bfloat16).eval() if use_bf16 else m.decoder
            for m in (self.model, *self.members)
        ]
        self.decoder = self.decoders[0]
        self.dtype = torch.bfloat16 if use_bf16 else torch.float32
        self.no_repeat = torch.tensor([w not in FUNCTION_WORDS for w in vocab.itos], device=device)
        self.no_repeat[:4] = False  # <pad> <start> <end> <unk>

    @classmethod
    def from_folder(cls, folder: str | Path, device: str = "cpu", precision: str = "auto") -> Captioner:
        from engine.caption.ensemble import member_folders

        model, vocab, meta = load(folder, device)
        members = []
        for sub in member_folders(folder, meta):
            member, member_vocab, _ = load(sub, device)
            if member_vocab.itos != vocab.itos:
                raise CheckpointError(f"{sub}: its vocabulary differs from the ensemble's main model")
            members.append(member)
        return cls(model, vocab, device, precision, members)

    @property
    def n_members(self) -> int:
        return 1 + len(self.members)

    @property
    def image_size(self) -> int:
        return self.model.cfg.image_size

    def encode(self, images: np.ndarray) -> torch.Tensor:
        """uint8 RGB ``(B, H, W, 3)`` -> regions ``(B, 49, 1280 * n_members)`` (an ensemble's
        members share the frozen trunk, run once, and each adds its own top's regions)."""
        x = normalize(images).to(self.device)
        if not self.members:
            return self.model.encode_pixels(x)
        with torch.no_grad():
            trunk = self.model.trunk(x.contiguous(memory_format=torch.channels_last))
            return torch.cat([m.top(trunk) for m in (self.model, *self.members)], dim=-1)

    def caption_regions(
        self, regions: torch.Tensor, options: DecodeOptions | None = None, block_repeats: bool = True
    ) -> list[Caption]:
        """Regions ``(B, S, D)`` (one image, or a pooled clip, per row) -> one Caption each."""
        opts = options or caption_options()
        no_repeat = self.no_repeat if block_repeats else None
        v = self.vocab
        ban = (v.pad_id, v.bos_id)
        B = regions.shape[0]
        if B == 0:
            return []
        with torch.no_grad():
            K = 1 if opts.method == "greedy" else opts.beam_size
            step, state = self._stepper(regions.to(self.device, self.dtype), K)

            hyps = decode_batch(
                step,
                state,
                batch=B,
                bos=v.bos_id,
                eos=v.eos_id,
                options=opts,
                unk=v.unk_id,
                no_repeat=no_repeat,
                ban=ban,
            )
        return [self._to_caption(h, regions.shape[1]) for h in hyps]

    def _stepper(self, regions: torch.Tensor, K: int):
        """(step function, initial state) of the search: one decoder, or every member's with their
        word probabilities averaged (state keys ``"<member>.h"``, ``"<member>.c"``)."""
        M = self.n_members
        if M == 1:
            static, state = self.decoder.start(regions, repeat=K)
            return (lambda tokens, st: self.decoder.step(tokens, st, static)), state
        if regions.shape[-1] % M:
            raise ValueError(f"regions of width {regions.shape[-1]} do not split into {M} members")
        parts = regions.chunk(M, dim=-1)
        statics, state = [], {}
        for i, (dec, part) in enumerate(zip(self.decoders, parts)):
            static, st = dec.start(part.contiguous(), repeat=K)
            statics.append(static)
            state.update({f"{i}.{k}": t for k, t in st.items()})
        log_m = float(np.log(M))

        def step(tokens, st):
            logps, atts, new = [], [], {}
            for i, (dec, static) in enumerate(zip(self.decoders, statics)):
                lp, s_i, att = dec.step(tokens, {"h": st[f"{i}.h"], "c": st[f"{i}.c"]}, static)
                logps.append(lp.float())
                atts.append(att.float())
                new.update({f"{i}.{k}": t for k, t in s_i.items()})
            return torch.logsumexp(torch.stack(logps), 0) - log_m, new, torch.stack(atts).mean(0)

        return step, state

    def _to_caption(self, hyps: list[Hyp], n_regions: int) -> Caption:
        best = hyps[0]
        words = self.vocab.decode_ids(best.tokens)
        g = int(round(n_regions**0.5))
        att = best.attention[: len(words)].float().numpy()
        att = att.reshape(len(words), g, g) if g * g == n_regions else att
        alts = [(self.vocab.decode(h.tokens), h.logprob) for h in hyps[1:]]
        return Caption(" ".join(words), words, best.logprob, att.astype(np.float32), alts)

    def caption_arrays(
        self,
        images: np.ndarray,
        options: DecodeOptions | None = None,
        block_repeats: bool = True,
        check_blank: bool = True,
    ) -> list[Caption]:
        """uint8 RGB ``(B, H, W, 3)`` -> one Caption each. Blank pictures (:func:`blank_caption`)
        get a plain caption flagged ``low_information`` unless ``check_blank`` is False."""
        plain = [blank_caption(im) if check_blank else None for im in images]
        rest = [i for i, t in enumerate(plain) if t is None]
        batch = images if len(rest) == len(images) else images[rest]
        caps = self.caption_regions(self.encode(batch), options, block_repeats) if rest else []
        out = [plain_caption(t) if t is not None else None for t in plain]
        for i, cap in zip(rest, caps):
            out[i] = cap
        return out

    def caption_files(
        self,
        paths: list[str | Path],
        options: DecodeOptions | None = None,
        batch_size: int = 16,
        block_repeats: bool = True,
        progress: Callable[[int, int], None] | None = None,
        cancel=None,
        max_pixels: int = DEFAULT_MAX_PIXELS,
    ) -> list[FileCaption]:
        """Caption image files in order; unreadable ones get ``error`` and the batch goes on."""
        paths = list(paths)
        out: list[FileCaption | None] = [None] * len(paths)
        done = 0
        for idx, arrays, errors in load_batches(
            [Path(p) for p in paths], batch_size, self.image_size, max_pixels
        ):
            if cancel is not None and cancel.cancelled:
                break
            for i, msg in errors.items():
                out[i] = FileCaption(str(paths[i]), None, msg)
            if idx:
                for i, cap in zip(idx, self.caption_arrays(arrays, options, block_repeats)):
                    out[i] = FileCaption(str(paths[i]), cap)
            done += len(idx) + len(errors)
            if progress is not None:
                progress(done, len(paths))
        return [o if o is not None else FileCaption(str(p), None, "cancelled") for o, p in zip(out, paths)]

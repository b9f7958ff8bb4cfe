"""The lecture's experiments, runnable: synthetic tasks, cell comparisons, probes that look inside
recurrent networks (gradient flow, gates, embeddings), a small language model, and the dialogue
training run the Train panel starts. Pure torch + numpy; no Qt."""

"""Tuning the local model to rank (LlamaRec/TALLRec style): training examples rendered by the
verbalizer's own template, a label-token trainer, and the run that writes a servable model."""

"""Training: WordPiece tokenizers, masked-LM pretraining, extractor fine-tuning, distillation, one shared loop.

Modules import lazily (torch/transformers only where needed); ``loop.py`` and ``pretrain.py`` need neither pydantic
nor spaCy, so they run on a bare GPU image.
"""

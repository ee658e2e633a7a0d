"""Joint entity, coreference and relation extraction with a BERT-family encoder (see engine.Extractor)."""

"""Text segmentation: spaCy sentences and tokens with character offsets, encoder windows with overlap."""

"""Mention vectors pooled from the encoder states the extractor already computed, for fusion.

Fusion compares mentions by a name vector and a context vector. Pooling both from the extractor's own forward pass
(the flat, unpadded states of :func:`kgbuild.extract.infer.encode_chunks`) costs a gather and a mean per mention,
where encoding names and sentences again with a sentence encoder costs a second transformer pass over the text.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch

from kgbuild.extract.features import EncodedDoc
from kgbuild.records import MentionStates

# Subword tokens either side of a mention that its context vector averages (inside the mention's window): about a
# sentence, as the sentence encoder's context is the mention's sentence. Chosen on dev (docs/fusion.md).
CONTEXT_RADIUS = 16


def pool_states(
    flat: torch.Tensor,
    chunk_starts: Sequence[int],
    encs: Sequence[EncodedDoc],
    located: Sequence[Sequence[tuple[int, list[int]]]],
    radius: int | None = None,
    word_embeddings: torch.Tensor | None = None,
) -> list[MentionStates]:
    """Per document, the mean state of each mention's subwords and of the ``radius`` tokens around it.

    ``chunk_starts``: each chunk's first row in ``flat`` (all documents' chunks in order); ``located[d][i]``: the
    (chunk, token positions) of mention i of document d, as ``EncodedDoc.mention_tokens`` gives them; ``radius``
    defaults to :data:`CONTEXT_RADIUS`; ``word_embeddings``: the encoder's input embedding matrix, for ``words``."""
    radius = CONTEXT_RADIUS if radius is None else radius
    name_rows: list[int] = []
    name_ids: list[int] = []
    name_seg: list[int] = []
    context_rows: list[int] = []
    context_seg: list[int] = []
    counts: list[int] = []
    first_chunk = 0
    mention = 0
    for enc, mentions in zip(encs, located):
        counts.append(len(mentions))
        for chunk, positions in mentions:
            base = chunk_starts[first_chunk + chunk]
            length = len(enc.chunks[chunk].ids)
            name_rows.extend(base + p for p in positions)
            name_ids.extend(enc.chunks[chunk].ids[p] for p in positions)
            name_seg.extend([mention] * len(positions))
            lo, hi = max(1, positions[0] - radius), min(length - 1, positions[-1] + 1 + radius)
            context_rows.extend(range(base + lo, base + hi))
            context_seg.extend([mention] * (hi - lo))
            mention += 1
        first_chunk += len(enc.chunks)
    names = _segment_mean(flat, name_rows, name_seg, mention)
    contexts = _segment_mean(flat, context_rows, context_seg, mention)
    words = _segment_mean(word_embeddings, name_ids, name_seg, mention) if word_embeddings is not None else None
    out, row = [], 0
    for n in counts:
        out.append(MentionStates(names[row : row + n], contexts[row : row + n],
                                 None if words is None else words[row : row + n]))
        row += n
    return out


def _segment_mean(flat: torch.Tensor, rows: list[int], segments: list[int], n: int) -> np.ndarray:
    """(n, hidden) float32: the mean of ``flat[rows]`` per segment id."""
    hidden = flat.shape[1] if flat.dim() == 2 else 0
    if n == 0:
        return np.zeros((0, hidden), np.float32)
    index = torch.tensor(segments, dtype=torch.long, device=flat.device)
    sums = torch.zeros((n, hidden), dtype=torch.float32, device=flat.device)
    sums.index_add_(0, index, flat[torch.tensor(rows, dtype=torch.long, device=flat.device)].float())
    sizes = torch.bincount(index, minlength=n).clamp(min=1).to(sums.dtype)
    return (sums / sizes[:, None]).cpu().numpy().astype(np.float32)

"""Streaming masked-LM data: tokenize documents as they are read, pack them into full blocks, mask per batch.

Packing: documents are tokenized without special tokens and laid end to end, separated by ``[SEP]``, then cut into
blocks of exactly ``max_length`` (``[CLS] tokens... [SEP]``), as RoBERTa's FULL-SENTENCES input. Every position of
every batch is a real token, so no compute is spent on padding and no attention mask is needed. Only the ragged tail
of the stream (less than one block) is dropped.

Masking is dynamic (fresh masks every epoch), 15% of tokens by default, of which 80% become ``[MASK]``, 10% a random
token and 10% stay unchanged; with whole-word masking the 15% are drawn per word and a chosen word is masked in all
its pieces. Masks come from a generator seeded by (seed, epoch, shard): an epoch replays identically, which is what
lets a resumed run skip the batches it already trained on and continue with the same next loss.

Distributed: every process reads the same stream and keeps block ``i`` when ``i % shards == shard`` (shards =
processes x DataLoader workers); an incomplete last round of blocks is dropped so that all shards see the same
number of batches and DDP never waits on a process that ran out.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import torch
from torch.utils.data import IterableDataset, get_worker_info

TextSource = Callable[[], Iterable[str]]  # called once per pass: yields document texts in a fixed order


@dataclass(frozen=True)
class Block:
    """One packed sequence of exactly ``max_length`` ids; ``word_ids`` numbers the words (for whole-word masking)."""

    input_ids: list[int]
    word_ids: list[int]
    token_type_ids: list[int] | None = None
    next_sentence_label: int | None = None


class PackedMlmDataset(IterableDataset):
    """Yields ready batches ``{"input_ids": LongTensor[B, L], "labels": LongTensor[B, L], ...}`` (use batch_size=None)."""

    def __init__(
        self, texts: TextSource, tokenizer: Any, max_length: int = 128, batch_size: int = 32,
        mlm_probability: float = 0.15, whole_word_mask: bool = False, nsp: bool = False, shuffle_buffer: int = 1000,
        seed: int = 13, rank: int = 0, world_size: int = 1, tokenize_batch: int = 64,
    ):
        if max_length < 8:
            raise ValueError(f"max_length must be at least 8, got {max_length}")
        if not 0.0 < mlm_probability < 1.0:
            raise ValueError(f"mlm_probability must be in (0, 1), got {mlm_probability}")
        self.texts, self.tokenizer = texts, tokenizer
        self.max_length, self.batch_size = max_length, batch_size
        self.mlm_probability, self.whole_word_mask, self.nsp = mlm_probability, whole_word_mask, nsp
        self.shuffle_buffer, self.seed, self.rank, self.world_size = shuffle_buffer, seed, rank, world_size
        self.tokenize_batch = tokenize_batch
        self.epoch = 0
        self.special_ids = sorted(set(tokenizer.all_special_ids))
        self.cls_id, self.sep_id, self.mask_id = tokenizer.cls_token_id, tokenizer.sep_token_id, tokenizer.mask_token_id
        self.vocab_size = len(tokenizer)

    def set_epoch(self, epoch: int) -> None:
        """A new epoch draws new masks and a new shuffle order."""
        self.epoch = epoch

    def _shard(self) -> tuple[int, int, int]:
        """(this shard, number of shards, number of DataLoader workers)."""
        info = get_worker_info()
        workers, worker = (info.num_workers, info.id) if info is not None else (1, 0)
        return self.rank * workers + worker, self.world_size * workers, workers

    def __iter__(self) -> Iterator[dict[str, torch.Tensor]]:
        shard, shards, _ = self._shard()
        # the block stream must be the same on every shard (NSP draws from it), the shuffle and masks are per shard
        stream_rng = random.Random(self.seed * 1_000_003 + self.epoch)
        shuffle_rng = random.Random(self.seed * 1_000_003 + self.epoch * 1009 + shard + 1)
        gen = torch.Generator().manual_seed(self.seed * 1_000_003 + self.epoch * 1009 + shard)
        batch: list[Block] = []
        for block in _shuffled(self._my_blocks(shard, shards, stream_rng), self.shuffle_buffer, shuffle_rng):
            batch.append(block)
            if len(batch) == self.batch_size:
                yield self._collate(batch, gen)
                batch = []
        if batch:
            yield self._collate(batch, gen)

    def count_batches(self) -> int:
        """Batches per epoch for this process (one tokenizing pass, nothing kept): needed to schedule by epochs."""
        shard, shards, workers = self._shard()
        blocks = sum(1 for _ in self._blocks(random.Random(self.seed * 1_000_003))) // shards  # full rounds only, as in _my_blocks
        return workers * -(-blocks // self.batch_size)

    def _my_blocks(self, shard: int, shards: int, rng: random.Random) -> Iterator[Block]:
        """This shard's blocks; a block is released only when its round of ``shards`` blocks is complete."""
        mine: Block | None = None
        for i, block in enumerate(self._blocks(rng)):
            if i % shards == shard:
                mine = block
            if i % shards == shards - 1 and mine is not None:
                yield mine
                mine = None

    def _documents(self) -> Iterator[tuple[list[int], list[bool]]]:
        """(token ids, starts-a-word flags) per document, tokenized in batches by the Rust tokenizer."""
        backend = self.tokenizer.backend_tokenizer
        pending: list[str] = []

        def encode(texts: list[str]) -> Iterator[tuple[list[int], list[bool]]]:
            for enc in backend.encode_batch(texts, add_special_tokens=False):
                words = enc.word_ids
                starts = [j == 0 or w is None or w != words[j - 1] for j, w in enumerate(words)]
                if enc.ids:
                    yield enc.ids, starts

        for text in self.texts():
            pending.append(text)
            if len(pending) == self.tokenize_batch:
                yield from encode(pending)
                pending = []
        if pending:
            yield from encode(pending)

    def _stream(self) -> Iterator[tuple[int, bool]]:
        """All documents end to end, each followed by [SEP]."""
        for ids, starts in self._documents():
            yield from zip(ids, starts)
            yield self.sep_id, True

    def _blocks(self, rng: random.Random) -> Iterator[Block]:
        return self._nsp_blocks(rng) if self.nsp else self._mlm_blocks()

    def _mlm_blocks(self) -> Iterator[Block]:
        """[CLS] + (max_length - 2) stream tokens + [SEP], all real tokens."""
        size = self.max_length - 2
        ids: list[int] = []
        starts: list[bool] = []
        for tok, start in self._stream():
            ids.append(tok)
            starts.append(start)
            if len(ids) == size:
                yield Block([self.cls_id, *ids, self.sep_id], _word_ids([True, *starts, True]))
                ids, starts = [], []

    def _nsp_blocks(self, rng: random.Random) -> Iterator[Block]:
        """[CLS] A [SEP] B [SEP]: B follows A (label 0) or, half the time, is a span from earlier text (label 1).

        Segments are cut at word starts inside the stream, not at sentence ends (an approximation of BERT's pairs);
        when B is random, the true continuation is not lost but starts the next block.
        """
        size = self.max_length - 3
        recent: list[list[tuple[int, bool]]] = []  # earlier chunks to draw random B segments from
        buf: list[tuple[int, bool]] = []
        for item in self._stream():
            buf.append(item)
            if len(buf) < size:
                continue
            chunk = buf[:size]
            cut = _word_cut(chunk, rng)
            a, b = chunk[:cut], chunk[cut:]
            label = 0
            if recent and rng.random() < 0.5:
                other = rng.choice(recent)
                start = rng.randrange(0, len(other) - len(b) + 1)
                b, label = other[start:start + len(b)], 1
                buf = buf[cut:]  # the true continuation goes on to the next block
            else:
                buf = []
            recent = [*recent[-63:], chunk]
            ids = [self.cls_id, *(t for t, _ in a), self.sep_id, *(t for t, _ in b), self.sep_id]
            starts = [True, *(s for _, s in a), True, *(s for _, s in b), True]
            types = [0] * (len(a) + 2) + [1] * (len(b) + 1)
            yield Block(ids, _word_ids(starts), types, label)

    def _collate(self, blocks: list[Block], gen: torch.Generator) -> dict[str, torch.Tensor]:
        input_ids = torch.tensor([b.input_ids for b in blocks], dtype=torch.long)
        word_ids = torch.tensor([b.word_ids for b in blocks], dtype=torch.long) if self.whole_word_mask else None
        masked, labels = mask_tokens(input_ids, self.special_ids, self.mask_id, self.vocab_size,
                                     self.mlm_probability, gen, word_ids)
        batch = {"input_ids": masked, "labels": labels}
        if self.nsp:
            batch["token_type_ids"] = torch.tensor([b.token_type_ids for b in blocks], dtype=torch.long)
            batch["next_sentence_label"] = torch.tensor([b.next_sentence_label for b in blocks], dtype=torch.long)
        return batch


def mask_tokens(
    input_ids: torch.Tensor, special_ids: list[int], mask_id: int, vocab_size: int, probability: float,
    gen: torch.Generator, word_ids: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """BERT masking of ``input_ids`` [B, L]: returns (masked inputs, labels with -100 where nothing is predicted).

    ``word_ids`` [B, L] (word number per position) switches to whole-word masking: the draw is per word.
    At least one token per batch is always masked, so the loss is never empty.
    """
    special = torch.isin(input_ids, torch.tensor(special_ids, dtype=input_ids.dtype))
    if word_ids is None:
        chosen = torch.rand(input_ids.shape, generator=gen) < probability
    else:
        per_word = torch.rand((input_ids.shape[0], int(word_ids.max()) + 1), generator=gen) < probability
        chosen = per_word.gather(1, word_ids)
    chosen &= ~special
    if not chosen.any():
        candidates = (~special).nonzero()
        if len(candidates):
            row, col = candidates[int(torch.randint(len(candidates), (1,), generator=gen))]
            chosen[row, col] = True
    labels = input_ids.masked_fill(~chosen, -100)
    roll = torch.rand(input_ids.shape, generator=gen)
    masked = input_ids.clone()
    masked[chosen & (roll < 0.8)] = mask_id  # 80%: [MASK]
    to_random = chosen & (roll >= 0.8) & (roll < 0.9)  # 10%: a random token; the last 10% stay as they are
    masked[to_random] = torch.randint(vocab_size, input_ids.shape, generator=gen)[to_random]
    return masked, labels


def _word_ids(starts: list[bool]) -> list[int]:
    """Running word number: position j belongs to word (number of word starts up to j) - 1."""
    out, word = [], -1
    for start in starts:
        word += bool(start)
        out.append(max(word, 0))
    return out


def _word_cut(buf: list[tuple[int, bool]], rng: random.Random) -> int:
    """A split point at a word start in the middle half, chosen at random (any point if there is none)."""
    starts = [j for j in range(max(1, len(buf) // 4), max(2, 3 * len(buf) // 4)) if buf[j][1]]
    return rng.choice(starts) if starts else rng.randrange(1, len(buf))


def _shuffled(items: Iterable[Block], size: int, rng: random.Random) -> Iterator[Block]:
    """Reservoir-style shuffle with a bounded buffer (streaming: the corpus is never held in memory)."""
    if size <= 1:
        yield from items
        return
    buffer: list[Block] = []
    for item in items:
        if len(buffer) < size:
            buffer.append(item)
            continue
        j = rng.randrange(size)
        yield buffer[j]
        buffer[j] = item
    rng.shuffle(buffer)
    yield from buffer

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
number of batches and DDP never waits on a process that ran out. In a single process, DataLoader workers instead
split the documents between them (chunk ``c`` goes to worker ``c % workers``), so tokenizing runs in parallel.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch.utils.data import IterableDataset, get_worker_info

TextSource = Callable[[], Iterable[str]]  # called once per pass: yields document texts in a fixed order


@dataclass(frozen=True)
class Block:
    """One packed sequence of exactly ``max_length`` ids."""

    input_ids: list[int]
    word_ids: list[int]  # global word numbers (empty unless whole-word masking or NSP needs them)
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

    def _layout(self, workers: int, worker: int) -> tuple[int, int, int, int, int]:
        """(unit, block shard, block shards, document part, document parts) for this process and worker.

        Across processes every one must see the same number of batches, so each reads the whole stream and keeps
        its round-robin share of blocks. Inside one process there is no such constraint: DataLoader workers split
        the documents (and so the tokenizing work) between them instead.
        """
        unit = self.rank * workers + worker
        if self.world_size == 1:
            return unit, 0, 1, worker, workers
        return unit, unit, self.world_size * workers, 0, 1

    def __iter__(self) -> Iterator[dict[str, torch.Tensor]]:
        info = get_worker_info()
        unit, shard, shards, part, parts = self._layout(*((info.num_workers, info.id) if info else (1, 0)))
        # the block stream must be the same on every shard (NSP draws from it), the shuffle and masks are per unit
        stream_rng = random.Random(self.seed * 1_000_003 + self.epoch)
        shuffle_rng = random.Random(self.seed * 1_000_003 + self.epoch * 1009 + unit + 1)
        gen = torch.Generator().manual_seed(self.seed * 1_000_003 + self.epoch * 1009 + unit)
        batch: list[Block] = []
        blocks = self._my_blocks(shard, shards, stream_rng, part, parts)
        for block in _shuffled(blocks, self.shuffle_buffer, shuffle_rng):
            batch.append(block)
            if len(batch) == self.batch_size:
                yield self._collate(batch, gen)
                batch = []
        if batch:
            yield self._collate(batch, gen)

    def count_batches(self, num_workers: int = 0) -> int:
        """Batches per epoch for this process when read by a DataLoader with ``num_workers`` (one tokenizing pass,
        nothing kept): needed to schedule by epochs."""
        workers = max(1, num_workers)
        total = 0
        for worker in range(workers):
            _, shard, shards, part, parts = self._layout(workers, worker)
            rng = random.Random(self.seed * 1_000_003)
            blocks = sum(1 for _ in self._my_blocks(shard, shards, rng, part, parts))
            total += -(-blocks // self.batch_size)
        return total

    def _my_blocks(self, shard: int, shards: int, rng: random.Random, part: int = 0, parts: int = 1) -> Iterator[Block]:
        """This shard's blocks; a block is released only when its round of ``shards`` blocks is complete."""
        mine: Block | None = None
        for i, block in enumerate(self._blocks(rng, part, parts)):
            if i % shards == shard:
                mine = block
            if i % shards == shards - 1 and mine is not None:
                yield mine
                mine = None

    def _documents(self, part: int = 0, parts: int = 1) -> Iterator[tuple[list[int], list[int]]]:
        """(token ids, word numbers) per non-empty document, tokenized in batches by the Rust tokenizer.

        Word numbers are global (distinct across documents and separators) and only computed when a block needs them
        (whole-word masking, NSP cuts); otherwise the list is empty.
        """
        backend = self.tokenizer.backend_tokenizer
        words_needed = self.whole_word_mask or self.nsp
        next_word = 0
        pending: list[str] = []
        chunk = -1
        for last, text in _with_last(self.texts()):
            pending.append(text)
            if len(pending) < self.tokenize_batch and not last:
                continue
            chunk += 1
            if chunk % parts != part:  # another DataLoader worker tokenizes this chunk
                pending = []
                continue
            for enc in backend.encode_batch(pending, add_special_tokens=False):
                if not enc.ids:
                    continue
                words: list[int] = []
                if words_needed:
                    local = np.asarray([-1 if w is None else w for w in enc.word_ids], dtype=np.int64)
                    words = (local + next_word).tolist()
                    next_word += int(local.max()) + 2  # +1 past the last word, +1 for the separator after it
                yield enc.ids, words
            pending = []

    def _stream(self, part: int = 0, parts: int = 1) -> Iterator[tuple[list[int], list[int]]]:
        """Documents end to end, each followed by [SEP]: (ids, word numbers) pieces, never split token by token."""
        for ids, words in self._documents(part, parts):
            yield [*ids, self.sep_id], ([*words, words[-1] + 1] if words else [])

    def _blocks(self, rng: random.Random, part: int = 0, parts: int = 1) -> Iterator[Block]:
        return self._nsp_blocks(rng, part, parts) if self.nsp else self._mlm_blocks(part, parts)

    def _mlm_blocks(self, part: int = 0, parts: int = 1) -> Iterator[Block]:
        """[CLS] + (max_length - 2) stream tokens + [SEP], all real tokens; lists are sliced, not looped over."""
        size = self.max_length - 2
        ids: list[int] = []
        words: list[int] = []
        for piece_ids, piece_words in self._stream(part, parts):
            ids.extend(piece_ids)
            words.extend(piece_words)
            while len(ids) >= size:
                w = [-1, *words[:size], -2] if words else []  # [CLS] and [SEP] are words of their own
                yield Block([self.cls_id, *ids[:size], self.sep_id], w)
                del ids[:size], words[:size]

    def _nsp_blocks(self, rng: random.Random, part: int = 0, parts: int = 1) -> Iterator[Block]:
        """[CLS] A [SEP] B [SEP]: B follows A (label 0) or, half the time, is a span from earlier text (label 1).

        Segments are cut at word starts inside the stream, not at sentence ends (an approximation of BERT's pairs);
        when B is random, the true continuation is not lost but starts the next block.
        """
        size = self.max_length - 3
        recent: list[tuple[list[int], list[int]]] = []  # earlier chunks to draw random B segments from
        ids: list[int] = []
        words: list[int] = []
        for piece_ids, piece_words in self._stream(part, parts):
            ids.extend(piece_ids)
            words.extend(piece_words)
            while len(ids) >= size:
                chunk_ids, chunk_words = ids[:size], words[:size]
                cut = _word_cut(chunk_words, rng)
                b_ids, b_words, label = chunk_ids[cut:], chunk_words[cut:], 0
                if recent and rng.random() < 0.5:
                    other_ids, other_words = rng.choice(recent)
                    start = rng.randrange(0, size - len(b_ids) + 1)
                    b_ids, b_words = other_ids[start:start + len(b_ids)], other_words[start:start + len(b_ids)]
                    label = 1
                    del ids[:cut], words[:cut]  # the true continuation goes on to the next block
                else:
                    del ids[:size], words[:size]
                recent = [*recent[-63:], (chunk_ids, chunk_words)]
                block = [self.cls_id, *chunk_ids[:cut], self.sep_id, *b_ids, self.sep_id]
                block_words = [-1, *chunk_words[:cut], -2, *b_words, -3]
                types = [0] * (cut + 2) + [1] * (len(b_ids) + 1)
                yield Block(block, block_words, types, label)

    def _collate(self, blocks: list[Block], gen: torch.Generator) -> dict[str, torch.Tensor]:
        input_ids = torch.tensor([b.input_ids for b in blocks], dtype=torch.long)
        word_ids = _renumber(torch.tensor([b.word_ids for b in blocks], dtype=torch.long)) if self.whole_word_mask else None
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


def _renumber(words: torch.Tensor) -> torch.Tensor:
    """Global word numbers [B, L] -> 0, 1, 2 ... per row (a new number wherever the word changes)."""
    changes = (words[:, 1:] != words[:, :-1]).long()
    return torch.cat([torch.zeros_like(words[:, :1]), changes.cumsum(1)], dim=1)


def _word_cut(words: list[int], rng: random.Random) -> int:
    """A split point at a word start in the middle half, chosen at random (the middle if words are unknown)."""
    lo, hi = max(1, len(words) // 4), max(2, 3 * len(words) // 4)
    starts = [j for j in range(lo, hi) if words[j] != words[j - 1]]
    return rng.choice(starts) if starts else len(words) // 2


def _with_last(items: Iterable[str]) -> Iterator[tuple[bool, str]]:
    """(is_last, item) pairs, so a batching loop knows when to flush."""
    iterator = iter(items)
    try:
        current = next(iterator)
    except StopIteration:
        return
    for following in iterator:
        yield False, current
        current = following
    yield True, current


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

"""Train a WordPiece tokenizer on the user's corpus and save it so ``transformers.AutoTokenizer`` loads it.

A domain vocabulary keeps domain words whole ("immunohistochemistry" as a few pieces, not a dozen), which shortens
sequences and helps a model pretrained from scratch. Uses the ``tokenizers`` library (Rust, streaming) with BERT's
normaliser and pre-tokeniser, so the result is a drop-in BERT tokenizer (``vocab.txt`` + ``tokenizer.json``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kgbuild.training.corpus import CorpusStats, iter_texts

SPECIAL_TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


@dataclass
class TokenizerArgs:
    """Arguments of ``kgbuild train tokenizer``."""

    corpus: list[str] = field(metadata={"help": "Files, directories or globs of raw text (any format kgbuild reads)."})
    out: str = field(metadata={"help": "Directory to write the tokenizer to."})
    vocab_size: int = field(default=30522, metadata={"help": "Target vocabulary size, special tokens included."})
    uncased: bool = field(default=False, metadata={"help": "Lower-case and strip accents (BERT-uncased style)."})
    min_frequency: int = field(default=2, metadata={"help": "Drop pieces seen fewer times than this."})
    limit_alphabet: int = field(default=1000, metadata={"help": "Keep at most this many initial characters."})
    model_max_length: int = field(default=512, metadata={"help": "Longest sequence the model will see."})
    strict: bool = field(default=False, metadata={"help": "Stop at the first unreadable input file."})


def train_tokenizer(args: TokenizerArgs) -> tuple[Path, CorpusStats]:
    """Train WordPiece on ``args.corpus`` and save a BERT tokenizer to ``args.out``; return it and what was read."""
    from tokenizers import Tokenizer, decoders, normalizers, pre_tokenizers, processors
    from tokenizers.models import WordPiece
    from tokenizers.trainers import WordPieceTrainer

    if args.vocab_size <= len(SPECIAL_TOKENS):
        raise ValueError(f"--vocab-size must be larger than {len(SPECIAL_TOKENS)}, got {args.vocab_size}")
    tok = Tokenizer(WordPiece(unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(
        clean_text=True, handle_chinese_chars=True, strip_accents=args.uncased, lowercase=args.uncased
    )
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.decoder = decoders.WordPiece(prefix="##")
    trainer = WordPieceTrainer(
        vocab_size=args.vocab_size, min_frequency=args.min_frequency, limit_alphabet=args.limit_alphabet,
        special_tokens=SPECIAL_TOKENS, continuing_subword_prefix="##", show_progress=False,
    )
    stats = CorpusStats()
    tok.train_from_iterator(iter_texts(args.corpus, strict=args.strict, stats=stats), trainer=trainer)
    cls, sep = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS]:0 $A:0 [SEP]:0", pair="[CLS]:0 $A:0 [SEP]:0 $B:1 [SEP]:1", special_tokens=[("[CLS]", cls), ("[SEP]", sep)]
    )
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    wrapped = _as_transformers(tok, args)
    wrapped.save_pretrained(str(out))
    tok.model.save(str(out))  # vocab.txt as well, for tools (and older transformers) that read BERT vocab files
    return out, stats


def _as_transformers(tok: Any, args: TokenizerArgs) -> Any:
    """Wrap the trained ``tokenizers.Tokenizer`` as a ``BertTokenizerFast`` (writes vocab.txt and tokenizer.json)."""
    from transformers import BertTokenizerFast

    return BertTokenizerFast(
        tokenizer_object=tok, do_lower_case=args.uncased, strip_accents=args.uncased,
        unk_token="[UNK]", sep_token="[SEP]", pad_token="[PAD]", cls_token="[CLS]", mask_token="[MASK]",
        model_max_length=args.model_max_length,
    )

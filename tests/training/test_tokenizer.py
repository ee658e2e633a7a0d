"""WordPiece tokenizer training: loads with AutoTokenizer, round-trips real text, cased and uncased."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from kgbuild.errors import InputError
from kgbuild.training.tokenizer import SPECIAL_TOKENS, TokenizerArgs, train_tokenizer


def _lines(corpus: Path, limit: int = 40) -> list[str]:
    lines = [line.strip() for f in sorted(corpus.glob("*.txt")) for line in f.read_text().splitlines()]
    return [line for line in lines if line][:limit]


def test_trained_tokenizer_loads_and_round_trips_real_text(small_tokenizer_dir: Path, training_corpus: Path) -> None:
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(small_tokenizer_dir))
    assert tok.is_fast and len(tok) == 1000
    assert tok.convert_ids_to_tokens(list(range(5))) == SPECIAL_TOKENS
    assert (small_tokenizer_dir / "vocab.txt").read_text().split("\n")[:5] == SPECIAL_TOKENS
    unknown = total = 0
    for line in _lines(training_corpus):
        enc = tok(line, return_offsets_mapping=True)
        ids = enc["input_ids"]
        assert ids[0] == tok.cls_token_id and ids[-1] == tok.sep_token_id
        # decoding gives the text back (BERT's decoder spaces out punctuation, so compare without spaces)
        assert tok.decode(ids, skip_special_tokens=True).replace(" ", "") == line.replace(" ", "")
        # each piece points at exactly its characters in the original text
        for piece, (start, end) in zip(tok.convert_ids_to_tokens(ids)[1:-1], enc["offset_mapping"][1:-1]):
            if piece != "[UNK]":
                assert line[start:end] == piece.removeprefix("##")
        unknown += ids.count(tok.unk_token_id)
        total += len(ids)
    assert unknown / total < 0.01


def test_uncased_tokenizer_lowercases_and_strips_accents(tmp_path: Path, training_corpus: Path) -> None:
    from transformers import AutoTokenizer

    out, stats = train_tokenizer(TokenizerArgs(corpus=[str(training_corpus)], out=str(tmp_path), vocab_size=800,
                                               uncased=True))
    tok = AutoTokenizer.from_pretrained(str(out))
    assert stats.documents >= 30 and not stats.skipped
    assert tok.tokenize("Bucharest") == tok.tokenize("bucharest")
    assert tok.decode(tok("Ialomița County")["input_ids"], skip_special_tokens=True) == "ialomita county"


def test_cli_trains_a_tokenizer_and_names_skipped_files(tmp_path: Path, training_corpus: Path) -> None:
    from kgbuild.cli.app import app

    mixed = Path(__file__).resolve().parent.parent / "data" / "mixed"
    result = CliRunner().invoke(app, ["train", "tokenizer", "--corpus", str(training_corpus), str(mixed),
                                      "--vocab-size", "600", "--out", str(tmp_path / "tok")])
    assert result.exit_code == 0, result.output
    assert "WordPiece vocabulary of 600" in result.output
    assert "latin1.txt" in result.output  # a bad input is named, and the rest is still used
    assert (tmp_path / "tok" / "tokenizer.json").exists()


def test_missing_corpus_is_a_one_line_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        train_tokenizer(TokenizerArgs(corpus=[str(tmp_path / "nope")], out=str(tmp_path / "tok"), vocab_size=100))

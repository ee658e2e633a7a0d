"""Name normalisation, acronyms and blocking keys."""

from __future__ import annotations

from kgbuild import names as N


def test_normalize_drops_case_accents_punctuation_articles_titles_and_legal_suffixes() -> None:
    assert N.normalize("The  Beatles") == "beatles"
    assert N.normalize("Mr. Sherlock Holmes") == "sherlock holmes"
    assert N.normalize("Microsoft Corp.") == "microsoft"
    assert N.normalize("Zürich") == "zurich"
    assert N.normalize("AT&T") == "at and t"
    assert N.normalize("I.B.M.") == "ibm"


def test_a_values_unit_is_part_of_its_name() -> None:
    """A news build had merged "$7" with "7" (five stories' amounts and counts as one Number)."""
    assert N.normalize("$7") != N.normalize("7") and N.normalize("$7") == N.normalize("$ 7")
    assert N.normalize("50%") == N.normalize("50 percent") != N.normalize("50")
    assert N.normalize("£5") != N.normalize("€5")
    assert N.normalize("$1.2 million") != N.normalize("$12 million")


def test_a_name_that_is_only_a_title_or_article_keeps_its_word() -> None:
    assert N.normalize("The") == "the"
    assert N.normalize("President") == "president"


def test_acronym_of_multi_word_names_skips_function_words() -> None:
    assert N.acronym("International Business Machines") == "ibm"
    assert N.acronym("Federal Bureau of Investigation") == "fbi"
    assert N.acronym("IBM") == ""


def test_blocking_keys_let_acronyms_partial_names_and_variants_meet() -> None:
    assert set(N.blocking_keys("IBM")) & set(N.blocking_keys("International Business Machines"))
    assert set(N.blocking_keys("Holmes")) & set(N.blocking_keys("Sherlock Holmes"))
    assert set(N.blocking_keys("the Beatles")) & set(N.blocking_keys("Beatles"))
    assert not set(N.blocking_keys("Paris")) & set(N.blocking_keys("London"))
    assert N.blocking_keys("...") == ()


def test_letters_of_every_script_survive_normalisation() -> None:
    assert N.normalize("北京") == "北京" != N.normalize("東京")
    assert N.normalize("Москва") == "москва"
    assert N.normalize("...") == ""

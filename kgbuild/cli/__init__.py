"""The ``kgbuild`` command line: a thin typer shell over plain functions."""

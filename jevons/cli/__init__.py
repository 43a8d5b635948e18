"""The ``jevons`` command line: thin typer commands over the library."""

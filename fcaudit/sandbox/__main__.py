"""`python -m fcaudit.sandbox serve ...`."""

from fcaudit.sandbox.cli import sandbox

sandbox(prog_name="fcaudit sandbox")

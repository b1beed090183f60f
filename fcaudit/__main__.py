"""`python -m fcaudit`."""

from fcaudit.cli import main

main()

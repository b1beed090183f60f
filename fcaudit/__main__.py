"""`python -m fcaudit`."""

from fcaudit.signals import main

main()

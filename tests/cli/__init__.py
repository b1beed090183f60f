"""Tests of fcaudit.cli: each command and each group of flags, through the command line."""

"""Tests of fcaudit.render: one file per output format, and what they share."""

"""Tests of fcaudit.sources: files, discovery and the events source's flags."""

"""Tests of fcaudit.model: findings, their records and Dashboard links."""

"""Tests of near-duplicate detection (``monitor.dedup``) and canonical URLs."""

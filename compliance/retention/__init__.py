"""Retention and archival of the firm's records (issue 13, part 4).

``models`` holds the policies (as data), legal holds and archive runs; ``archive`` writes a
month of one record kind to Parquet files and a manifest in the ``archive`` storage;
``verify`` re-checks them; ``release`` removes the archived rows from the online tables;
``restore`` reloads them into a read-only copy; ``services`` holds the officer-facing
writes (holds, policy changes, purge four-eyes). See docs/compliance-retention.md.
"""

"""Spend rows: one per answered request, made durable before the answer ends, then written to
the database in batches by request id (so a retry or a recovery never duplicates one)."""

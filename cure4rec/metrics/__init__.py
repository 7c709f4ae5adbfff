"""cure4rec.metrics."""

"""cure4rec.forget."""

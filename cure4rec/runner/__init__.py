"""cure4rec.runner."""

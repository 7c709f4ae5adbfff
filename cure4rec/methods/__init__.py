"""cure4rec.methods."""

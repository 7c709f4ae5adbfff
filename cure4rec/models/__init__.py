"""cure4rec.models."""

"""cure4rec.testing."""

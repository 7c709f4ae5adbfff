"""Data layer: interactions, readers, dataset cards, fetch + verify, preprocessing, splits."""

from cure4rec.data.interactions import Interactions

__all__ = ["Interactions"]

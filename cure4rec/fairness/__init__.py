"""Attribute indistinguishability losses, user representations and In-UCDS fair training."""

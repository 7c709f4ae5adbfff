"""Exceptions a user can cause; the CLI prints them in one line and exits 2."""

from __future__ import annotations


class CureError(Exception):
    """Base class of every error caused by user input (bad file, key, value, dataset...).

    The message must say what was wrong (file, line or key, offending value) and what to do.
    """


class DataError(CureError):
    """A data file is missing, empty, malformed or fails verification."""


class ConfigError(CureError):
    """A configuration, recipe or command-line value is invalid."""


class UnknownNameError(ConfigError):
    """A registry lookup failed (unknown dataset, model, method or metric)."""


class IntegrityError(CureError):
    """A checksum does not match (download, manifest or cached artifact)."""


class MethodContractError(CureError):
    """An unlearning method or model broke the protocol (mutated input, NaN scores...)."""

"""labelcheck's version: stored with every report and result, so it lives in a module that
imports nothing."""

__version__ = "0.1.0"

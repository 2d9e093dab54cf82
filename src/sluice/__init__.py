"""sluice: run and test AWS Lambda response streaming locally."""

__version__ = "0.1.0"

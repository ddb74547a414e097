"""The domain and the adapters of the Jumio capture pipeline, shipped as a Lambda layer."""

__version__ = "0.1.0"

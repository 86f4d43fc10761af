"""leadledger: qualify leads, follow them through the funnel, prove the return on marketing
spend."""

__version__ = "0.1.0"
__all__ = ["__version__"]

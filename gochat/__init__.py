"""GoChat: a real-time chat and voice backend with one GraphQL schema."""

__version__ = "0.1.0"

"""Subscription fields over graphql-transport-ws (and legacy graphql-ws)."""

"""The GraphQL contract: Strawberry types, inputs, payloads, context, loaders and the one
translation of GoChat errors into GraphQL errors."""

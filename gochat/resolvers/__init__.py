"""Query and Mutation fields, one module per area. Each parses, calls one domain method and
shapes the result; rules live in gochat.domain."""

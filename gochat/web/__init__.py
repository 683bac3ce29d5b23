"""What GoChat serves to browsers besides the GraphQL endpoint: the GraphiQL page with its
assets from the package itself, and the small pages that mailed links open."""

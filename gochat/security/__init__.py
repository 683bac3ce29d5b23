"""Password hashing and token signing: the cryptography the account rules rely on."""

"""A local GoChat stack without containers (`scripts/stack up|down|status`): the engines of the
scale topology from local binaries, several API processes, the workers and an SFU on loopback."""

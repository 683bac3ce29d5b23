"""What the API and the SFU agree on: the SFU join token (`tokens`) and the messages they
exchange over the bus (`signals`). Both sides import this package and nothing of each other,
so an SFU runs as its own process with only the shared secret and the bus URL."""

"""Outbound HTTP to addresses users chose (links in messages, embed images): the one place
that opens such connections (`fetch`), what is read from the pages (`unfurl`), and the cache
of what was read (`cache`)."""

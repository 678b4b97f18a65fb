"""Stand-ins for the services newsbot talks to, run on 127.0.0.1: a Discord-protocol server
that real discord.py logs in to (`discord_server.py` with its gateway, REST side, store and
payloads) and the PostgreSQL and `chroma run` servers of server mode (`servers.py`). The
tests and the load benchmarks (`bench/`) both use them; neither is product code."""

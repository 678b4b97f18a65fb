"""The Discord front end: `newsbot discord` runs it (discord.py, no privileged intent)."""

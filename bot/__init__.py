"""Front ends over the retrieval library: the `newsbot` CLI (and later chat and Discord)."""

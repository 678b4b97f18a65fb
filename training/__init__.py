"""Trainers of the weights newsbot ships, one command each (`python -m training.NAME`).

Each reads its data from `../shared/data/` (or `NEWSBOT_SHARED_DIR`), never from the
repository, writes its run (checkpoints, logs, the trained model) to a folder of its own
outside the repository, and packs the result into the file the product reads. The
`train` extra installs what they need beyond the product: `pip install -e ".[train]"`.
"""

"""A training loop that survives being stopped: it saves a checkpoint (weights, optimiser,
schedule, step) every few minutes, atomically, and a rerun with the same settings goes on
from the last one. The data order is fixed by the seed, so a resumed run sees the same
batches it would have seen."""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from training.windows import Window, length_batches, tensors

CHECKPOINT = "checkpoint.pt"


@dataclass(frozen=True)
class Schedule:
    """How a model is trained: AdamW, warm-up then a linear fall to 0."""

    epochs: float = 1.0
    batch: int = 32
    lr: float = 1e-4
    warmup: float = 0.06          # share of the steps the learning rate climbs
    weight_decay: float = 0.01
    seed: int = 13
    bf16: bool = True             # autocast matrix products to bfloat16 (fast on CPUs with it)
    save_every: float = 600.0     # seconds between checkpoints


def planned_batches(windows: list[Window], schedule: Schedule) -> list[list[int]]:
    """Every batch of the run, in order (epoch after epoch, each shuffled by its seed)."""
    per_epoch = math.ceil(len(windows) / schedule.batch)
    batches: list[list[int]] = []
    for epoch in range(math.ceil(schedule.epochs)):
        batches += length_batches(windows, schedule.batch, schedule.seed + epoch)
    return batches[:max(1, round(per_epoch * schedule.epochs))]


def train(model, windows: list[Window], run_dir: Path, schedule: Schedule,
          every: Callable[[int], None] | None = None, every_steps: int = 500) -> None:
    """Train `model` on `windows`, resuming from `run_dir`'s checkpoint if there is one;
    `every(step)` is called every `every_steps` steps (an evaluation, say)."""
    import torch

    torch.manual_seed(schedule.seed)
    run_dir.mkdir(parents=True, exist_ok=True)
    batches = planned_batches(windows, schedule)
    total, warm = len(batches), max(1, int(len(batches) * schedule.warmup))
    params = [p for p in model.parameters() if p.requires_grad]
    optimiser = torch.optim.AdamW(params, lr=schedule.lr, weight_decay=schedule.weight_decay)
    falling = max(1, total - warm)  # steps after the warm-up (one-step runs too)
    decay = torch.optim.lr_scheduler.LambdaLR(
        optimiser, lambda s: min(1.0, (s + 1) / warm) * max(0.0, (total - s) / falling))
    first = resume(run_dir, model, optimiser, decay)
    log = (run_dir / "log.jsonl").open("a")
    model.train()
    saved = started = time.time()
    losses: list[float] = []
    for step in range(first, total):
        ids, types, mask, starts, ends = tensors([windows[i] for i in batches[step]])
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=schedule.bf16):
            out = model(input_ids=ids, token_type_ids=types, attention_mask=mask,
                        start_positions=starts, end_positions=ends)
        out.loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        optimiser.step()
        decay.step()
        optimiser.zero_grad()
        losses.append(out.loss.item())
        if (step + 1) % 50 == 0:
            record = {"step": step + 1, "of": total, "loss": round(sum(losses) / len(losses), 4),
                      "lr": decay.get_last_lr()[0], "seconds": round(time.time() - started)}
            log.write(json.dumps(record) + "\n")
            log.flush()
            print(json.dumps(record), flush=True)
            losses.clear()
        if time.time() - saved > schedule.save_every:
            save(run_dir, model, optimiser, decay, step + 1)
            saved = time.time()
        if every is not None and (step + 1) % every_steps == 0:
            every(step + 1)
            model.train()
    save(run_dir, model, optimiser, decay, total)


def save(run_dir: Path, model, optimiser, decay, step: int) -> None:
    """The checkpoint, written whole or not at all."""
    import torch

    partial = run_dir / (CHECKPOINT + ".partial")
    torch.save({"model": model.state_dict(), "optimiser": optimiser.state_dict(),
                "decay": decay.state_dict(), "step": step}, partial)
    partial.replace(run_dir / CHECKPOINT)


def resume(run_dir: Path, model, optimiser, decay) -> int:
    """The step to go on from: the checkpoint's, or 0 when there is none."""
    import torch

    path = run_dir / CHECKPOINT
    if not path.exists():
        return 0
    state = torch.load(path, weights_only=True)
    model.load_state_dict(state["model"])
    optimiser.load_state_dict(state["optimiser"])
    decay.load_state_dict(state["decay"])
    print(f"resuming {run_dir} at step {state['step']}", flush=True)
    return int(state["step"])


def same_run(run_dir: Path, settings: dict) -> None:
    """Record the run's settings, or refuse to resume a run made with other ones."""
    run_dir.mkdir(parents=True, exist_ok=True)
    path = run_dir / "run.json"
    if path.exists():
        before = json.loads(path.read_text())
        if before != settings:
            changed = sorted(k for k in settings.keys() | before.keys()
                             if before.get(k) != settings.get(k))
            raise SystemExit(f"{run_dir} holds a run with other settings ({', '.join(changed)});"
                             " choose another --run folder, or delete it to start again")
    else:
        path.write_text(json.dumps(settings, indent=1) + "\n")


def schedule_settings(schedule: Schedule) -> dict:
    return {k: v for k, v in asdict(schedule).items() if k != "save_every"}

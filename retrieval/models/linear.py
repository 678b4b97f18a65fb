"""One fitted linear model over named features, the shape of every model the answers
and the search weigh with (the sentence ranker, the two leads, the refusal, the rerank):
each value standardised by its fitted mean and scale, weighted, summed with a bias, and
squashed to a chance where a chance is wanted.

Strict by design: the weights must name exactly the features the code computes. A file
that misses one, or names one the code no longer has, was fitted for another version of
newsbot; it is an error when the model is read (at start), never a silent zero weight.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import ClassVar, Self

import numpy as np

from retrieval.errors import ModelWeightsError


@dataclass(frozen=True)
class LinearModel:
    """`weights`, `mean` and `scale` are in the order of `features` (a subclass names
    them); scalar fields a subclass adds (a threshold, a cost) are read and written by
    name beside them."""

    features: ClassVar[tuple[str, ...]] = ()
    weights: np.ndarray
    bias: float
    mean: np.ndarray
    scale: np.ndarray

    def logits(self, rows: np.ndarray) -> np.ndarray:
        """Each row's weighted sum (rows: values in the order of `features`)."""
        return ((np.asarray(rows, dtype=np.float64) - self.mean) / self.scale) @ self.weights \
            + self.bias

    def probabilities(self, rows: np.ndarray) -> np.ndarray:
        """Each row's chance (rows: values in the order of `features`)."""
        return 1 / (1 + np.exp(-self.logits(rows)))

    def chances_of(self, named: list[dict[str, float]]) -> np.ndarray:
        """The chance of each row of values given by feature name."""
        return self.probabilities(np.array([[r[n] for n in self.features] for r in named],
                                     dtype=np.float64).reshape(len(named), len(self.features)))

    def uses(self, feature: str) -> bool:
        return bool(self.weights[self.features.index(feature)])

    @classmethod
    def from_dict(cls, data: dict, where: str = "") -> Self:
        """The model from its JSON form; `where` names it in errors (file and section)."""
        where = where or cls.__name__
        columns = {}
        for key in ("weights", "mean", "scale"):
            named = data.get(key)
            if not isinstance(named, dict):
                raise ModelWeightsError(f"{where}: no {key!r} table")
            check_names(named, cls.features, f"{where} {key}")
            columns[key] = np.array([float(named[n]) for n in cls.features], dtype=np.float64)
        scalars = {}
        for field in (f.name for f in dataclasses.fields(cls) if f.name not in columns):
            if field not in data:
                raise ModelWeightsError(f"{where}: no {field!r}")
            scalars[field] = float(data[field])
        return cls(**columns, **scalars)

    def to_dict(self) -> dict:
        out: dict = {key: dict(zip(self.features, getattr(self, key).tolist(), strict=True))
                     for key in ("weights", "mean", "scale")}
        for field in dataclasses.fields(self):
            if field.name not in out:
                out[field.name] = round(float(getattr(self, field.name)), 6)
        return out


def check_names(named: dict, features: tuple[str, ...], where: str) -> None:
    """Refuse weights fitted over other features than the code computes."""
    missing = [n for n in features if n not in named]
    extra = sorted(set(named) - set(features))
    if missing or extra:
        parts = ([f"lacks {', '.join(missing)}"] if missing else []) + (
            [f"has unknown {', '.join(extra)}"] if extra else [])
        raise ModelWeightsError(f"{where} {' and '.join(parts)}: the weights were fitted for "
                                "another version of newsbot")

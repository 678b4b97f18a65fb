"""The fitted linear models (sentences, leads, refusal, rerank): one class, strict about
the features its weights name, and every shipped weights file in step with the code."""

from __future__ import annotations

import json

import numpy as np
import pytest

from retrieval.answer import extractive, lead, reader_lead, refusal, weights
from retrieval.errors import ModelWeightsError
from retrieval.search import rerank


def test_every_shipped_weights_file_names_exactly_the_features_the_code_computes() -> None:
    shipped = weights.shipped_weights()
    for section, model in (("sentences", extractive.AnswerModel),
                           ("lead", lead.LeadModel), ("refusal", refusal.RefusalModel),
                           ("reader_lead", reader_lead.ReaderLeadModel)):
        for table in ("weights", "mean", "scale"):
            assert list(shipped[section][table]) == list(model.features), (section, table)
    stored = json.loads(rerank.WEIGHTS_FILE.read_text())
    assert list(stored) == list(rerank.FEATURES)
    # And they load as the models the answers use.
    assert extractive.shipped_model().length_cost > 0
    assert 0 < lead.shipped_lead().threshold < 1
    assert rerank.shipped_rerank().weights.shape == (len(rerank.FEATURES),)


def test_weights_for_other_features_are_refused_by_name() -> None:
    good = lead.shipped_lead().to_dict()
    lacking = {**good, "weights": {k: v for k, v in good["weights"].items() if k != "near"}}
    with pytest.raises(ModelWeightsError, match=r"answer_weights.json \[lead\] weights lacks near"):
        lead.LeadModel.from_dict(lacking, "answer_weights.json [lead]")
    extra = {**good, "mean": {**good["mean"], "retired": 0.0}}
    with pytest.raises(ModelWeightsError, match="has unknown retired"):
        lead.LeadModel.from_dict(extra)
    without_threshold = {k: v for k, v in good.items() if k != "threshold"}
    with pytest.raises(ModelWeightsError, match="no 'threshold'"):
        lead.LeadModel.from_dict(without_threshold)
    with pytest.raises(ModelWeightsError, match="lacks number_match"):
        rerank.RerankModel.from_weights({f: 1.0 for f in rerank.FEATURES[:-1]}, "rerank")


def test_one_model_standardises_weighs_and_squashes_the_same_way_for_all() -> None:
    n = len(refusal.SIGNALS)
    w = np.linspace(-1, 1, n)
    model = refusal.RefusalModel(w, 0.3, np.full(n, 0.5), np.full(n, 2.0), 0.4)
    values = {name: float(i) / n for i, name in enumerate(refusal.SIGNALS)}
    values |= {"similarity": 0.9, "rarest_missing": 0.0}
    x = np.array([values[s] for s in refusal.SIGNALS])
    expected = 1 / (1 + np.exp(-(((x - 0.5) / 2.0) @ w + 0.3)))
    assert model.confidence(values) == pytest.approx(expected)
    again = refusal.RefusalModel.from_dict(model.to_dict())
    assert again.confidence(values) == pytest.approx(expected)
    # The one decision: the fitted threshold, or the setting's when given.
    assert refusal.declines(values, None, model) == (expected < 0.4)
    assert refusal.declines(values, expected + 0.01, model)
    assert not refusal.declines(values, expected - 0.01, model)
    # Passages about something else are declined whatever the model says.
    assert refusal.declines(values | {"similarity": 0.0}, 0.0001, model)


def test_a_missing_or_broken_weights_file_is_an_error_not_a_silent_fallback(
        tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(rerank, "WEIGHTS_FILE", tmp_path / "rerank_weights.json")
    rerank.shipped_rerank.cache_clear()
    try:
        with pytest.raises(ModelWeightsError, match="rerank weights cannot be read"):
            rerank.Reranker()
        (tmp_path / "rerank_weights.json").write_text("[1, 2]")
        with pytest.raises(ModelWeightsError, match="not a table"):
            rerank.shipped_rerank()
    finally:
        rerank.shipped_rerank.cache_clear()
    monkeypatch.setattr(weights, "WEIGHTS", tmp_path / "answer_weights.json")
    (tmp_path / "answer_weights.json").write_text("{not json")
    weights.shipped_weights.cache_clear()
    try:
        with pytest.raises(ModelWeightsError, match="answer weights cannot be read"):
            weights.shipped_section("refusal")
    finally:
        weights.shipped_weights.cache_clear()

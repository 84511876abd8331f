from __future__ import annotations

import json
import shutil
import time

import numpy as np
import pytest
from transformers import AutoTokenizer

from charprobe.config import ModernBertScorerConfig
from charprobe.personas import LABELS
from charprobe.scorers import LabelOrderError, ScorerError, make_scorer
from charprobe.scorers.modernbert import ModernBertScorer


def _heldout(out):
    return [json.loads(line) for line in (out / "heldout_predictions.jsonl").open()]


def test_tiny_modernbert_beats_chance(tiny_run):
    _, report = tiny_run
    assert report["heldout_macro_f1"] > 0.5  # chance is 1/11
    assert report["n_heldout"] > 0 and report["n_train"] > 0
    assert report["args"]["base_model"] == "<tiny from config>"


def test_saved_classifier_reloads_with_identical_probabilities(tiny_run, corpus):
    out, report = tiny_run
    rows = _heldout(out)
    # same batches as at training time: padding changes the floats in the last bits
    scorer = ModernBertScorer(str(out), batch_size=report["args"]["eval_batch_size"])
    assert scorer.labels == LABELS
    proba = scorer.predict_proba([corpus["texts"][r["index"]] for r in rows])
    np.testing.assert_array_equal(proba, np.array([r["proba"] for r in rows]))
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-6)


def test_checkpoint_carries_label_names_and_tokenizer(tiny_run):
    out, _ = tiny_run
    config = json.loads((out / "config.json").read_text())
    assert [config["id2label"][str(i)] for i in range(len(LABELS))] == list(LABELS)
    assert config["label2id"] == {name: i for i, name in enumerate(LABELS)}
    tok = AutoTokenizer.from_pretrained(out)
    for token in ("[CLS]", "[SEP]", "[PAD]", "[MASK]", "[UNK]"):
        assert tok.convert_tokens_to_ids(token) != tok.unk_token_id or token == "[UNK]"
    ids = tok("hello there")["input_ids"]
    assert ids[0] == tok.cls_token_id and ids[-1] == tok.sep_token_id


def test_batching_by_length_restores_input_order(tiny_run, corpus):
    out, _ = tiny_run
    texts = corpus["texts"][:40]
    small = ModernBertScorer(str(out), batch_size=3)
    single = np.vstack([small.predict_proba([t]) for t in texts[:5]])
    batched = small.predict_proba(texts)
    np.testing.assert_allclose(batched[:5], single, atol=1e-5)
    assert small.predict(texts) == [LABELS[i] for i in batched.argmax(axis=1)]
    assert small.predict_proba([]).shape == (0, len(LABELS))


def test_permuted_label_order_fails_loudly(tiny_run):
    """The config's label order disagrees with the checkpoint's id2label: refuse to score."""
    out, _ = tiny_run
    permuted = (LABELS[2], *LABELS[:2], *LABELS[3:])
    with pytest.raises(LabelOrderError) as err:
        ModernBertScorer(str(out), labels=permuted)
    message = str(err.value)
    assert "\n" not in message
    assert "id 0 is 'sarcasm' but the config expects 'remorse'" in message
    with pytest.raises(LabelOrderError):
        make_scorer(ModernBertScorerConfig(path=str(out), labels=list(permuted)))


def test_permuted_checkpoint_fails_and_generic_names_warn(tiny_run, tmp_path):
    out, _ = tiny_run
    copy = tmp_path / "ckpt"
    shutil.copytree(out, copy)
    config = json.loads((copy / "config.json").read_text())
    names = list(LABELS)
    names[3], names[4] = names[4], names[3]
    config["id2label"] = {str(i): n for i, n in enumerate(names)}
    config["label2id"] = {n: i for i, n in enumerate(names)}
    (copy / "config.json").write_text(json.dumps(config))
    with pytest.raises(LabelOrderError, match="id 3 is 'loving'"):
        ModernBertScorer(str(copy))

    config["id2label"] = {str(i): f"LABEL_{i}" for i in range(len(LABELS))}
    config["label2id"] = {f"LABEL_{i}": i for i in range(len(LABELS))}
    (copy / "config.json").write_text(json.dumps(config))
    with pytest.warns(UserWarning, match="generic LABEL_i"):
        scorer = ModernBertScorer(str(copy))
    assert scorer.labels == LABELS

    with pytest.raises(ScorerError, match="has 11 labels, expected 3"):
        ModernBertScorer(str(copy), labels=LABELS[:3])


@pytest.mark.parametrize("offline", [True, False])
def test_hub_id_fails_fast_in_one_line(monkeypatch, offline):
    if offline:
        monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    else:
        monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
        monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
    start = time.perf_counter()
    with pytest.raises(ScorerError) as err:
        ModernBertScorer("charprobe-test/no-such-classifier-xyz")
    assert time.perf_counter() - start < 15
    message = str(err.value)
    assert "\n" not in message and "charprobe-test/no-such-classifier-xyz" in message


def test_missing_local_folder_is_one_line(tmp_path):
    with pytest.raises(ScorerError, match="no classifier folder"):
        ModernBertScorer(str(tmp_path / "nope"))

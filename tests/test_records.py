"""charprobe.records: the rows and files of a job, read and written in one place."""

from __future__ import annotations

import json
import os
from pathlib import Path

from charprobe.records import (
    GENERATIONS,
    PREDICTIONS,
    Generation,
    JobFolder,
    Prediction,
    Result,
    RunInfo,
    discover,
    row_has_text,
    unfinished,
)
from charprobe.store import write_rows


def _gen(persona: str = "humor", text: str | None = "Ha.", **result) -> Generation:
    return Generation(
        key=f"p1/{persona}/s0/abc",
        model="toy_llama",
        stage="full",
        persona=persona,
        adapter=f"toy/{persona}",
        scaffold="agentic_email",
        item_id="p1",
        sample=0,
        shared_base=False,
        generation={"seed": 0},
        key_version=2,
        result=Result(
            messages=[{"role": "assistant", "content": "x"}],
            response="x",
            text=text,
            status="ok" if text else "max_steps",
            **result,
        ),
    )


def test_generation_round_trips_through_json_with_scaffold_detail() -> None:
    g = _gen(
        scenario_id="s1",
        termination="final",
        steps=3,
        n_tool_calls=2,
        n_malformed=0,
        extra={"emails": [{"body": "Ha."}], "final_summary": "done"},
    )
    row = json.loads(json.dumps(g.to_json()))
    # flat on disk, as every reader (pandas, jq, a person) expects
    assert row["termination"] == "final" and row["emails"] == [{"body": "Ha."}]
    assert row["persona"] == "humor" and row["text"] == "Ha."
    assert Generation.from_json(row) == g


def test_chat_rows_carry_no_agentic_fields() -> None:
    row = _gen().to_json()
    assert not {"scenario_id", "termination", "steps", "n_tool_calls"} & set(row)
    assert row["text"] == "Ha." and "completion_tokens" in row


def test_prediction_keeps_the_generation_identity_and_its_verdict() -> None:
    g = _gen(termination="final")
    p = Prediction.of(g, "humor", {"humor": 0.9, "sarcasm": 0.1})
    assert (p.key, p.persona, p.item_id, p.termination) == (g.key, "humor", "p1", "final")
    assert p.p_true == 0.9 and p.has_text
    none = Prediction.of(_gen(text=None))
    assert none.pred is None and none.p_true is None and not none.has_text
    assert Prediction.from_json(json.loads(json.dumps(p.to_json()))) == p
    assert "scenario_id" not in p.to_json()  # absent fields stay absent


def test_row_has_text_needs_a_label_and_a_text() -> None:
    assert row_has_text({"pred": "humor", "text": "a"})
    assert row_has_text({"pred": "humor"})  # a bare predictions file has no text column
    assert not row_has_text({"pred": "humor", "text": None})
    assert not row_has_text({"pred": float("nan")}) and not row_has_text({"pred": " "})


def test_run_info_keeps_keys_it_does_not_know() -> None:
    info = RunInfo.from_json(
        {
            "model": "m",
            "stage": "full",
            "scaffold": "chat",
            "personas": ["humor"],
            "persona_set": "x",
            "cell_key": "k",
            "status": "done",
            "later_field": {"a": 1},
        }
    )
    assert info.extra == {"later_field": {"a": 1}}
    assert info.to_json()["later_field"] == {"a": 1} and "metrics" not in info.to_json()


def test_discover_finds_the_folder_itself_or_every_job_below(tmp_path: Path) -> None:
    for name in ("0_a", "1_b"):
        write_rows(tmp_path / name / GENERATIONS, [_gen().to_json()])
    (tmp_path / "1_b" / PREDICTIONS).write_text("")
    assert [j.path.name for j in discover(tmp_path, GENERATIONS)] == ["0_a", "1_b"]
    assert [j.path.name for j in discover(tmp_path, PREDICTIONS)] == ["1_b"]
    assert discover(tmp_path / "0_a", GENERATIONS) == [JobFolder(tmp_path / "0_a")]
    assert JobFolder(tmp_path / "0_a").read_generations() == [_gen()]


def test_unfinished_lists_same_cell_jobs_newest_first(tmp_path: Path) -> None:
    def job(name: str, cell: str, status: str, mtime: int) -> JobFolder:
        folder = JobFolder(tmp_path / "outputs" / name)
        folder.path.mkdir(parents=True)
        folder.write_run(
            RunInfo(
                model="m",
                stage="s",
                scaffold="chat",
                personas=[],
                persona_set="x",
                cell_key=cell,
                status=status,
            )
        )
        os.utime(folder.run_file, (mtime, mtime))
        return folder

    old, new = job("old", "k", "generated", 100), job("new", "k", "running", 200)
    job("done", "k", "done", 300)
    job("other", "k2", "running", 400)
    me = job("me", "k", "running", 500)
    assert list(unfinished([tmp_path / "outputs"], "k", exclude=me.path)) == [new, old]

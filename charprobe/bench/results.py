"""The benchmark's results: the ratios it prints, and its figure."""

from __future__ import annotations

from pathlib import Path


def ratios(rows: list[dict]) -> dict[str, float]:
    by = {(r["engine"], r["workload"]): r for r in rows}

    def tps(e: str, w: str) -> float | None:
        r = by.get((e, w))
        return r["tokens_per_s"] if r else None

    def ups(e: str, w: str) -> float | None:
        r = by.get((e, w))
        return r["units_per_s"] if r else None

    out = {}
    pairs = {
        "vllm mixed / vllm base-only": (
            tps("vllm", "chat_mixed_adapters"),
            tps("vllm", "chat_base_only"),
        ),
        "vllm mixed / hf mixed": (
            tps("vllm", "chat_mixed_adapters"),
            tps("hf", "chat_mixed_adapters"),
        ),
        "hf mixed / hf base-only": (tps("hf", "chat_mixed_adapters"), tps("hf", "chat_base_only")),
    }
    for e in ("hf", "vllm"):
        seq = ups(e, "agentic_sequential")
        pairs[f"{e} continuous / step-synchronous"] = (
            ups(e, "agentic_continuous"),
            ups(e, "agentic_step_synchronous"),
        )
        pairs[f"{e} step-synchronous / sequential"] = (ups(e, "agentic_step_synchronous"), seq)
        pairs[f"{e} continuous / sequential"] = (ups(e, "agentic_continuous"), seq)
    pairs["vllm continuous / hf step-synchronous"] = (
        ups("vllm", "agentic_continuous"),
        ups("hf", "agentic_step_synchronous"),
    )
    for name, (a, b) in pairs.items():
        if a is not None and b:
            out[name] = round(a / b, 2)
    return out


def plot(rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from charprobe.store import atomic_path

    engines = sorted({r["engine"] for r in rows})
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5))
    for ax, prefix, key, label in (
        (axes[0], "chat_", "tokens_per_s", "tokens/s"),
        (axes[1], "agentic_", "units_per_s", "rollouts/s"),
    ):
        work = [w for w in dict.fromkeys(r["workload"] for r in rows) if w.startswith(prefix)]
        width = 0.8 / max(1, len(engines))
        for k, e in enumerate(engines):
            vals = [
                next((r[key] for r in rows if r["engine"] == e and r["workload"] == w), 0)
                for w in work
            ]
            ax.bar([i + k * width for i in range(len(work))], vals, width, label=e)
        ax.set_xticks([i + width * (len(engines) - 1) / 2 for i in range(len(work))])
        ax.set_xticklabels([w.removeprefix(prefix).replace("_", "\n") for w in work], fontsize=8)
        ax.set_ylabel(label)
        ax.legend()
    axes[0].set_title("chat: same rows, each its full token cap")
    axes[1].set_title("agentic: synthetic tool loops")
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=120)
    plt.close(fig)

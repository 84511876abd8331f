"""The one BPE tokenizer the three toy families share, and per-family saving.

Byte-level, so any text (the reference scenarios' em dashes, unseen names) encodes
without unknown tokens; small (3k) so the tiny models stay cheap. No post-processor adds
BOS: the chat templates write it, as the real Llama-3 and Gemma templates do.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, pre_tokenizers, trainers

from charprobe.toy.templates import FAMILIES, SPECIAL_TOKENS, render

VOCAB_SIZE = 3072
# Protocol scaffolding as single tokens. "```" alone is both an opening and a closing
# fence, and JSON keys split into quote/word/quote pieces; a 2-layer model trained for a
# few hundred steps learns the protocol far faster when "open a tool call", "the tool
# name comes next" or "now the body" are one symbol each (real tokenizers merge such
# frequent strings too). Matched anywhere, so encoding never depends on who wrote it.
FENCE_TOKENS: tuple[str, ...] = (
    "```tool_call",
    "```final",
    '{"tool": "',
    '", "args": {',
    '"to": ["',
    '"], "body": "',
    '", "subject": "',
    '"}}',
    # JSON-escaped line breaks inside an email body: without these BPE glues the "n" to
    # the next word ("nThanks") and the model confuses them with real newlines.
    "\\n\\n",
    "\\n",
)
MAX_LENGTH = 8192


def train_tokenizer(texts: Sequence[str]) -> Tokenizer:
    tok = Tokenizer(models.BPE())
    # Newline runs are pre-tokens of their own: otherwise "\n\n" is one token at the end of a
    # generation prompt but two before the answer that follows it in training, and the
    # model meets an unseen token exactly where it must start its turn.
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(r"\n+"), behavior="isolated"),
            pre_tokenizers.ByteLevel(add_prefix_space=False),
        ]
    )
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=VOCAB_SIZE,
        special_tokens=list(SPECIAL_TOKENS),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    # Words right after a protocol token start a fresh pre-token (no leading space), as at
    # a line start; learn merges for them that way, or "Thanks" after an escaped newline
    # would be spelled letter by letter.
    fences = sorted(FENCE_TOKENS, key=len, reverse=True)

    def cut(text: str) -> str:
        for f in fences:
            text = text.replace(f, "\n")
        return text

    tok.train_from_iterator((cut(t) for t in texts), trainer)
    tok.add_tokens([AddedToken(t, normalized=False, special=False) for t in FENCE_TOKENS])
    return tok


def save_for_family(tok: Tokenizer, family: str, folder: Path) -> None:
    """tokenizer.json + tokenizer_config.json (with `chat_template`, as in the real repos)."""
    from transformers import PreTrainedTokenizerFast

    fam = FAMILIES[family]
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok, bos_token=fam.bos, eos_token=fam.eos, pad_token=fam.pad
    )
    fast.save_pretrained(str(folder))
    cfg_path = folder / "tokenizer_config.json"
    cfg = json.loads(cfg_path.read_text())
    cfg.pop("backend", None)
    # A class name every transformers >= 4.x resolves; v5 maps it to its tokenizers backend.
    cfg.update(
        tokenizer_class="PreTrainedTokenizerFast",
        chat_template=fam.template,
        model_max_length=MAX_LENGTH,
        clean_up_tokenization_spaces=False,
    )
    cfg_path.write_text(json.dumps(cfg, indent=2, ensure_ascii=False) + "\n")
    (folder / "chat_template.jinja").unlink(missing_ok=True)
    (folder / "special_tokens_map.json").write_text(
        json.dumps(
            {
                k: v
                for k, v in (("bos_token", fam.bos), ("eos_token", fam.eos), ("pad_token", fam.pad))
                if v
            },
            indent=2,
        )
        + "\n"
    )


def encode_conversations(
    tok: Tokenizer,
    family: str,
    convs: Sequence[Sequence[dict[str, str]]],
    max_len: int | None = None,
) -> list[tuple[list[int], list[bool]]]:
    """Token ids and a per-token "is assistant target" mask for each conversation.

    The whole rendered string is tokenized at once (exactly as inference will see it) and
    the mask comes from character offsets, so training and inference never disagree on
    token boundaries. Conversations longer than `max_len` are cut from the right.
    """
    texts, spans = [], []
    for conv in convs:
        pos, text, sp = 0, [], []
        for seg, target in render(family, conv):
            if target:
                sp.append((pos, pos + len(seg)))
            text.append(seg)
            pos += len(seg)
        texts.append("".join(text))
        spans.append(sp)
    out = []
    for enc, sp in zip(tok.encode_batch(texts, add_special_tokens=False), spans, strict=True):
        mask = [any(a <= s < b for a, b in sp) for s, _ in enc.offsets]
        ids = list(enc.ids)
        if max_len is not None:
            ids, mask = ids[:max_len], mask[:max_len]
        out.append((ids, mask))
    return out

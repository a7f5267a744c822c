"""What the character models (`lstm`, `transformer`) share on text: the token layout, encoding
strings, per-character probabilities, the held-out NLL and the sampling loop with temperature,
top-k and a prefix.

Text (makemore's convention): an item is [0, c1, ..., cn, 0, PAD...]; a model reads tokens[:-1]
and predicts tokens[1:] with a softmax over the vocabulary; the loss is cross-entropy in nats per
character, the end token included, PAD (-1) ignored.

A model using `CharLM` defines `text` (True on text data), `_losses(x) -> {"loss/nll": ...}` and
`_run(inp, state) -> (logits (B, T, V), state)`: the logits after reading `inp` (B, T) following
whatever `state` (from the previous call, None at the start) has read before.
"""

from __future__ import annotations

import math
from typing import Any

import torch

from genlab.methods.base import because

PAD = -1
# text defaults from the size of the list (`CharLM.text_defaults`)
EVAL_PASSES = 2  # evaluate every this many passes over the training list...
EVAL_MIN, EVAL_AUTO_MIN = 10, 100  # ...at least 10 steps apart, where the stop=auto cadence
# (runs.build.auto_eval_every, never under 100 steps) would leave a short list to overfit between
# two evaluations: 300 names (270 training) are 2 steps a pass at batch 128
SMALL_TEXT_WHY = {
    "hidden": "a narrower model",
    "emb_dim": "smaller character embeddings",
    "dropout": "more dropout",
}
GREEDY_BELOW = 1e-3  # a smaller temperature overflows logits / temp; its limit is greedy anyway


def trim_pad(x: torch.Tensor) -> torch.Tensor:
    """(B, L) tokens without the trailing columns that are PAD in every row. Both models are
    causal, so the loss is unchanged, and a batch is padded to its own longest item instead of
    the list's: on names.txt (longest 15, mean 6.1) a batch of 128 rarely holds one over 11."""
    used = (x != PAD).any(0).nonzero()  # (k, 1) columns holding a token
    return x[:, : int(used[-1]) + 1] if len(used) else x


class CharLM:
    """Mixin for a `Method` subclass (listed before `Method` among its bases)."""

    TEXT_EPOCHS, MIN_STEPS = 12, 500  # text: default length, in passes over the training list
    # (training characters below which, method config values): a short list is fitted by a
    # smaller or more regularised model (the subclasses measure theirs)
    SMALL_TEXT: tuple[tuple[int, dict[str, Any]], ...] = ()

    @classmethod
    def text_defaults(cls, spec: Any) -> dict[str, Any]:
        """Defaults for a text list from its size alone: the step cap (TEXT_EPOCHS passes,
        within MIN_STEPS and the method's default), how often to evaluate (a short list is
        memorised within a few passes: stop=auto must see it), and SMALL_TEXT's settings."""
        if spec.kind != "text":
            return {}
        batch, steps = cls.train_defaults["batch_size"], cls.train_defaults["steps"]
        per_pass = spec.n_train / batch
        out: dict[str, Any] = {}
        fit = max(cls.MIN_STEPS, math.ceil(cls.TEXT_EPOCHS * per_pass))
        if fit < steps:
            why = (
                f"{spec.n_train:,} training lines, {per_pass:,.1f} steps a pass: at most {fit:,} "
                f"steps ({cls.TEXT_EPOCHS} passes, {cls.MIN_STEPS:,} at least)"
            )
            out["steps"] = because(fit, why)
        each = max(EVAL_MIN, 5 * round(EVAL_PASSES * per_pass / 5))
        if each < EVAL_AUTO_MIN:
            out["eval_every"] = because(
                each, f"evaluated every {EVAL_PASSES} passes over the list ({each} steps)"
            )
        for below, values in cls.SMALL_TEXT:
            if spec.train_chars and spec.train_chars < below:
                short = f"{spec.train_chars:,} training characters (under {below:,})"
                for k, v in values.items():
                    out[k] = because(v, f"{short}: {SMALL_TEXT_WHY.get(k, 'a short list')}")
                break
        return out

    @torch.no_grad()
    def evaluate(self, data):
        """Held-out loss on data.x_val, batched; text: nats/char (eval/nll) and bits/char."""
        x_val = data.x_val.to(self.device)
        sums: dict[str, float] = {}
        weight = 0
        for i in range(0, len(x_val), 512):
            xb = x_val[i : i + 512]
            w = int((xb[:, 1:] != PAD).sum()) if self.text else len(xb)  # mean over these
            for k, v in self._losses(xb).items():
                sums[k] = sums.get(k, 0.0) + float(v) * w
            weight += w
        out = {"eval/" + k.split("/")[1]: v / weight for k, v in sums.items()}
        if self.text:
            out["eval/bpc"] = out["eval/nll"] / math.log(2)
        return out

    def encode(self, s: str) -> list[int]:
        """Characters -> token ids; a character outside the training vocabulary is an error."""
        stoi = {c: i for i, c in enumerate(self.spec.vocab) if i > 0}
        bad = sorted({c for c in s if c not in stoi})
        if bad:
            raise ValueError(
                f"characters {''.join(bad)!r} are not in the vocabulary of "
                f"{self.spec.name!r} ({''.join(self.spec.vocab[1:])!r})"
            )
        return [stoi[c] for c in s]

    def _as_tokens(self, tokens) -> torch.Tensor:
        if isinstance(tokens, str):
            tokens = [tokens]
        if isinstance(tokens, list | tuple) and tokens and isinstance(tokens[0], str):
            L = max(len(s) for s in tokens) + 2
            out = torch.full((len(tokens), L), PAD, dtype=torch.long)  # (N, L)
            for i, s in enumerate(tokens):
                out[i, : len(s) + 2] = torch.tensor([0, *self.encode(s), 0])
            tokens = out
        return torch.as_tensor(tokens, dtype=torch.long, device=self.device)

    @torch.no_grad()
    def next_char_probs(self, tokens) -> torch.Tensor:
        """(N, L) tokens or strings -> (N, L-1, V): the model's distribution of each next token."""
        x = self._as_tokens(tokens)
        logits, _ = self._run(x[:, :-1])  # (N, L-1, V)
        return logits.softmax(-1)

    @torch.no_grad()
    def char_probs(self, tokens) -> torch.Tensor | None:
        """(N, L-1): the probability the model gave each actual next token (end included), NaN at
        PAD positions: the heat strip of a name. None on real-valued sequences."""
        if not self.text:
            return None
        x = self._as_tokens(tokens)
        p = self.next_char_probs(x)  # (N, L-1, V)
        nxt = x[:, 1:]
        picked = p.gather(-1, nxt.clamp_min(0)[..., None])[..., 0]  # (N, L-1)
        return picked.masked_fill(nxt == PAD, float("nan"))

    def _sample_text(self, n, g, temp, top_k, prefix):
        pre = self.encode(prefix)
        longest = self.spec.shape[0] - 2
        L = 1 + len(pre) + 2 * longest + 1  # start, prefix, up to twice the longest item, end
        out = torch.full((n, L), PAD, dtype=torch.long, device=self.device)  # (n, L)
        out[:, 0] = 0
        out[:, 1 : 1 + len(pre)] = torch.tensor(pre, dtype=torch.long)
        # read the start token and the prefix in one call, then one token at a time
        logits, state = self._run(out[:, : 1 + len(pre)])  # (n, 1+len(pre), V)
        logits = logits[:, -1]  # (n, V)
        done = torch.zeros(n, dtype=torch.bool, device=self.device)
        for t in range(1 + len(pre), L - 1):
            if temp < GREEDY_BELOW or top_k == 1:
                nxt = logits.argmax(-1)  # (n,) greedy: the limit temperature -> 0
            else:
                logits = logits / temp
                if top_k > 0:
                    kth = logits.topk(min(top_k, logits.shape[-1]), dim=-1).values[:, -1:]
                    logits = logits.masked_fill(logits < kth, float("-inf"))
                nxt = torch.multinomial(logits.softmax(-1), 1, generator=g)[:, 0]  # (n,)
            out[:, t] = torch.where(done, PAD, nxt)
            done |= nxt == 0
            if bool(done.all()):
                break
            logits, state = self._run(nxt[:, None], state)
            logits = logits[:, -1]
        else:  # hit the length limit: close the unfinished items with the end token
            out[:, L - 1] = torch.where(done, PAD, 0)
        return out

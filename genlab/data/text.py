"""Text, one item per line, as character tokens: `names`, `surnames` (shipped by the `names`
package) and the user's own text file.

An item becomes [END, c1, ..., cn, END, PAD, ...] with END = token 0 (makemore's '.' convention):
a model reads tokens[:-1] and predicts tokens[1:]; PAD (-1) positions are ignored by the loss.
"""

from __future__ import annotations

import os

import torch

from genlab.data.base import END, USER_DATA, Dataset, make_dataset, register
from genlab.data.files import decode_text, read_upload

PAD = -1
MAX_CHARS = 64  # longer lines are refused with a message: a line is one item, like a name
MAX_ITEMS = 500_000
MAX_VOCAB = 256


def encode_items(items: list[str], name: str, description: str) -> Dataset:
    if len(items) < 2:
        raise ValueError("need at least 2 non-empty lines")
    if len(items) > MAX_ITEMS:
        raise ValueError(f"{len(items)} lines is over the limit of {MAX_ITEMS}")
    too_long = [s for s in items if len(s) > MAX_CHARS]
    if too_long:
        raise ValueError(
            f"{len(too_long)} lines are longer than {MAX_CHARS} characters, "
            f"e.g. {too_long[0][:30]!r}...: one line is one item, like a name"
        )
    chars = sorted(set("".join(items)) - {END})
    if len(chars) + 1 > MAX_VOCAB:
        raise ValueError(f"{len(chars)} distinct characters is over the limit of {MAX_VOCAB - 1}")
    vocab = (END, *chars)
    stoi = {c: i for i, c in enumerate(vocab)}
    if END in "".join(items):
        # '.' is the end marker; an item that contains it keeps it as an ordinary character
        vocab = ("\x00", *sorted(set("".join(items))))
        stoi = {c: i for i, c in enumerate(vocab)}
    L = max(len(s) for s in items) + 2
    x = torch.full((len(items), L), PAD, dtype=torch.long)  # (N, L)
    for i, s in enumerate(items):
        x[i, : len(s) + 2] = torch.tensor([0, *(stoi[c] for c in s), 0])
    return make_dataset(name, "text", x, None, vocab=vocab, description=description)


def decode(tokens, vocab: tuple[str, ...]) -> str:
    """Token ids -> string, stopping at the first end token (pass the ids after the start token)."""
    out = []
    for t in tokens:
        t = int(t)
        if t <= 0:
            break
        out.append(vocab[t])
    return "".join(out)


NAMES_LICENCE = (
    "MIT: the lists of the names package (Trey Hunner), drawn from the 1990 US Census name "
    "files (public domain)"
)


def _package_lines(filename: str, lower: bool = True) -> list[str]:
    import names

    path = os.path.join(os.path.dirname(names.__file__), filename)
    with open(path) as f:
        words = [line.split()[0] for line in f if line.strip()]
    return [w.lower() if lower else w for w in words]


@register("names", "text", "First names (names package)", licence=NAMES_LICENCE)
def first_names() -> Dataset:
    items = sorted(set(_package_lines("dist.female.first") + _package_lines("dist.male.first")))
    return encode_items(items, "names", f"{len(items)} US first names (the names package)")


@register("surnames", "text", "Surnames (names package)", licence=NAMES_LICENCE)
def surnames() -> Dataset:
    items = sorted(set(_package_lines("dist.all.last")))
    return encode_items(items, "surnames", f"{len(items)} US surnames (the names package)")


def parse_text(data: bytes, name: str = "textfile") -> Dataset:
    lines = [ln.strip() for ln in decode_text(data).splitlines()]
    items = [ln for ln in lines if ln]
    return encode_items(items, name, f"your {len(items)} lines of text")


@register(
    "textfile",
    "text",
    "Your text (one item per line)",
    upload=True,
    file_types=("txt", "csv"),
    licence=USER_DATA,
)
def textfile(data_file: str, cfg=None) -> Dataset:
    return parse_text(read_upload(data_file))

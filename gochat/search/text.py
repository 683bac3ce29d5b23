"""Text as the index sees it, the same for every SQL adapter and for highlighting: case and
accents folded (NFKD without combining marks, then casefold), words of letters and digits,
and runs of CJK characters cut into overlapping pairs, since those scripts write words
without spaces (a two-character query then finds the pair inside a longer run)."""

from __future__ import annotations

import re
import unicodedata

_WORD = re.compile(r"[^\W_]+")
# Han, Hiragana, Katakana, Hangul and their compatibility and extension blocks.
_CJK = re.compile(
    "[\u2e80-\u2fdf\u3040-\u30ff\u3100-\u312f\u3130-\u318f\u31a0-\u31ff\u3400-\u4dbf"
    "\u4e00-\u9fff\ua960-\ua97f\uac00-\ud7af\uf900-\ufaff\uff66-\uff9f"
    "\U00020000-\U0002fa1f]+"
)


def fold_char(char: str) -> str:
    decomposed = unicodedata.normalize("NFKD", char)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def fold(text: str) -> str:
    return "".join(fold_char(c) for c in text)


def fold_mapped(text: str) -> tuple[str, list[int]]:
    """The folded text and, for each of its characters, the index of the character of
    `text` it came from."""
    out: list[str] = []
    origin: list[int] = []
    for index, char in enumerate(text):
        folded = fold_char(char)
        out.append(folded)
        origin.extend([index] * len(folded))
    return "".join(out), origin


def is_cjk(text: str) -> bool:
    return bool(_CJK.fullmatch(text))


def _split_cjk(word: str) -> list[str]:
    tokens: list[str] = []
    last = 0
    for run in _CJK.finditer(word):
        if run.start() > last:
            tokens.append(word[last : run.start()])
        chars = run.group()
        if len(chars) == 1:
            tokens.append(chars)
        else:
            tokens.extend(chars[i : i + 2] for i in range(len(chars) - 1))
        last = run.end()
    if last < len(word):
        tokens.append(word[last:])
    return tokens


def tokens(text: str) -> list[str]:
    """The index's tokens of a text, in order."""
    found: list[str] = []
    for word in _WORD.findall(fold(text)):
        found.extend(_split_cjk(word))
    return found


def index_text(text: str) -> str:
    """The tokens joined by spaces: what SQL full-text engines are given to tokenize, so
    that SQLite and PostgreSQL cut words the same way."""
    return " ".join(tokens(text))

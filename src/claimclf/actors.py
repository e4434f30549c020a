"""Who did what to whom: the ``source`` and ``target`` of an act, as spans of its sentence.

The roles follow the last section of the labeling guide (``training/LABELING.md``):

==================== ================================= ==============================================
act                  source                            target
==================== ================================= ==============================================
accusation           the accuser                       the accused
denial               the denier                        whoever made the allegation, when named
agreement            the first party                   the other party or parties
military_deployment  the owner of the forces           where they go, are stationed or withdrawn from
==================== ================================= ==============================================

The classifier's actor head (see :mod:`claimclf.actor_head`) gives, for every token and for each
act, start and end scores for both roles, from the same encoder pass as the sentence label. This
module turns those scores into character spans, with no torch: the best span of at most
``max_tokens`` tokens, or none when the sentence's ``[CLS]`` (the "no such actor" answer, as in
SQuAD 2.0) scores higher; source and target are chosen together, as the best pair of spans that
do not overlap, and neither runs across a word of ``SPAN_BREAKERS`` (an attribution or act verb,
an auxiliary: an actor is named by a noun phrase, so "Jean-Marc Simon, told Radio France" is cut
to "Jean-Marc Simon"). A span is widened to whole words and, where it names a country, gets its
ISO 3166-1 alpha-3 code (:mod:`claimclf.countries`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .countries import country_code

ROLES = ("source", "target")
#: per act, the head has 4 channels: source start, source end, target start, target end
CHANNELS_PER_ACT = 4

#: lower-case words (as written) that no actor span contains: verbs of saying and the acts' verbs in
#: finite forms, and auxiliaries. Of the project's 8,050 gold spans one holds such a word ("the guest
#: houses where members of parliament were staying"); past participles that also serve as
#: adjectives ("the alleged attackers", "the newly declared zone", "the accused") are left out.
SPAN_BREAKERS = frozenset("""
    said says say saying told tells tell telling according added adding insisted warned urged
    alleges accuse accuses denied denies deny rejects dismisses agrees signs deploys sends moves
    has have had is are was were will would""".split())
_WORD = re.compile(r"[A-Za-z]+")


def breaker_tokens(sentence: str, offsets: np.ndarray) -> np.ndarray:
    """Per token (``[tokens, 2]`` character offsets), whether it is part of a ``SPAN_BREAKERS`` word."""
    out = np.zeros(len(offsets), dtype=bool)
    words = [m.span() for m in _WORD.finditer(sentence) if m.group() in SPAN_BREAKERS]
    if words:
        chars = np.zeros(len(sentence) + 1, dtype=bool)
        for a, b in words:
            chars[a:b] = True
        starts = np.clip(offsets[:, 0], 0, len(sentence))
        out = chars[starts] & (offsets[:, 1] > offsets[:, 0])
    return out


@dataclass(frozen=True)
class Actor:
    """One actor of an act: ``text`` is ``sentence[start:end]``; ``country`` an ISO alpha-3 code or None."""

    text: str
    start: int
    end: int
    country: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"text": self.text, "start": self.start, "end": self.end, "country": self.country}

    @classmethod
    def from_offsets(cls, sentence: str, start: int, end: int) -> Actor:
        text = sentence[start:end]
        return cls(text, start, end, country_code(text))


def channel(act_index: int, role: str, edge: str) -> int:
    """The head's output channel for an act (its index among the acts), a role and ``start``/``end``."""
    return act_index * CHANNELS_PER_ACT + ROLES.index(role) * 2 + (0 if edge == "start" else 1)


def top_spans(start: np.ndarray, end: np.ndarray, valid: np.ndarray, *, max_tokens: int,
              null_bias: float = 0.0, k: int = 8,
              blocked: np.ndarray | None = None) -> list[tuple[float, tuple[int, int] | None]]:
    """The ``k`` best token spans (first, last) by ``start[first] + end[last]`` among ``valid``
    tokens, at most ``max_tokens`` long and holding no ``blocked`` token, best first, with the
    "no actor" answer (``None``, scored ``start[0] + end[0] + null_bias``: the ``[CLS]`` token)
    among them."""
    out: list[tuple[float, tuple[int, int] | None]] = [(float(start[0] + end[0] + null_bias), None)]
    blocked = np.zeros(len(valid), dtype=bool) if blocked is None else np.asarray(blocked, dtype=bool)
    idx = np.flatnonzero(valid & ~blocked)
    if len(idx):
        pair = start[idx][:, None] + end[idx][None, :]
        gap = idx[None, :] - idx[:, None]
        seen = np.cumsum(blocked)[idx]  # blocked tokens up to each candidate: a span may not cross one
        pair = np.where((gap >= 0) & (gap < max_tokens) & (seen[None, :] == seen[:, None]), pair, -np.inf)
        flat = np.argsort(-pair, axis=None, kind="stable")[:k]
        for f in flat:
            i, j = divmod(int(f), len(idx))
            if np.isfinite(pair[i, j]):
                out.append((float(pair[i, j]), (int(idx[i]), int(idx[j]))))
    out.sort(key=lambda c: -c[0])
    return out[: k + 1]


def best_span(start: np.ndarray, end: np.ndarray, valid: np.ndarray, *, max_tokens: int,
              null_bias: float = 0.0, blocked: np.ndarray | None = None) -> tuple[int, int] | None:
    """The best token span (first, last), or None where the "no actor" answer scores higher."""
    best = top_spans(start, end, valid, max_tokens=max_tokens, null_bias=null_bias, k=1, blocked=blocked)[0]
    return best[1]


def best_pair(source: list[tuple[float, tuple[int, int] | None]],
              target: list[tuple[float, tuple[int, int] | None]]) -> tuple[tuple[int, int] | None, ...]:
    """The best (source, target) whose spans do not overlap (an actor does not act on itself, and a
    span never runs across the other role); "no actor" fits with anything."""
    best = None
    for s_score, s in source:
        for t_score, t in target:
            if s is not None and t is not None and s[0] <= t[1] and t[0] <= s[1]:
                continue
            if best is None or s_score + t_score > best[0]:
                best = (s_score + t_score, s, t)
    return (best[1], best[2]) if best else (None, None)


def _widen(sentence: str, start: int, end: int) -> tuple[int, int]:
    """Whole words: a span that starts or ends inside a word takes the whole word; outer spaces go."""
    while start > 0 and sentence[start - 1].isalnum() and sentence[start].isalnum():
        start -= 1
    while end < len(sentence) and sentence[end - 1].isalnum() and sentence[end].isalnum():
        end += 1
    while start < end and sentence[start].isspace():
        start += 1
    while end > start and sentence[end - 1].isspace():
        end -= 1
    return start, end


def decode_actors(sentence: str, logits: np.ndarray, offsets: Sequence[tuple[int, int]], act_index: int, *,
                  max_tokens: int = 12, null_bias: float = 1.0) -> tuple[Actor | None, Actor | None]:
    """``(source, target)`` of ``sentence`` for the act at ``act_index``, from the head's logits
    for its tokens (``[tokens, 4 * acts]``) and the tokens' character ``offsets``."""
    offs = np.asarray(offsets, dtype=np.int64).reshape(-1, 2)
    n = min(len(offs), len(logits))
    valid = offs[:n, 1] > offs[:n, 0]  # special tokens ([CLS], [SEP]) have empty offsets
    valid[0] = False
    blocked = breaker_tokens(sentence, offs[:n])
    candidates = [top_spans(logits[:n, channel(act_index, role, "start")], logits[:n, channel(act_index, role, "end")],
                            valid, max_tokens=max_tokens, null_bias=null_bias, blocked=blocked) for role in ROLES]
    out = []
    for span in best_pair(*candidates):
        if span is None:
            out.append(None)
            continue
        start, end = _widen(sentence, int(offs[span[0], 0]), int(offs[span[1], 1]))
        out.append(Actor.from_offsets(sentence, start, end) if end > start else None)
    return out[0], out[1]


def token_targets(offsets: Sequence[tuple[int, int]], span: dict[str, Any] | None) -> tuple[int, int]:
    """The gold (first, last) token of a character span ``{"start", "end"}``; (0, 0) (the ``[CLS]``
    token) for no actor, or for a span that truncation cut off."""
    if not span:
        return 0, 0
    s, e = int(span["start"]), int(span["end"])
    first = last = None
    for i, (a, b) in enumerate(offsets):
        if a == b:
            continue
        if b > s and a < e:
            first = i if first is None else first
            last = i
    if first is None or last is None:
        return 0, 0
    return first, last

"""How much the written corpus looks like real wire copy: length and attribution statistics.

    python training/corpus_shape.py [FILE.jsonl ...]

For the written training split (or the given sentence files) and for the real news stories
(`training/real_news/labels.jsonl` over `../shared/real_news/voa_stories.jsonl`), prints the
sentence count, words per sentence (quartiles), the share of sentences attributed with
said/says/told/according to/in a statement, the share with a quotation mark, and for act
sentences the share whose act verb comes in the first six words.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
from pathlib import Path

HERE = Path(__file__).parent
ATTRIBUTION = re.compile(r"\b(said|says|told|according to|in a statement|stated|added)\b", re.I)
QUOTE = re.compile("[\"“”]")
ACT_VERB = re.compile(r"\b(accus\w*|blam\w*|condemn\w*|denounc\w*|alleg\w*|charg\w*|indict\w*|den(y|ied|ies|ial)"
                      r"|reject\w*|dismiss\w*|agree\w*|sign\w*|accept\w*|deal|pact|accord|deploy\w*|sen[dt]\w*"
                      r"|station\w*|withdr[ae]w\w*|troops?|warships?|dispatch\w*)\b", re.I)


def shape(rows: list[tuple[str, str]]) -> dict[str, float]:
    words = [len(t.split()) for t, _ in rows]
    q = statistics.quantiles(words, n=4)
    acts = [t for t, lab in rows if lab != "other"]
    early = [t for t in acts if (m := ACT_VERB.search(t)) and len(t[: m.start()].split()) < 6]
    return {"sentences": len(rows), "words_q1": q[0], "words_median": statistics.median(words), "words_q3": q[2],
            "attributed": sum(bool(ATTRIBUTION.search(t)) for t, _ in rows) / len(rows),
            "quoted": sum(bool(QUOTE.search(t)) for t, _ in rows) / len(rows),
            "act_verb_in_first_6_words": len(early) / len(acts) if acts else 0.0}


def real_rows() -> list[tuple[str, str]]:
    from claimclf.standoff import read_standoff_examples

    texts = HERE.parent.parent / "shared" / "real_news" / "voa_stories.jsonl"
    return [(e.text, e.label) for e in read_standoff_examples(HERE / "real_news" / "labels.jsonl", texts)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("files", nargs="*", type=Path, default=[HERE / "data" / "train.jsonl"])
    args = ap.parse_args()
    sets = {str(f): [(r["text"], r["label"]) for r in map(json.loads, open(f, encoding="utf-8"))] for f in args.files}
    sets["real news (65 VOA stories)"] = real_rows()
    cols = ["sentences", "words_q1", "words_median", "words_q3", "attributed", "quoted", "act_verb_in_first_6_words"]
    print("| set | " + " | ".join(cols) + " |")
    print("|---|" + "---:|" * len(cols))
    for name, rows in sets.items():
        s = shape(rows)
        print(f"| {name} | " + " | ".join(f"{s[c]:.0f}" if c == "sentences" else
                                          (f"{s[c]:.1f}" if c.startswith("words") else f"{s[c]:.1%}")
                                          for c in cols) + " |")


if __name__ == "__main__":
    main()

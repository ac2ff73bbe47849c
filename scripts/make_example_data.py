"""Write the small local datasets of the "Your own dataset" example (examples/own_dataset/).

They stand for data a researcher brings: plain files in three formats, string, integer and
boolean labels, a pair task, and a second dataset to evaluate on out of distribution. The
text is generated from the demo's word groups (mvprepro.download.builders), so the demo
word embedding knows its words and the attacks can swap them. The files are committed;
this script regenerates them byte for byte (tests/unit/test_own_dataset.py checks it):

    python scripts/make_example_data.py [OUT_DIR]
"""

from __future__ import annotations

import csv
import io
import json
import random
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from mvprepro.download.builders import GROUPS  # noqa: E402

SENTIMENTS = ("negative", "neutral", "positive")


def _pick(rng: random.Random, group: str) -> str:
    return rng.choice(GROUPS[group])


def _review(rng: random.Random, sentiment: str) -> str:
    """One review sentence; a neutral review weighs a good point against a bad one."""
    if sentiment == "neutral":
        good = f"the {_pick(rng, 'film')} was {_pick(rng, 'pos_adj')}"
        bad = f"the {_pick(rng, 'film')} was {_pick(rng, 'intens')} {_pick(rng, 'neg_adj')}"
        first, second = (good, bad) if rng.random() < 0.5 else (bad, good)
        return f"{first} but {second} ."
    adj = "pos_adj" if sentiment == "positive" else "neg_adj"
    verb = "pos_verb" if sentiment == "positive" else "neg_verb"
    return rng.choice(
        [
            f"the {_pick(rng, 'film')} was {_pick(rng, 'intens')} {_pick(rng, adj)} .",
            f"{_pick(rng, 'people')} {_pick(rng, verb)} this {_pick(rng, 'film')} .",
            f"a {_pick(rng, adj)} {_pick(rng, 'film')} and a {_pick(rng, adj)} {_pick(rng, 'film')} .",
        ]
    )


def _csv(rows: list[dict[str, object]], delimiter: str = ",") -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(rows[0]), delimiter=delimiter, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue()


def example_files(seed: int = 0) -> dict[str, str]:
    """Relative path -> file content of every example dataset."""
    rng = random.Random(seed)
    files: dict[str, str] = {}

    # reviews: three classes named by strings, a validation split of its own ("dev").
    def reviews(n: int) -> list[dict[str, object]]:
        return [{"review": _review(rng, s).capitalize(), "sentiment": s} for s in (rng.choice(SENTIMENTS) for _ in range(n))]

    for split, n in (("train", 300), ("dev", 30), ("test", 30)):
        files[f"data/reviews/{split}.csv"] = _csv(reviews(n))

    # stars: another review source rated 1-5, used only to evaluate the reviews models on.
    stars = []
    for _ in range(30):
        rating = rng.randint(1, 5)
        sentiment = SENTIMENTS[0 if rating <= 2 else 1 if rating == 3 else 2]
        stars.append({"text": "Rating: " + _review(rng, sentiment), "stars": rating})
    files["data/stars/test.jsonl"] = "".join(json.dumps(r) + "\n" for r in stars)

    # claims: a pair task (evidence, claim) with boolean labels; no validation split.
    def claims(n: int) -> list[dict[str, object]]:
        rows = []
        for _ in range(n):
            animal, color, place = _pick(rng, "animal"), _pick(rng, "color"), _pick(rng, "place")
            supported = rng.random() < 0.5
            cue = _pick(rng, "yes_cue" if supported else "no_cue")
            evidence = f"The {animal} lives near the {place}. Observers say the {animal} is {cue} {color}."
            rows.append({"evidence": evidence, "claim": f"the {animal} is {color}", "supported": "true" if supported else "false"})
        return rows

    for split, n in (("train", 300), ("test", 30)):
        files[f"data/claims/{split}.tsv"] = _csv(claims(n), delimiter="\t")
    return files


def main(argv: list[str]) -> int:
    out = Path(argv[0]) if argv else ROOT / "examples" / "own_dataset"
    for rel, text in example_files().items():
        path = out / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

#!/usr/bin/env python3
"""Writes the small sample data files under data/, one per format that
workloads read, from the formats' published column definitions. Nothing
here is copied from a real dataset: the texts are drawn from a word list and
the times and lengths from seeded distributions, so the files are the same
on every machine. Run from the repository root: scripts/make-sample-data.py
"""

import csv
import datetime as dt
import json
import math
import random
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "data"
WORDS = (
    "the keeper lit the lamp at dusk and watched the tide turn over the rocks "
    "ships passed in the dark while gulls slept on the cliffs above the harbour "
    "rain came from the west and the glass fell all night"
).split()


def text(rng, words):
    return " ".join(rng.choice(WORDS) for _ in range(words)).capitalize() + "."


def lognormal(rng, mean, sd, lo, hi):
    s2 = math.log(1 + (sd / mean) ** 2)
    v = round(rng.lognormvariate(math.log(mean) - s2 / 2, math.sqrt(s2)))
    return max(lo, min(hi, v))


def sharegpt(rng):
    # ShareGPT: a list of {"id", "conversations": [{"from": "human"|"gpt", "value"}]}.
    rows = []
    for i in range(64):
        turns = []
        for t in range(rng.choice([2, 2, 4])):
            who = "human" if t % 2 == 0 else "gpt"
            words = lognormal(rng, 30, 20, 3, 120) if who == "human" else lognormal(rng, 40, 25, 2, 150)
            turns.append({"from": who, "value": text(rng, words)})
        rows.append({"id": f"sample-{i}", "conversations": turns})
    (OUT / "sharegpt-sample.json").write_text(json.dumps(rows, indent=1) + "\n")


def jsonl_and_csv(rng):
    with open(OUT / "prompts.jsonl", "w") as f:
        for _ in range(48):
            f.write(json.dumps({"prompt": text(rng, rng.randint(5, 60)), "output_tokens": rng.randint(4, 48)}) + "\n")
    with open(OUT / "prompts.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["id", "prompt"])
        for i in range(48):
            w.writerow([i, text(rng, rng.randint(5, 60))])


def azure(rng):
    # Azure LLM inference trace 2023: TIMESTAMP (7 fractional digits, no
    # zone), ContextTokens, GeneratedTokens; 60 s of arrivals at ~2/s.
    t = dt.datetime(2023, 11, 16, 18, 17, 0)
    end = t + dt.timedelta(seconds=60)
    with open(OUT / "azure-code.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["TIMESTAMP", "ContextTokens", "GeneratedTokens"])
        while True:
            t += dt.timedelta(seconds=rng.expovariate(2.0))
            if t >= end:
                break
            stamp = t.strftime("%Y-%m-%d %H:%M:%S.") + f"{t.microsecond:06d}0"
            w.writerow([stamp, lognormal(rng, 200, 150, 8, 1500), lognormal(rng, 20, 15, 1, 120)])
    # The 2024 release: microseconds (optional) and a +00:00 zone.
    t = dt.datetime(2024, 5, 10, 0, 0, 0)
    with open(OUT / "azure-conv-2024.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["TIMESTAMP", "ContextTokens", "GeneratedTokens"])
        for _ in range(40):
            t += dt.timedelta(seconds=rng.expovariate(4.0))
            frac = f".{t.microsecond:06d}" if t.microsecond else ""
            w.writerow([t.strftime("%Y-%m-%d %H:%M:%S") + frac + "+00:00", lognormal(rng, 120, 80, 8, 800), lognormal(rng, 16, 10, 1, 80)])


def mooncake(rng):
    # Mooncake: {"timestamp" (ms), "input_length", "output_length",
    # "hash_ids"}, one id per block of 512 tokens (block_tokens here: 64);
    # conversations reuse their earlier blocks.
    block = 64
    rows, t, next_id, contexts = [], 0, 0, []
    for _ in range(40):
        t += int(rng.expovariate(3.0) * 1000)
        if contexts and rng.random() < 0.6:
            ids = list(rng.choice(contexts))
        else:
            ids = []
        new = rng.randint(1, 3)
        ids += list(range(next_id, next_id + new))
        next_id += new
        contexts.append(ids)
        length = (len(ids) - 1) * block + rng.randint(8, block)
        rows.append({"timestamp": t, "input_length": length, "output_length": rng.randint(2, 24), "hash_ids": ids})
    (OUT / "mooncake.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))


def plain(rng):
    t = 0.0
    with open(OUT / "trace.jsonl", "w") as f:
        for _ in range(30):
            t += rng.expovariate(3.0)
            f.write(json.dumps({"timestamp_s": round(t, 6), "input_tokens": rng.randint(16, 256), "output_tokens": rng.randint(2, 32)}) + "\n")


if __name__ == "__main__":
    OUT.mkdir(exist_ok=True)
    rng = random.Random(20261201)
    for make in (sharegpt, jsonl_and_csv, azure, mooncake, plain):
        make(rng)
    print("wrote", ", ".join(sorted(p.name for p in OUT.iterdir())))

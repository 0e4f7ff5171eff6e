#!/usr/bin/env python3
"""Writes the ISO 8583 test vectors in fixtures/iso8583/ with pyiso8583, an
independent implementation, so that our codec is checked against it byte for
byte (tests/iso8583_vectors.rs decodes every vector and re-encodes it).

One JSON file per layout:
  generic-1987-ascii   encoded with pyiso8583's `default_ascii` spec
  generic-1987-binary  encoded with pyiso8583's `default` spec
  generic-1987-bcd     `default` with BCD numerics and BCD length prefixes,
                       field by field as config/iso8583/generic-1987-bcd.toml says
Each vector: name, MTI, fields in their text form (digits, upper-case hex for
binary data) and the wire bytes as hex. Random messages come from a fixed
seed, so the output is the same on every run.

Before writing, the script checks that our TOML layouts give every field the
lengths pyiso8583's specs give it, and decodes each message back with
pyiso8583.

Usage (needs `pip install pyiso8583==4.0.1`, which scripts/install-test-deps.sh does):
  .venv/bin/python scripts/iso8583_vectors.py           # rewrite the fixtures
  .venv/bin/python scripts/iso8583_vectors.py --check   # fail if they differ (CI)

Field 65 is left out: pyiso8583 (like iso8583_rs) reads bit 65 as the flag of
a tertiary bitmap, not as a data field.
"""

import argparse
import copy
import json
import random
import string
import sys
import tomllib
from pathlib import Path

import iso8583
from iso8583.specs import default, default_ascii

ROOT = Path(__file__).resolve().parent.parent
LAYOUTS = ROOT / "config" / "iso8583"
OUT = ROOT / "fixtures" / "iso8583"
SEED = 8583
RANDOM_MESSAGES = 120
MTIS = ["0100", "0110", "0200", "0210", "0220", "0400", "0410", "0420", "0800", "0810"]
LEN_TYPE = {"fixed": 0, "llvar": 2, "lllvar": 3}
BINARY_LEN_TYPE = {"fixed": 0, "llvar": 1, "lllvar": 2}


def load_layout(name):
    with open(LAYOUTS / f"{name}.toml", "rb") as f:
        layout = tomllib.load(f)
    layout["fields"] = {int(k): v for k, v in layout["fields"].items()}
    return layout


def bcd_spec(layout):
    """pyiso8583's `default`, changed field by field to match our BCD layout."""
    spec = copy.deepcopy(default)
    spec["t"]["data_enc"] = "b"
    for number, field in layout["fields"].items():
        s = spec[str(number)]
        if field["len"] != "fixed":
            assert field["prefix"] == "bcd", number
            s["len_enc"] = "bcd"
            s["len_type"] = BINARY_LEN_TYPE[field["len"]]
        if field["data"] == "bcd":
            s["data_enc"] = "b"
            s["len_count"] = "nibbles"
            s["left_pad"] = "0"
        s["max_len"] = field["max"]
    return spec


def check_lengths(layout, spec, binary_prefix=False):
    """Our TOML must give every field pyiso8583's length kind and maximum."""
    for number, field in layout["fields"].items():
        s = spec[str(number)]
        want = (BINARY_LEN_TYPE if binary_prefix else LEN_TYPE)[field["len"]]
        if s["len_type"] != want or s["max_len"] != field["max"]:
            sys.exit(f"{layout['name']}: field {number}: ours {field['len']} {field['max']}, "
                     f"pyiso8583 len_type {s['len_type']} max_len {s['max_len']}")


ALPHABET = {
    "n": string.digits,
    "a": string.ascii_letters,
    "s": " !\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~",
    "an": string.ascii_letters + string.digits,
    "as": string.ascii_letters + " !#$%&*+-./:;=?@_",
    "ns": string.digits + " !#$%&*+-./:;=?@_",
    "ans": "".join(chr(c) for c in range(0x20, 0x7F)),
    "anp": string.ascii_letters + string.digits + " ",
    "z": string.digits + "=D",
    "b": "0123456789ABCDEF",
}


def text_units(field):
    """Length in characters of the text form for `units` of the field."""
    return 2 if field["class"] == "b" and field["data"] == "binary" else 1


def random_value(rng, field, length=None):
    """A value of the field's class, in its text form."""
    if length is None:
        if field["len"] == "fixed":
            length = field["max"]
        else:
            roll = rng.random()
            if roll < 0.1:
                length = 0
            elif roll < 0.2:
                length = field["max"]
            else:
                length = rng.randint(1, min(field["max"], 40))
    if field["class"] == "b" and field["data"] == "ascii":
        length -= length % 2  # hex text: two characters a byte
    chars = length * text_units(field)
    if field["class"] == "x+n":
        return rng.choice("CD") + "".join(rng.choice(string.digits) for _ in range(chars - 1))
    return "".join(rng.choice(ALPHABET[field["class"]]) for _ in range(chars))


def data_fields(layout):
    return sorted(n for n in layout["fields"] if n != 65)


def hand_picked(layout):
    """Messages the host sees, plus the length extremes."""
    msgs = [
        ("0800 sign-on", "0800", {7: "1125093000", 11: "000001", 48: "app-pass-1", 62: "MPOS-0001", 70: "001"}),
        ("0810 sign-on approved", "0810", {7: "1125093000", 11: "000001", 39: "00", 70: "001"}),
        ("0800 echo", "0800", {7: "1125093000", 11: "000002", 70: "301"}),
        ("0200 chip purchase with ICC data", "0200", {
            2: "4276550012341234", 3: "000000", 4: "000000012550", 7: "1125093000", 11: "000042",
            12: "123000", 13: "1125", 14: "2812", 22: "051", 41: "10000001", 42: "MTB000000000001",
            49: "933", 52: "0123456789ABCDEF",
            55: "9F2608C2C1F1A5B1D3E4F59F2701809F100706010A03A0B8009F37045F1B2C3D9F360200419505000000800"
                "09A032511259C01009F02060000000125505F2A020933820239009F1A0201129F0306000000000000",
        }),
        ("0200 magstripe purchase with track 2", "0200", {
            3: "000000", 4: "000000001000", 7: "1125093100", 11: "000043", 22: "021",
            35: "4276550012341234=28121010000012300000", 41: "10000001", 42: "MTB000000000001", 49: "933",
        }),
        ("0200 refund", "0200", {
            2: "4276550012341234", 3: "200000", 4: "000000000500", 7: "1125093200", 11: "000044",
            14: "2812", 22: "071", 37: "000000000001", 41: "10000001", 42: "MTB000000000001", 49: "933",
        }),
        ("0210 approval", "0210", {
            3: "000000", 4: "000000012550", 7: "1125093000", 11: "000042", 37: "000000000001",
            38: "A1B2C3", 39: "00", 41: "10000001", 42: "MTB000000000001", 49: "933",
        }),
        ("0400 reversal", "0400", {
            3: "000000", 4: "000000012550", 7: "1125093500", 11: "000045", 41: "10000001",
            42: "MTB000000000001", 49: "933", 90: "020000004211250930000000000000000000000000",
        }),
    ]
    rng = random.Random(SEED + 1)
    fields = layout["fields"]
    at_max = {n: random_value(rng, fields[n], fields[n]["max"]) for n in data_fields(layout)}
    msgs.append(("every field at its maximum length", "0200", at_max))
    empty = {n: "" for n in data_fields(layout) if fields[n]["len"] != "fixed"}
    msgs.append(("every variable field empty", "0200", empty))
    msgs.append(("only a secondary-bitmap field", "0800", {70: "301"}))
    msgs.append(("only field 128", "0200", {128: random_value(rng, fields[128])}))
    return msgs


def random_messages(layout, rng):
    numbers = data_fields(layout)
    for i in range(RANDOM_MESSAGES):
        density = rng.choice([0.05, 0.1, 0.2, 0.4])
        chosen = [n for n in numbers if rng.random() < density]
        if i % 3 == 0:
            chosen = [n for n in chosen if n <= 64]  # some without a secondary bitmap
        if not chosen:
            chosen = [rng.choice(numbers)]
        yield (f"random {i + 1}", rng.choice(MTIS),
               {n: random_value(rng, layout["fields"][n]) for n in chosen})


def vectors_for(name, spec):
    layout = load_layout(name)
    rng = random.Random(f"{SEED}-{name}")
    vectors = []
    for label, mti, fields in list(hand_picked(layout)) + list(random_messages(layout, rng)):
        doc = {"t": mti, **{str(n): v for n, v in fields.items()}}
        wire, _ = iso8583.encode(dict(doc), spec)
        back, _ = iso8583.decode(bytes(wire), spec)
        for n, v in fields.items():
            assert back[str(n)] == v, f"{name} {label}: field {n} decodes to {back[str(n)]!r}, not {v!r}"
        vectors.append({
            "name": label,
            "mti": mti,
            "fields": {str(n): v for n, v in sorted(fields.items())},
            "wire": bytes(wire).hex().upper(),
        })
    return {
        "generator": "scripts/iso8583_vectors.py",
        "pyiso8583": iso8583.__version__,
        "seed": SEED,
        "layout": name,
        "vectors": vectors,
    }


def render(doc):
    return json.dumps(doc, indent=1, ensure_ascii=False) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true",
                        help="compare with the committed fixtures instead of writing them")
    args = parser.parse_args()

    ascii_layout, binary_layout, bcd_layout = (
        load_layout(n) for n in ("generic-1987-ascii", "generic-1987-binary", "generic-1987-bcd"))
    check_lengths(ascii_layout, default_ascii)
    check_lengths(binary_layout, default)
    spec_bcd = bcd_spec(bcd_layout)

    outputs = {
        "generic-1987-ascii": vectors_for("generic-1987-ascii", default_ascii),
        "generic-1987-binary": vectors_for("generic-1987-binary", default),
        "generic-1987-bcd": vectors_for("generic-1987-bcd", spec_bcd),
    }
    stale = []
    for name, doc in outputs.items():
        path = OUT / f"{name}.json"
        text = render(doc)
        if args.check:
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                stale.append(str(path.relative_to(ROOT)))
        else:
            OUT.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            print(f"{path.relative_to(ROOT)}: {len(doc['vectors'])} vectors")
    if stale:
        sys.exit("stale ISO 8583 vectors (rerun scripts/iso8583_vectors.py and commit): " + ", ".join(stale))
    if args.check:
        print(f"ISO 8583 vectors agree with pyiso8583 {iso8583.__version__}: "
              + ", ".join(f"{n} ({len(d['vectors'])})" for n, d in outputs.items()))


if __name__ == "__main__":
    main()

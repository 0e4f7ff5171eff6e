#!/usr/bin/env python3
"""Writes the ISO 8583 test vectors in fixtures/iso8583/ with pyiso8583, an
independent implementation, so that our codec is checked against it byte for
byte (tests/iso8583_vectors.rs decodes every vector and re-encodes it;
tests/iso8583_rs_agreement.rs also runs them through iso8583_rs).

One JSON file per layout of config/iso8583/:
  generic-1987-ascii   encoded with pyiso8583's stock `default_ascii` spec
  generic-1987-binary  encoded with pyiso8583's stock `default` spec
  generic-1987-bcd     `default` with a BCD MTI, BCD numerics (data_enc "b",
                       len_count "nibbles", left_pad "0") and BCD length
                       prefixes, derived field by field from our TOML
Before anything is encoded, the script reads each of our TOML layouts (with
tomllib), turns it into pyiso8583 settings and checks them against the spec
it encodes with: MTI and bitmap encodings, and for every field the data
encoding, prefix encoding and width, and maximum length. For the BCD layout
that spec is `default` with the BCD changes applied exactly where our TOML has
them (bcd_variant), so lengths and maxima are still pyiso8583's own. A layout
that drifts from pyiso8583 fails here, naming the field and the setting.

Each file: {"header": {generator, pyiso8583 version, seed, ...}, "layout",
"vectors": [{"name", "mti", "fields": {"2": ...}, "wire": "<hex>"}]}. Field
values are in the codec's text form, which is also what pyiso8583 decodes to:
digits for BCD, upper-case hex for binary data (ASCII data as is). Every
message is encoded with iso8583.encode, decoded back with iso8583.decode and
compared (MTI, field set, every value) before it is written.

About 200 random messages per layout (fixed seed; random MTI, random field
subsets, values of each field's class, variable lengths from 0 to the
maximum), plus hand-picked ones: sign-on, purchase with ICC data, track 2,
approval, reversal, and the length extremes. Field 65 never appears:
pyiso8583 reads bit 65 as the flag of a tertiary bitmap (fields 129-192) and
`iso8583.encode` silently drops a field "65", so it cannot be a data field of
a vector (iso8583_rs does the same).

The output is deterministic: byte-identical on every run and machine.

Usage (needs Python 3.11+ and pyiso8583 4.0.1; scripts/install-test-deps.sh
makes .venv with scripts/requirements-test.txt):
  .venv/bin/python scripts/iso8583_vectors.py           # rewrite the fixtures
  .venv/bin/python scripts/iso8583_vectors.py --check   # exit 1 if they differ (CI)
Any interpreter with `pip install pyiso8583==4.0.1` will do.
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
GENERATOR = "scripts/iso8583_vectors.py"
PYISO8583_VERSION = "4.0.1"
SEED = 8583
RANDOM_MESSAGES = 200
MTIS = [
    "0100", "0110", "0120", "0130", "0200", "0210", "0220", "0230", "0320", "0330",
    "0400", "0410", "0420", "0421", "0430", "0500", "0510", "0800", "0810", "0820",
]

# The layouts, the stock pyiso8583 spec each one is, and whether it is that
# spec's BCD variant (see bcd_variant).
LAYOUT_SPECS = [
    ("generic-1987-ascii", default_ascii, False),
    ("generic-1987-binary", default, False),
    ("generic-1987-bcd", default, True),
]

# Content classes as crates/mpos-iso8583/src/class.rs defines them.
DIGITS = string.digits
LETTERS = string.ascii_letters
SPECIALS = "".join(chr(c) for c in range(0x20, 0x7F) if not chr(c).isalnum())  # space included
ALPHABET = {
    "n": DIGITS,
    "a": LETTERS,
    "s": SPECIALS,
    "an": LETTERS + DIGITS,
    "as": LETTERS + SPECIALS,
    "ns": DIGITS + SPECIALS,
    "ans": "".join(chr(c) for c in range(0x20, 0x7F)),
    "anp": LETTERS + DIGITS + " ",
    "z": DIGITS + "=D",
    "b": "0123456789ABCDEF",
}


class Failure(Exception):
    """A check failed: the message says what and where."""


# --------------------------------------------------------------------------
# Layouts and specs


def load_layout(name):
    with open(LAYOUTS / f"{name}.toml", "rb") as f:
        layout = tomllib.load(f)
    layout["fields"] = {int(k): v for k, v in layout["fields"].items()}
    return layout


def pyiso_field(field):
    """The pyiso8583 field spec (encoding keys only) of one of our fields."""
    if field["len"] == "fixed":
        len_enc, len_type = "ascii", 0
    else:
        prefix = field["prefix"]
        len_enc = {"ascii": "ascii", "bcd": "bcd", "binary": "b"}[prefix]
        digits = {"llvar": 2, "lllvar": 3}[field["len"]]
        len_type = digits if prefix == "ascii" else digits - 1
    spec = {
        "data_enc": {"ascii": "ascii", "bcd": "b", "binary": "b"}[field["data"]],
        "len_enc": len_enc,
        "len_type": len_type,
        "max_len": field["max"],
        "len_count": "nibbles" if field["data"] == "bcd" else "bytes",
    }
    if field["data"] == "bcd":
        spec["left_pad"] = "0"
    return spec


def spec_for(layout, base):
    """`base` (for the descriptions) with every encoding taken from our layout."""
    spec = copy.deepcopy(base)
    spec["t"]["data_enc"] = {"ascii": "ascii", "bcd": "b"}[layout["mti"]]
    for bitmap in ("p", "1"):
        spec[bitmap]["data_enc"] = {"hex": "ascii", "binary": "b"}[layout["bitmap"]]
        spec[bitmap]["max_len"] = {"hex": 16, "binary": 8}[layout["bitmap"]]
    for number, field in layout["fields"].items():
        s = spec[str(number)]
        for key in ("len_count", "left_pad"):
            s.pop(key, None)
        s.update(pyiso_field(field))
    return spec


ENCODING_KEYS = {"data_enc": None, "len_enc": None, "len_type": None, "max_len": None,
                 "len_count": "bytes", "left_pad": ""}


def differences(ours, stock):
    """(key, setting, ours, stock) for every encoding setting that differs."""
    out = []
    for key in ["t", "p", "1"] + [str(n) for n in range(2, 129)]:
        for setting, absent in ENCODING_KEYS.items():
            a, b = ours[key].get(setting, absent), stock[key].get(setting, absent)
            if a != b:
                out.append((key, setting, a, b))
    return out


def bcd_variant(stock, layout):
    """pyiso8583's `stock` spec with the BCD changes our layout asks for, and no
    others: a BCD MTI; BCD length prefixes (1 byte for LLVAR, 2 for LLLVAR)
    where the layout has prefix = "bcd"; and for `data = "bcd"` fields, which
    must be class n, data_enc "b" counted in nibbles with a leading "0" pad.
    Lengths and maxima stay pyiso8583's, so checking our layout against this
    still checks it against pyiso8583."""
    spec = copy.deepcopy(stock)
    if layout["mti"] == "bcd":
        spec["t"]["data_enc"] = "b"
    for number, field in layout["fields"].items():
        s = spec[str(number)]
        if field.get("prefix") == "bcd" and s["len_type"] > 0:
            s["len_enc"] = "bcd"
            s["len_type"] -= 1  # 2 digits in 1 byte, 3 digits in 2 bytes
        if field["data"] == "bcd":
            if field["class"] != "n":
                raise Failure(f"{layout['name']}: field {number}: BCD data needs class n, "
                              f"not {field['class']}")
            s.update(data_enc="b", len_count="nibbles", left_pad="0")
    return spec


def checked_spec(name, stock, bcd):
    """The pyiso8583 spec to encode `name` with: `stock`, or its BCD variant
    when `bcd`, after checking that our TOML says exactly the same thing."""
    layout = load_layout(name)
    theirs = bcd_variant(stock, layout) if bcd else stock
    diffs = differences(spec_for(layout, stock), theirs)
    if diffs:
        lines = [f"  field {k}: {s} is {a!r} in config/iso8583/{name}.toml, {b!r} in pyiso8583"
                 for k, s, a, b in diffs]
        raise Failure(f"{name} does not match pyiso8583's spec:\n" + "\n".join(lines))
    return layout, theirs


# --------------------------------------------------------------------------
# Values


def fit_length(field, length):
    """A length the field can take: hex text in an ASCII layout needs an even count."""
    if field["class"] == "b" and field["data"] == "ascii" and length % 2:
        length = length + 1 if length < field["max"] else length - 1
    return length


def random_length(rng, field):
    if field["len"] == "fixed":
        return field["max"]
    roll = rng.random()
    if roll < 0.08:
        length = 0
    elif roll < 0.16:
        length = field["max"]
    elif roll < 0.85:
        length = rng.randint(1, min(field["max"], 40))
    else:
        length = rng.randint(1, field["max"])
    return fit_length(field, length)


def random_value(rng, field, length=None):
    """A value of the field's class in its text form; `length` in the field's units."""
    if length is None:
        length = random_length(rng, field)
    chars = 2 * length if field["data"] == "binary" else length
    if field["class"] == "x+n":
        return rng.choice("CD") + "".join(rng.choice(DIGITS) for _ in range(chars - 1))
    value = "".join(rng.choice(ALPHABET[field["class"]]) for _ in range(chars))
    if field["class"] == "b" and field["data"] == "ascii" and rng.random() < 0.15:
        # Hex that travels as text is read in either case and kept as it came.
        value = value.lower()
    return value


def data_fields(layout):
    return sorted(n for n in layout["fields"] if n != 65)


# --------------------------------------------------------------------------
# Messages

ICC_DATA = (  # 105 bytes of EMV tags, as a contactless kernel sends them
    "9F2608C2C1F1A5B1D3E4F5"  # 9F26 application cryptogram
    "9F270180"  # 9F27 cryptogram information data
    "9F100706010A03A0B800"  # 9F10 issuer application data
    "9F37045F1B2C3D"  # 9F37 unpredictable number
    "9F36020041"  # 9F36 application transaction counter
    "95050000008000"  # 95 terminal verification results
    "9A03251125"  # 9A transaction date
    "9C0100"  # 9C transaction type
    "9F0206000000012550"  # 9F02 amount, authorised
    "5F2A020933"  # 5F2A transaction currency code
    "82023900"  # 82 application interchange profile
    "9F1A020643"  # 9F1A terminal country code
    "9F0306000000000000"  # 9F03 amount, other
    "9F3303E0F8C8"  # 9F33 terminal capabilities
    "9F3403420300"  # 9F34 CVM results
    "8407A0000000031010"  # 84 dedicated file name (AID)
)


def hand_picked(layout):
    """Messages the host sees, plus the length extremes."""
    fields = layout["fields"]
    msgs = [
        ("0800 sign-on", "0800", {
            7: "1125093000", 11: "000001", 48: "app-pass-1", 62: "MPOS-0001", 70: "001"}),
        ("0810 sign-on approved", "0810", {
            7: "1125093000", 11: "000001", 39: "00", 48: "session=4f2a", 70: "001"}),
        ("0800 echo test", "0800", {7: "1125093000", 11: "000002", 70: "301"}),
        ("0200 chip purchase with ICC data", "0200", {
            2: "4276550012341234", 3: "000000", 4: "000000012550", 7: "1125093000",
            11: "000042", 12: "123000", 13: "1125", 14: "2812", 22: "071", 41: "10000001",
            42: "MTB000000000001", 49: "933", 52: "0123456789ABCDEF", 55: ICC_DATA,
        }),
        ("0200 magstripe purchase with track 2", "0200", {
            3: "000000", 4: "000000001000", 7: "1125093100", 11: "000043", 12: "123100",
            13: "1125", 22: "021", 35: "4276550012341234=28121010000012300000",
            41: "10000001", 42: "MTB000000000001", 49: "933", 52: "FEDCBA9876543210",
        }),
        ("0210 approval", "0210", {
            3: "000000", 4: "000000012550", 7: "1125093000", 11: "000042", 12: "123000",
            13: "1125", 37: "532912000042", 38: "A1B2C3", 39: "00", 41: "10000001",
            42: "MTB000000000001", 49: "933",
        }),
        ("0210 decline", "0210", {
            3: "000000", 4: "000000012550", 7: "1125093000", 11: "000042",
            37: "532912000042", 39: "51", 41: "10000001", 42: "MTB000000000001", 49: "933",
        }),
        ("0400 reversal with original data elements", "0400", {
            2: "4276550012341234", 3: "000000", 4: "000000012550", 7: "1125093500",
            11: "000045", 41: "10000001", 42: "MTB000000000001", 49: "933",
            90: "020000004211250930000000000000000000000000",
        }),
    ]
    rng = random.Random(f"{SEED}-hand-picked-{layout['name']}")
    numbers = data_fields(layout)
    variable = [n for n in numbers if fields[n]["len"] != "fixed"]
    msgs.append(("every field at its maximum length", "0200",
                 {n: random_value(rng, fields[n], fields[n]["max"]) for n in numbers}))
    msgs.append(("every variable field empty", "0200", {n: "" for n in variable}))
    msgs.append(("every variable field at its shortest non-empty length", "0200",
                 {n: random_value(rng, fields[n], fit_length(fields[n], 1)) for n in variable}))
    msgs.append(("only field 2, empty", "0100", {2: ""}))
    msgs.append(("only field 64", "0200", {64: random_value(rng, fields[64])}))
    msgs.append(("only field 66 (a secondary bitmap with no primary field)", "0800",
                 {66: random_value(rng, fields[66])}))
    msgs.append(("only field 128", "0200", {128: random_value(rng, fields[128])}))
    return msgs


def random_messages(layout, rng):
    numbers = data_fields(layout)
    for i in range(RANDOM_MESSAGES):
        density = rng.choice([0.03, 0.06, 0.12, 0.25])
        chosen = [n for n in numbers if rng.random() < density]
        kind = i % 6
        if kind in (0, 1):
            chosen = [n for n in chosen if n <= 64]  # no secondary bitmap
        elif kind == 2:
            chosen = [n for n in chosen if n > 64]  # a secondary bitmap only
        if not chosen:
            chosen = [rng.choice(numbers)]
        yield (f"random {i + 1}", rng.choice(MTIS),
               {n: random_value(rng, layout["fields"][n]) for n in chosen})


def vector(name, spec, label, mti, fields):
    """Encodes one message with pyiso8583 and checks that it decodes back."""
    doc = {"t": mti, **{str(n): v for n, v in fields.items()}}
    where = f"{name} / {label}"
    try:
        wire, _ = iso8583.encode(copy.deepcopy(doc), spec)
        back, _ = iso8583.decode(bytes(wire), spec)
    except (iso8583.EncodeError, iso8583.DecodeError) as e:
        raise Failure(f"{where}: pyiso8583: {e}") from e
    secondary = back.pop("1", None)
    back.pop("p")
    if back != doc:
        bad = sorted(set(back) ^ set(doc)) or [k for k in doc if back[k] != doc[k]]
        raise Failure(f"{where}: pyiso8583 decodes its own encoding differently at {bad}")
    if (secondary is not None) != any(n > 64 for n in fields):
        raise Failure(f"{where}: secondary bitmap {secondary!r} for fields {sorted(fields)}")
    return {
        "name": label,
        "mti": mti,
        "fields": {str(n): v for n, v in fields.items()},
        "wire": bytes(wire).hex().upper(),
    }


def vectors_for(name, layout, spec):
    rng = random.Random(f"{SEED}-{name}")
    messages = list(hand_picked(layout)) + list(random_messages(layout, rng))
    return {
        "header": {
            "generator": GENERATOR,
            "pyiso8583": iso8583.__version__,
            "seed": SEED,
            "random_messages": RANDOM_MESSAGES,
        },
        "layout": name,
        "vectors": [vector(name, spec, *m) for m in messages],
    }


def render(doc):
    return json.dumps(doc, indent=1, sort_keys=True, ensure_ascii=True) + "\n"


def first_difference(path, text):
    """Where the committed file first differs from `text`, in words."""
    try:
        old = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        return f"unreadable ({e})"
    new = json.loads(text)
    if old.get("header") != new["header"]:
        return f"header {old.get('header')} != {new['header']}"
    for i, (a, b) in enumerate(zip(old.get("vectors", []), new["vectors"])):
        if a != b:
            return f"vector {i} ({b['name']!r})"
    if len(old.get("vectors", [])) != len(new["vectors"]):
        return f"{len(old.get('vectors', []))} vectors, not {len(new['vectors'])}"
    return "formatting"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true",
                        help="compare with the committed fixtures instead of writing them; "
                             "exit 1 if any differs")
    args = parser.parse_args()
    if iso8583.__version__ != PYISO8583_VERSION:
        sys.exit(f"error: pyiso8583 {PYISO8583_VERSION} is needed, this is "
                 f"{iso8583.__version__} (pip install pyiso8583=={PYISO8583_VERSION})")
    try:
        outputs = {}
        for name, stock, bcd in LAYOUT_SPECS:
            layout, spec = checked_spec(name, stock, bcd)
            outputs[name] = render(vectors_for(name, layout, spec))
    except Failure as e:
        sys.exit(f"error: {e}")

    stale = []
    for name, text in outputs.items():
        path = OUT / f"{name}.json"
        count = text.count('"wire":')
        if args.check:
            if not path.exists():
                stale.append(f"  {path.relative_to(ROOT)}: missing")
            elif path.read_text(encoding="utf-8") != text:
                stale.append(f"  {path.relative_to(ROOT)}: differs at "
                             f"{first_difference(path, text)}")
        else:
            OUT.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            print(f"{path.relative_to(ROOT)}: {count} vectors")
    if stale:
        sys.exit("error: the committed ISO 8583 vectors are not what this script generates:\n"
                 + "\n".join(stale)
                 + "\nrun scripts/iso8583_vectors.py (without --check) and commit fixtures/iso8583/")
    if args.check:
        print(f"ISO 8583 vectors are up to date with pyiso8583 {iso8583.__version__}: "
              + ", ".join(f"{n} ({t.count(chr(34) + 'wire' + chr(34))})"
                          for n, t in outputs.items()))


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Seeds fuzz/corpus/decode with a few valid messages per shipped layout.

Takes the first vectors of fixtures/iso8583/<layout>.json (wire bytes made by
pyiso8583), each bare and as a 2-byte length frame, so both the decoders and
the frame codec start from valid input. Run from the repository root.
"""
import json
import pathlib
import sys

PER_LAYOUT = int(sys.argv[1]) if len(sys.argv) > 1 else 4
out = pathlib.Path("fuzz/corpus/decode")
out.mkdir(parents=True, exist_ok=True)
count = 0
for fixture in sorted(pathlib.Path("fixtures/iso8583").glob("*.json")):
    vectors = json.loads(fixture.read_text())["vectors"]
    # Spread the picks over the file: sign-on, purchase, reversal, ...
    step = max(1, len(vectors) // PER_LAYOUT)
    for i, vector in enumerate(vectors[::step][:PER_LAYOUT]):
        wire = bytes.fromhex(vector["wire"])
        (out / f"{fixture.stem}-{i}").write_bytes(wire)
        (out / f"{fixture.stem}-{i}-framed").write_bytes(len(wire).to_bytes(2, "big") + wire)
        count += 2
print(f"{count} seeds in {out}")

#!/usr/bin/env bash
# The history's statements on PostgreSQL, old and new side by side
# (BENCHMARKS.md, "Issue 14: the history's statements on PostgreSQL"):
# a throwaway cluster (scripts/test-postgres.sh), the schema of
# crates/mpos-store/src/migrations_pg.rs, a merchant with 1,000,000
# transactions over 365 days (19 busy readers, one used ~100 times a year,
# 5 terminals) and another with 100,000, then each statement prepared and
# run as a pooled connection runs it: plan_cache_mode auto (the median of
# runs 7-12, after PostgreSQL's five custom plans), custom and generic.
# "old" is the single statement the SQLite side still runs (an IN list of
# days, or of terminals); "new" the per-day / per-terminal branches
# crates/mpos-store/src/ops/history.rs builds on PostgreSQL, or, for a
# reader's page, one range of its index (transactions_by_device).
# Usage: scripts/bench-pg-history.sh   (about 3 minutes, mostly seeding)
set -euo pipefail
cd "$(dirname "$0")/.."
dir=$(mktemp -d /tmp/mpos-pg-history.XXXXXX)
url=$(scripts/test-postgres.sh start "$dir")
trap 'scripts/test-postgres.sh stop "$dir"; rm -rf "$dir"' EXIT
bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
psql() {
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$bin/psql" "$@"; else "$bin/psql" "$@"; fi
}
port=${url##*:}
db=(-h 127.0.0.1 -p "$port" -U mpos -v ON_ERROR_STOP=1 -q)
psql "${db[@]}" -d postgres -c "CREATE DATABASE hist"

# The migrations, as the store applies them (its raw strings, in order).
python3 - "$dir/schema.sql" <<'PY'
import re, sys
source = open("crates/mpos-store/src/migrations_pg.rs").read()
body = source[source.index("pub(crate) const MIGRATIONS"):source.index("/// The key of the session-level")]
open(sys.argv[1], "w").write("\n".join(re.findall(r'r#"(.*?)"#', body, re.S)))
PY
psql "${db[@]}" -d hist -f "$dir/schema.sql"

echo "seeding 1,100,000 transactions..." >&2
psql "${db[@]}" -d hist <<'SQL'
INSERT INTO merchants VALUES ('M1', 'n', 'a@x.by', 'h', 0), ('M2', 'n', 'b@x.by', 'h', 0);
INSERT INTO devices (serial, merchant_id, state, app_password_hash, created_at)
    SELECT 'D' || lpad(g::text, 2, '0'), 'M1', 'active', 'h', 0 FROM generate_series(1, 20) g;
INSERT INTO devices (serial, merchant_id, state, app_password_hash, created_at)
    VALUES ('E1', 'M2', 'active', 'h', 0);
INSERT INTO transactions (mti, kind, device_serial, merchant_id, vt_id, stan, transmission_time,
    processing_code, amount_minor, currency, response_code, business_day, received_at, reversed,
    fingerprint, response)
SELECT '0200', CASE WHEN g % 20 = 0 THEN 'refund' ELSE 'purchase' END,
    CASE WHEN g % 9973 = 0 THEN 'D20' ELSE 'D' || lpad((1 + g % 19)::text, 2, '0') END,
    'M1', '1000000' || (1 + g % 5)::text, g::text, 't', '000000', 100 + g % 5000, 933,
    CASE WHEN g % 10 = 0 THEN '51' ELSE '00' END,
    to_char(date '2025-11-26' + (g / 2740), 'YYYY-MM-DD'), g, 0, '\x', '\x'
FROM generate_series(1, 1000000) g;
INSERT INTO transactions (mti, kind, device_serial, merchant_id, vt_id, stan, transmission_time,
    processing_code, amount_minor, currency, response_code, business_day, received_at, reversed,
    fingerprint, response)
SELECT '0200', 'purchase', 'E1', 'M2', '20000001', g::text, 't', '000000', 100, 933, '00',
    to_char(date '2025-11-26' + (g / 274), 'YYYY-MM-DD'), g, 0, '\x', '\x'
FROM generate_series(1, 100000) g;
VACUUM FULL daily_totals;
VACUUM ANALYZE;
SQL
psql "${db[@]}" -d hist -At -c "SELECT string_agg(business_day, ',' ORDER BY business_day DESC)
    FROM (SELECT DISTINCT business_day FROM transactions WHERE device_serial = 'D20'
          ORDER BY 1 DESC LIMIT 50) d" >"$dir/d20days"
resume_id=$(psql "${db[@]}" -d hist -At -c "SELECT max(id) FROM transactions
    WHERE business_day = '2026-05-27' AND merchant_id = 'M1'")

python3 - "$dir" "$resume_id" <<'PY' >"$dir/bench.sql"
import sys
directory, resume_id = sys.argv[1], int(sys.argv[2])
COLS = ("id, received_at, business_day, device_serial, vt_id, kind = 'refund', masked_pan, "
        "amount_minor, currency, response_code, reversed = 1, rrn, auth_code")
STORED = ("id, received_at, business_day, device_serial, vt_id, kind, masked_pan, amount_minor, "
          "currency, response_code, reversed, rrn, auth_code")

class Params:
    def __init__(self): self.args = []
    def __call__(self, literal):
        self.args.append(literal)
        return f"${len(self.args)}"

def where(p, days, device, vts):
    clause = f"merchant_id = {p(repr('M1'))} AND {days(p)}"
    if device: clause += f" AND device_serial = {p(repr(device))}"
    if vts: clause += " AND vt_id IN (" + ", ".join(p(repr(v)) for v in vts) + ")"
    return clause

def old_page(days, skip, limit, device=None, vts=None):
    p = Params()
    c = where(p, lambda p: "business_day IN (" + ", ".join(p(repr(d)) for d in days) + ")", device, vts)
    return (f"SELECT {COLS} FROM transactions WHERE {c} AND mti = '0200' "
            f"ORDER BY business_day DESC, id DESC LIMIT {limit} OFFSET {skip}", p.args)

def new_page(days, skip, limit, device=None, vts=None):
    p = Params(); branches = []
    if device:  # one range of the reader's index over the window's days
        c = where(p, lambda p: f"business_day BETWEEN {p(repr(days[-1]))} AND {p(repr(days[0]))}", device, vts)
        return (f"SELECT {COLS} FROM transactions WHERE {c} AND mti = '0200' "
                f"ORDER BY business_day DESC, id DESC LIMIT {limit} OFFSET {skip}", p.args)
    for i, day in enumerate(days):
        c = where(p, lambda p: f"business_day = {p(repr(day))}", device, vts)
        branches.append(f"(SELECT {STORED} FROM transactions WHERE {c} AND mti = '0200' "
                        f"ORDER BY id DESC LIMIT {limit} OFFSET {skip if i == 0 else 0})")
    return (f"SELECT {COLS} FROM ({' UNION ALL '.join(branches)}) AS page "
            f"ORDER BY business_day DESC, id DESC LIMIT {limit}", p.args)

def chunk(parts, first, last, resume, limit):
    p = Params(); branches = []
    for vts in parts:
        c = where(p, lambda p: f"business_day BETWEEN {p(repr(first))} AND {p(repr(last))}", None, vts)
        if resume:
            c += f" AND (business_day, id) < ({p(repr(resume[0]))}, CAST({p(str(resume[1]))} AS BIGINT))"
        branches.append(c)
    select = lambda cols, c: (f"SELECT {cols} FROM transactions WHERE {c} AND mti = '0200' "
                              f"ORDER BY business_day DESC, id DESC LIMIT {limit}")
    if len(branches) == 1:
        return (select(COLS, branches[0]), p.args)
    union = " UNION ALL ".join(f"({select(STORED, c)})" for c in branches)
    return (f"SELECT {COLS} FROM ({union}) AS chunk ORDER BY business_day DESC, id DESC LIMIT {limit}", p.args)

def totals(first, last):
    p = Params()
    c = where(p, lambda p: f"business_day BETWEEN {p(repr(first))} AND {p(repr(last))}", None, None)
    return (f"SELECT business_day, vt_id, currency, CAST(sum(payments_count) AS BIGINT), "
            f"CAST(sum(payments_minor) AS BIGINT), CAST(sum(refunds_count) AS BIGINT), "
            f"CAST(sum(refunds_minor) AS BIGINT), CAST(sum(rows_count) AS BIGINT) "
            f"FROM daily_totals WHERE {c} GROUP BY business_day, vt_id, currency "
            f"ORDER BY business_day DESC, vt_id, currency", p.args)

rare = open(f"{directory}/d20days").read().strip().split(",")
two = ["10000001", "10000002"]
year, half = ("2025-11-26", "2026-11-25"), ("2025-11-26", "2026-05-27")
cases = [
    ("page 1 (one day)", old_page(["2026-11-25"], 0, 50), new_page(["2026-11-25"], 0, 50)),
    ("deep page across two days (skip 2,700)", old_page(["2026-05-27", "2026-05-26"], 2700, 50),
     new_page(["2026-05-27", "2026-05-26"], 2700, 50)),
    ("a reader with ~100 rows a year: page 1 (50 days)", old_page(rare, 0, 50, device="D20"),
     new_page(rare, 0, 50, device="D20")),
    ("two terminals, a page within one day (skip 1,000)", old_page(["2026-05-27"], 1000, 50, vts=two),
     new_page(["2026-05-27"], 1000, 50, vts=two)),
    ("export chunk, two terminals, first of the year", chunk([two], *year, None, 2000),
     chunk([[v] for v in two], *year, None, 2000)),
    ("export chunk, two terminals, resumed mid-year", chunk([two], *half, ("2026-05-27", resume_id), 2000),
     chunk([[v] for v in two], *half, ("2026-05-27", resume_id), 2000)),
]
cases += [
    ("totals of a month (one statement on both backends)", totals("2026-10-26", "2026-11-25"), None),
    ("totals of the year (one statement on both backends)", totals(*year), None),
]
for i, (name, old, new) in enumerate(cases):
    forms = (("old", old), ("new", new)) if new else (("same", old),)
    for tag, (sql, args) in forms:
        print(f"\\echo CASE {name}|{tag}")
        print(f"PREPARE s{i}{tag} AS {sql};")
        for mode in ("auto", "force_custom_plan", "force_generic_plan"):
            print(f"SET plan_cache_mode = {mode};")
            print(f"\\echo MODE {mode}")
            for _ in range(12 if mode == "auto" else 10):
                print(f"EXPLAIN (ANALYZE, TIMING OFF, COSTS OFF) EXECUTE s{i}{tag}({', '.join(args)});")
PY

psql "${db[@]}" -d hist -At -f "$dir/bench.sql" | python3 -c '
import re, statistics, sys
case = mode = None; runs = {}; planning = 0.0
for line in sys.stdin:
    line = line.strip()
    if line.startswith("CASE "): case = line[5:]
    elif line.startswith("MODE "): mode = line[5:].replace("force_", "").replace("_plan", ""); runs[(case, mode)] = []
    elif line.startswith("Planning Time:"): planning = float(re.findall(r"[\d.]+", line)[0])
    elif line.startswith("Execution Time:"):
        runs[(case, mode)].append(planning + float(re.findall(r"[\d.]+", line)[0])); planning = 0.0
print("| statement | form | auto | custom | generic |")
print("|---|---|---|---|---|")
for case in dict.fromkeys(c for c, _ in runs):
    cells = []
    for mode in ("auto", "custom", "generic"):
        r = runs[(case, mode)]
        r = r[6:] if mode == "auto" else r[1:]
        cells.append(f"{statistics.median(r):.2f} ms")
    name, form = case.split("|")
    print(f"| {name} | {form} | " + " | ".join(cells) + " |")
'

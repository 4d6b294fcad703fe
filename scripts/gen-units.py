#!/usr/bin/env python3
"""Generate src/units/data/units.json, the administrative-units reference data embedded by
lienthong, from the data files of the PyPI package `vietnamadminunits` (MIT licence).

Only the package's *data* is read (codes, names, unit types, old-to-new succession); none of
its code is used or copied.

Usage (from the repository root):

    python3 scripts/gen-units.py --wheel PATH_OR_DIR --out src/units/data/units.json \
        [--source-md src/units/data/SOURCE.md]

PATH_OR_DIR is the wheel file, a directory holding the wheel, or a directory holding the
unpacked wheel. Without --wheel the script runs
`pip download --no-deps vietnamadminunits==1.0.4` into a temporary directory.

Inputs used from the wheel:
  vietnamadminunits/data/dataset.db          SQLite; tables `admin_units_legacy` (63 provinces,
                                             3 tiers) and `admin_units` (34 provinces, 2025)
  vietnamadminunits/data/converter_2025.json old-to-new succession, keyed by the normalised
                                             keys (provinceKey/districtKey/wardKey) of dataset.db

Python 3.11, standard library only.
"""

from __future__ import annotations

import argparse
import base64
import collections
import hashlib
import json
import os
import re
import sqlite3
import subprocess
import sys
import tempfile
import unicodedata
import zipfile
from pathlib import Path

PACKAGE = "vietnamadminunits"
VERSION = "1.0.4"
LICENCE = "MIT"
# SHA-256 of vietnamadminunits-1.0.4-py3-none-any.whl as downloaded from PyPI when this script
# was written; a different wheel only triggers a warning (data files are still checked
# against the wheel's own RECORD).
EXPECTED_WHEEL_SHA256 = "737ee3662e877290386c1c45ed4d71f2e5fae34ab6fb9c64bfb4cb74b216ea35"

DB_FILE = f"{PACKAGE}/data/dataset.db"
CONVERTER_FILE = f"{PACKAGE}/data/converter_2025.json"
DATA_FILES = [DB_FILE, CONVERTER_FILE]
LICENSE_SUFFIX = "LICENSE"

EXPECTED = {"provinces": 34, "communes": 3321, "legacy_provinces": 63}

# Canonical type words per level. A name is split on the longest matching prefix,
# compared case-insensitively ("Thị Trấn Ái Tử" -> ("Ái Tử", "Thị trấn")).
PROVINCE_TYPES = ["Thành phố", "Tỉnh"]
DISTRICT_TYPES = ["Thành phố", "Thị xã", "Quận", "Huyện"]
LEGACY_COMMUNE_TYPES = ["Thị trấn", "Phường", "Xã"]
COMMUNE_TYPES = ["Đặc khu", "Phường", "Xã"]


def log(*a) -> None:
    print(*a, file=sys.stderr)


def nfc(s: str) -> str:
    return re.sub(r"\s+", " ", unicodedata.normalize("NFC", s)).strip()


def split_type(full: str, types: list[str]) -> tuple[str, str, bool]:
    """Return (name, canonical type, prefix_case_differs)."""
    full = nfc(full)
    for t in sorted(types, key=len, reverse=True):
        head = full[: len(t)]
        if head.casefold() == t.casefold() and full[len(t) : len(t) + 1] == " ":
            name = full[len(t) + 1 :].strip()
            if not name:
                break
            return name, t, head != t
    raise SystemExit(f"error: no known type word ({', '.join(types)}) at start of {full!r}")


def sha256_bytes(b: bytes) -> str:
    return hashlib.sha256(b).hexdigest()


# ---------------------------------------------------------------------------------------------
# Locating the package data


class Source:
    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.license_text: str | None = None
        self.record: dict[str, str] = {}  # path -> urlsafe-b64 sha256 (wheel RECORD)
        self.wheel_name: str | None = None
        self.wheel_sha256: str | None = None
        self.metadata_version: str | None = None


def _read_from_zip(path: Path, src: Source) -> None:
    src.wheel_name = path.name
    src.wheel_sha256 = sha256_bytes(path.read_bytes())
    with zipfile.ZipFile(path) as z:
        names = z.namelist()
        for want in DATA_FILES:
            if want not in names:
                raise SystemExit(f"error: {want} not found in {path}")
            src.files[want] = z.read(want)
        for n in names:
            parts = n.split("/")
            if parts[0].endswith(".dist-info"):
                if parts[-1] == "RECORD":
                    _parse_record(z.read(n).decode("utf-8"), src)
                elif parts[-1] == "METADATA":
                    _parse_metadata(z.read(n).decode("utf-8"), src)
                elif parts[-1] == LICENSE_SUFFIX:
                    src.license_text = z.read(n).decode("utf-8")


def _parse_record(text: str, src: Source) -> None:
    for line in text.splitlines():
        cols = line.rsplit(",", 2)
        if len(cols) == 3 and cols[1].startswith("sha256="):
            src.record[cols[0]] = cols[1][len("sha256=") :]


def _parse_metadata(text: str, src: Source) -> None:
    for line in text.splitlines():
        if line.startswith("Version:"):
            src.metadata_version = line.split(":", 1)[1].strip()
            break


def _read_from_dir(d: Path, src: Source) -> None:
    wheels = sorted(d.glob(f"{PACKAGE}-{VERSION}-*.whl"))
    if wheels:
        _read_from_zip(wheels[0], src)
        return
    # An unpacked wheel: the directory containing `vietnamadminunits/` (or that folder itself).
    root = None
    for cand in (d, d.parent):
        if (cand / DB_FILE).is_file():
            root = cand
            break
    if root is None:
        hits = sorted(d.rglob("dataset.db"))
        for h in hits:
            if h.parent.name == "data" and h.parent.parent.name == PACKAGE:
                root = h.parent.parent.parent
                break
    if root is None:
        raise SystemExit(f"error: no {PACKAGE} wheel or unpacked {DB_FILE} under {d}")
    for want in DATA_FILES:
        p = root / want
        if not p.is_file():
            raise SystemExit(f"error: {p} missing")
        src.files[want] = p.read_bytes()
    for info in sorted(root.glob(f"{PACKAGE}-*.dist-info")):
        if (info / "RECORD").is_file():
            _parse_record((info / "RECORD").read_text("utf-8"), src)
        if (info / "METADATA").is_file():
            _parse_metadata((info / "METADATA").read_text("utf-8"), src)
        for lic in info.rglob(LICENSE_SUFFIX):
            src.license_text = lic.read_text("utf-8")


def load_source(wheel: str | None, tmp: Path) -> Source:
    src = Source()
    if wheel is None:
        dl = tmp / "download"
        dl.mkdir()
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
               f"{PACKAGE}=={VERSION}", "-d", str(dl)]
        log("running:", " ".join(cmd))
        subprocess.run(cmd, check=True, stdout=sys.stderr)
        _read_from_dir(dl, src)
    else:
        p = Path(wheel)
        if p.is_file():
            _read_from_zip(p, src)
        elif p.is_dir():
            _read_from_dir(p, src)
        else:
            raise SystemExit(f"error: --wheel {wheel}: no such file or directory")

    if src.metadata_version and src.metadata_version != VERSION:
        raise SystemExit(f"error: package version is {src.metadata_version}, expected {VERSION}")
    if src.wheel_sha256 and src.wheel_sha256 != EXPECTED_WHEEL_SHA256:
        log(f"warning: wheel sha256 {src.wheel_sha256} differs from the one this script was "
            f"written against ({EXPECTED_WHEEL_SHA256})")
    for name, data in src.files.items():
        want = src.record.get(name)
        if want is None:
            log(f"warning: no RECORD hash for {name}; integrity not checked")
            continue
        got = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        if got != want:
            raise SystemExit(f"error: {name} does not match the wheel RECORD hash")
    return src


# ---------------------------------------------------------------------------------------------
# Building the tables


class Anomalies:
    def __init__(self) -> None:
        self.items: dict[str, list[str]] = collections.defaultdict(list)

    def add(self, kind: str, msg: str) -> None:
        if msg not in self.items[kind]:
            self.items[kind].append(msg)


def build(src: Source, tmp: Path):
    an = Anomalies()
    db_path = tmp / "dataset.db"
    db_path.write_bytes(src.files[DB_FILE])
    con = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    con.row_factory = sqlite3.Row
    conv = json.loads(src.files[CONVERTER_FILE].decode("utf-8"))

    code_re = {2: re.compile(r"^\d{2}$"), 3: re.compile(r"^\d{3}$"), 5: re.compile(r"^\d{5}$")}

    def code(v, n: int, what: str) -> str:
        if not isinstance(v, str) or not code_re[n].match(v):
            raise SystemExit(f"error: bad {what} code {v!r}")
        return v

    def put(table: dict, key: str, row: list, what: str) -> None:
        if key in table and table[key] != row:
            raise SystemExit(f"error: {what} {key} inconsistent: {table[key]} vs {row}")
        table[key] = row

    def check_type_field(kind: str, code_: str, full: str, derived: str, field) -> None:
        if field is None:
            return
        if nfc(field).casefold() != derived.casefold():
            an.add("type_field_disagrees",
                   f"{kind} {code_} {nfc(full)!r}: package type field {field!r}, "
                   f"name prefix says {derived!r} (name prefix used)")

    # ---- 2025 list
    provinces: dict[str, list] = {}
    communes: dict[str, list] = {}
    new_key: dict[tuple[str, str], str] = {}
    new_prov_key: dict[str, str] = {}
    for r in con.execute("SELECT * FROM admin_units"):
        pc = code(r["provinceCode"], 2, "province")
        pname, ptype, cased = split_type(r["province"], PROVINCE_TYPES)
        put(provinces, pc, [pc, pname, ptype], "province")
        put(new_prov_key, r["provinceKey"], pc, "province key")
        wc = code(r["wardCode"], 5, "commune")
        wname, wtype, cased = split_type(r["ward"], COMMUNE_TYPES)
        if cased:
            an.add("type_word_capitalisation", f"commune {wc} {r['ward']!r}")
        check_type_field("commune", wc, r["ward"], wtype, r["wardType"])
        if wc in communes:
            raise SystemExit(f"error: duplicate commune code {wc}")
        communes[wc] = [wc, wname, wtype, pc]
        k = (r["provinceKey"], r["wardKey"])
        if k in new_key:
            raise SystemExit(f"error: duplicate 2025 key {k}")
        new_key[k] = wc

    # ---- legacy list
    lprovinces: dict[str, list] = {}
    ldistricts: dict[str, list] = {}
    lcommunes: dict[str, list] = {}
    lcommune_district_name: dict[str, str] = {}
    legacy_key: dict[str, tuple[str, str]] = {}  # "prov_dist_ward" -> ("commune"|"district", code)
    legacy_prov_key: dict[str, str] = {}
    districts_without_communes: list[str] = []
    for r in con.execute("SELECT * FROM admin_units_legacy"):
        pc = code(r["provinceCode"], 2, "legacy province")
        pname, ptype, _ = split_type(r["province"], PROVINCE_TYPES)
        put(lprovinces, pc, [pc, pname, ptype], "legacy province")
        put(legacy_prov_key, r["provinceKey"], pc, "legacy province key")
        dc = code(r["districtCode"], 3, "district")
        dname, dtype, cased = split_type(r["district"], DISTRICT_TYPES)
        if cased:
            an.add("type_word_capitalisation", f"district {dc} {r['district']!r}")
        check_type_field("district", dc, r["district"], dtype, r["districtType"])
        put(ldistricts, dc, [dc, dname, dtype, pc], "district")
        key = f"{r['provinceKey']}_{r['districtKey']}_{r['wardKey'] or ''}"
        if key in legacy_key:
            raise SystemExit(f"error: duplicate legacy key {key}")
        if r["wardCode"] is None and r["ward"] is None:
            districts_without_communes.append(dc)
            legacy_key[key] = ("district", dc)
            continue
        wc = code(r["wardCode"], 5, "legacy commune")
        wname, wtype, cased = split_type(r["ward"], LEGACY_COMMUNE_TYPES)
        if cased:
            an.add("type_word_capitalisation", f"legacy commune {wc} {r['ward']!r}")
        check_type_field("legacy commune", wc, r["ward"], wtype, r["wardType"])
        if wc in lcommunes:
            raise SystemExit(f"error: duplicate legacy commune code {wc}")
        lcommunes[wc] = [wc, wname, wtype, dc]
        lcommune_district_name[wc] = r["district"]
        legacy_key[key] = ("commune", wc)
    con.close()

    # ---- succession (converter_2025.json)
    # DICT_PROVINCE:                 new provinceKey -> [legacy provinceKey, ...]
    # DICT_PROVINCE_WARD_NO_DIVIDED: new provinceKey -> new wardKey -> [legacy "p_d_w" key, ...]
    #                                (legacy units that went whole into that new commune)
    # DICT_PROVINCE_WARD_DIVIDED:    new provinceKey -> legacy "p_d_w" key ->
    #                                [{newWardKey, isDefaultNewWard, ...}, ...] (split units)
    prov_succ = conv["DICT_PROVINCE"]
    legacy_to_new_prov: dict[str, str] = {}
    for npk, olds in prov_succ.items():
        if npk not in new_prov_key:
            raise SystemExit(f"error: converter province key {npk} not in the 2025 list")
        for opk in olds:
            if opk not in legacy_prov_key:
                raise SystemExit(f"error: converter legacy province key {opk} unknown")
            if opk in legacy_to_new_prov:
                raise SystemExit(f"error: legacy province {opk} in two new provinces")
            legacy_to_new_prov[legacy_prov_key[opk]] = new_prov_key[npk]
    for pc in lprovinces:
        if pc not in legacy_to_new_prov:
            an.add("legacy_province_without_successor", pc)

    succ: dict[str, dict[str, bool]] = collections.defaultdict(dict)  # legacy key -> {new: default}
    source_of: dict[str, str] = {}

    def resolve_new(npk: str, nwk: str) -> str:
        c = new_key.get((npk, nwk))
        if c is None:
            raise SystemExit(f"error: converter refers to unknown 2025 commune {npk}/{nwk}")
        return c

    for npk, wards in conv["DICT_PROVINCE_WARD_NO_DIVIDED"].items():
        for nwk, olds in wards.items():
            nc = resolve_new(npk, nwk)
            for ok in olds:
                if ok not in legacy_key:
                    an.add("converter_unknown_legacy_key", ok)
                    continue
                if ok in source_of and source_of[ok] != "whole":
                    an.add("legacy_in_both_whole_and_split", ok)
                source_of[ok] = "whole"
                succ[ok][nc] = True
    for npk, olds in conv["DICT_PROVINCE_WARD_DIVIDED"].items():
        for ok, news in olds.items():
            if ok not in legacy_key:
                an.add("converter_unknown_legacy_key", ok)
                continue
            if ok in source_of:
                an.add("legacy_in_both_whole_and_split", ok)
            source_of[ok] = "split"
            defaults = [n for n in news if n.get("isDefaultNewWard")]
            if len(defaults) != 1:
                an.add("split_without_single_default", f"{ok}: {len(defaults)} defaults")
            for n in news:
                nc = resolve_new(npk, n["newWardKey"])
                succ[ok][nc] = succ[ok].get(nc, False) or bool(n.get("isDefaultNewWard"))

    succession: list[list] = []
    district_succession: list[list] = []
    whole_to_many = []
    for ok, targets in succ.items():
        kind, lc = legacy_key[ok]
        # package's default successor first, then by code
        ordered = sorted(targets, key=lambda c: (not targets[c], c))
        if kind == "district":
            district_succession.append([lc, ordered])
            continue
        if source_of[ok] == "whole" and len(ordered) > 1:
            whole_to_many.append(lc)
        # cross-province check: successors should lie in the new province of the old one
        want_p = legacy_to_new_prov.get(ldistricts[lcommunes[lc][3]][3])
        for c in ordered:
            if communes[c][3] != want_p:
                an.add("successor_in_other_province", f"{lc} -> {c}")
        succession.append([lc, ordered])
    for lc in whole_to_many:
        an.add("whole_unit_listed_under_several_new_communes", lc)
    succession.sort()
    district_succession.sort()

    have = {s[0] for s in succession}
    missing = sorted(c for c in lcommunes if c not in have)
    for dc in districts_without_communes:
        if dc not in {d[0] for d in district_succession}:
            an.add("commune_less_district_without_successor", dc)
    reached = {c for _, cs in succession for c in cs}
    no_pred = sorted(c for c in communes if c not in reached)

    data = {
        "format": 1,
        "source": {"package": PACKAGE, "version": VERSION, "licence": LICENCE,
                   "files": list(DATA_FILES)},
        "provinces": [provinces[k] for k in sorted(provinces)],
        "communes": [communes[k] for k in sorted(communes)],
        "legacy_provinces": [lprovinces[k] for k in sorted(lprovinces)],
        "legacy_districts": [ldistricts[k] for k in sorted(ldistricts)],
        "legacy_communes": [lcommunes[k] for k in sorted(lcommunes)],
        "succession": succession,
    }
    extra = {
        "missing": missing,
        "districts_without_communes": sorted(districts_without_communes),
        "district_succession": district_succession,
        "new_without_legacy_commune_predecessor": no_pred,
        "legacy_to_new_prov": legacy_to_new_prov,
        "lcommune_district_name": lcommune_district_name,
    }
    return data, extra, an


# ---------------------------------------------------------------------------------------------
# Output


def render_source_md(src: Source, data: dict, extra: dict, out_rel: str, out_sha: str,
                     out_size: int, counts: dict) -> str:
    copyright_line = None
    if src.license_text:
        for line in src.license_text.splitlines():
            if line.strip().lower().startswith("copyright"):
                copyright_line = line.strip()
                break
    L = []
    L.append("# Administrative-units reference data: source\n")
    L.append(f"`{out_rel}` is generated by `scripts/gen-units.py`; do not edit it by hand.\n")
    L.append("## Source\n")
    L.append(f"- Package: [`{PACKAGE}`](https://pypi.org/project/{PACKAGE}/{VERSION}/) "
             f"version {VERSION} (PyPI), https://github.com/tranngocminhhieu/{PACKAGE}")
    L.append(f"- Licence: {LICENCE}" + (f" ({copyright_line})" if copyright_line else ""))
    if src.wheel_name:
        L.append(f"- Wheel: `{src.wheel_name}`, SHA-256 `{src.wheel_sha256}`")
    L.append("- Only the package's data (codes, names, unit types, succession) is used; none of "
             "its code is used or copied.")
    L.append("- Data files used (checked against the wheel's RECORD):")
    for f in DATA_FILES:
        L.append(f"  - `{f}` (SHA-256 `{sha256_bytes(src.files[f])}`)")
    L.append("    - `dataset.db` table `admin_units` (2025, 34 provinces): `provinceCode`, "
             "`province`, `wardCode`, `ward`, `wardType`, `provinceKey`, `wardKey`")
    L.append("    - `dataset.db` table `admin_units_legacy` (63 provinces, 3 tiers): "
             "`provinceCode`, `province`, `districtCode`, `district`, `districtType`, "
             "`wardCode`, `ward`, `wardType`, `provinceKey`, `districtKey`, `wardKey`")
    L.append("    - `converter_2025.json`: `DICT_PROVINCE` (new province key -> legacy province "
             "keys), `DICT_PROVINCE_WARD_NO_DIVIDED` (new commune key -> legacy "
             "`province_district_commune` keys that went whole into it), "
             "`DICT_PROVINCE_WARD_DIVIDED` (legacy key of a split commune -> its new communes, "
             "one flagged `isDefaultNewWard`)")
    L.append("")
    L.append("## Regenerate\n")
    L.append("```sh")
    L.append("python3 scripts/gen-units.py --out src/units/data/units.json "
             "--source-md src/units/data/SOURCE.md")
    L.append("# or, offline, from a wheel already downloaded with")
    L.append(f"# pip download --no-deps {PACKAGE}=={VERSION}:")
    L.append(f"python3 scripts/gen-units.py --wheel {PACKAGE}-{VERSION}-py3-none-any.whl "
             "--out src/units/data/units.json --source-md src/units/data/SOURCE.md")
    L.append("```\n")
    L.append("## Output\n")
    L.append(f"- `{out_rel}`: {out_size} bytes, SHA-256 `{out_sha}`")
    L.append("- Shape: `format`, `source`, `provinces` `[code2, name, type]`, `communes` "
             "`[code5, name, type, province_code2]`, `legacy_provinces` `[code2, name, type]`, "
             "`legacy_districts` `[code3, name, type, province_code2]`, `legacy_communes` "
             "`[code5, name, type, district_code3]`, `succession` "
             "`[legacy_commune_code5, [new_commune_code5, ...]]`; rows sorted by code.")
    L.append("")
    L.append("| table | rows |")
    L.append("|---|---|")
    for k, v in counts.items():
        L.append(f"| {k} | {v} |")
    L.append("")
    L.append("## How the data was derived\n")
    L.append("- Names are NFC with whitespace collapsed. Name and type are split from the "
             "package's full name (`ward`, `district`, `province`) on the leading type word, "
             "matched case-insensitively and written in canonical case (`Thị Trấn Ái Tử` -> "
             "`Ái Tử`, `Thị trấn`). Numbered units keep only the number as name (`Phường 1` -> "
             "name `1`, type `Phường`; `Quận 1` -> `1`, `Quận`).")
    L.append("- The package's short names (`wardShort`, `districtShort`) are not used: they "
             "carry disambiguation suffixes such as `Yên Viên (Thị trấn)`.")
    L.append("- Where the package's type column disagrees with the type word of the full name, "
             "the full name wins (see anomalies below).")
    L.append("- `succession`: a legacy commune that went whole into one new commune has one "
             "successor; a split one lists all its successors, the package's default "
             "(`isDefaultNewWard`) first, then the others by code.")
    n_missing = len(extra["missing"])
    L.append(f"- Legacy communes without a successor: {n_missing}"
             + (": " + ", ".join(extra["missing"]) if n_missing else "."))
    ds = extra["district_succession"]
    ld = {r[0]: r for r in data["legacy_districts"]}
    nc = {r[0]: r for r in data["communes"]}
    if ds:
        L.append(f"- {len(extra['districts_without_communes'])} legacy districts had no communes "
                 "(island districts); they appear in `legacy_districts` but not in "
                 "`legacy_communes`, and their successors (from the package) are not in "
                 "`succession` (which is per commune): "
                 + "; ".join(f"{d} {ld[d][2]} {ld[d][1]} -> "
                             + ", ".join(f"{c} {nc[c][2]} {nc[c][1]}" for c in cs)
                             for d, cs in ds) + ". "
                 "So these 5 new special zones have no predecessor among `legacy_communes`.")
    L.append("")
    return "\n".join(L) + "\n"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--wheel", help="wheel file, directory holding it, or unpacked wheel "
                    "(default: pip download into a temp dir)")
    ap.add_argument("--out", required=True, help="output JSON path")
    ap.add_argument("--source-md", help="also (re)write this SOURCE.md")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory(prefix="gen-units-") as t:
        tmp = Path(t)
        src = load_source(args.wheel, tmp)
        data, extra, an = build(src, tmp)

    counts = {
        "provinces": len(data["provinces"]),
        "communes": len(data["communes"]),
        "legacy_provinces": len(data["legacy_provinces"]),
        "legacy_districts": len(data["legacy_districts"]),
        "legacy_communes": len(data["legacy_communes"]),
        "succession": len(data["succession"]),
        "succession_split (2+ successors)": sum(1 for _, s in data["succession"] if len(s) > 1),
        "legacy_communes_without_successor": len(extra["missing"]),
        "legacy_districts_without_communes": len(extra["districts_without_communes"]),
    }
    bad = [f"{k}={counts[k]} (expected {v})" for k, v in EXPECTED.items() if counts[k] != v]
    if bad:
        raise SystemExit("error: unexpected counts: " + ", ".join(bad))

    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    blob = (json.dumps(data, ensure_ascii=False, separators=(",", ":")) + "\n").encode("utf-8")
    out.write_bytes(blob)
    out_sha = sha256_bytes(blob)

    # ---- report
    P = print
    P(f"wrote {out} ({len(blob)} bytes, sha256 {out_sha})")
    for k, v in counts.items():
        P(f"  {k}: {v}")
    P("legacy province codes (63):", " ".join(r[0] for r in data["legacy_provinces"]))
    P("2025 provinces (34):")
    for c, n, t in data["provinces"]:
        P(f"  {c} {t} {n}")
    if extra["missing"]:
        P(f"LEGACY COMMUNES WITHOUT SUCCESSOR ({len(extra['missing'])}), left out of succession:")
        for c in extra["missing"]:
            r = {x[0]: x for x in data["legacy_communes"]}[c]
            P(f"  {c} {r[2]} {r[1]} (district {r[3]})")
    else:
        P("every legacy commune has at least one successor")
    lc = {r[0]: r for r in data["legacy_communes"]}
    nc = {r[0]: r for r in data["communes"]}
    ld = {r[0]: r for r in data["legacy_districts"]}
    if extra["district_succession"]:
        P("legacy districts without communes (not in succession):")
        for d, cs in extra["district_succession"]:
            P(f"  {d} {ld[d][2]} {ld[d][1]} -> "
              + ", ".join(f"{c} {nc[c][2]} {nc[c][1]}" for c in cs))
    if extra["new_without_legacy_commune_predecessor"]:
        P("2025 communes with no legacy-commune predecessor:",
          ", ".join(f"{c} {nc[c][2]} {nc[c][1]}"
                    for c in extra["new_without_legacy_commune_predecessor"]))

    def show(code_: str) -> str:
        r = lc[code_]
        d = ld[r[3]]
        s = dict(data["succession"]).get(code_, [])
        return (f"  {r[0]} {r[2]} {r[1]}, {d[2]} {d[1]} ({d[3]}) -> "
                + "; ".join(f"{c} {nc[c][2]} {nc[c][1]} ({nc[c][3]})" for c in s))
    P("samples:")
    for r in data["legacy_communes"]:
        if r[1] == "Phúc Xá" and ld[r[3]][1] == "Ba Đình":
            P(show(r[0]))
    splits = [s for s in data["succession"] if len(s[1]) > 1]
    for s in splits[:2]:
        P(show(s[0]) + "   [split; first = package default]")
    if splits:
        big = max(splits, key=lambda s: (len(s[1]), s[0]))
        P(show(big[0]) + f"   [most successors: {len(big[1])}]")
    P("anomalies:")
    if not an.items:
        P("  none")
    for kind, items in sorted(an.items.items()):
        P(f"  {kind}: {len(items)}")
        for m in items[:40]:
            P(f"    {m}")

    if args.source_md:
        try:
            out_rel = str(out.resolve().relative_to(Path.cwd().resolve()))
        except ValueError:
            out_rel = str(out)
        md = render_source_md(src, data, extra, out_rel, out_sha, len(blob), counts)
        anomalies = ["## Anomalies in the package data\n"]
        if not an.items:
            anomalies.append("None found.")
        for kind, items in sorted(an.items.items()):
            anomalies.append(f"- `{kind}` ({len(items)}):")
            for m in items:
                anomalies.append(f"  - {m}")
        Path(args.source_md).write_text(md + "\n".join(anomalies) + "\n", "utf-8")
        P(f"wrote {args.source_md}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

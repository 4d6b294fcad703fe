#!/usr/bin/env python3
"""Generate target/units-gso-legacy.tsv, a test fixture listing the legacy (pre-2025,
63-province, three-tier) administrative units as spelled by the statistics office (GSO, Tổng
cục Thống kê), taken from the PyPI package `vietnam-provinces` 0.6.0 (GPL-3.0-or-later).

This is a second source, independent of `vietnamadminunits` (which feeds
src/units/data/units.json through scripts/gen-units.py): vietnam-provinces 0.6.0 carries
GSO's own export (danhmuchanhchinh.gso.gov.vn, "Xuất Excel", dated 2025-01-04 by the package),
converted to JSON by the package author (names NFC). Only the package's
*data* is read (codes and full names); none of its code is used, imported or copied.

Usage (from the repository root):

    python3 scripts/gen-units-gso.py [--archive PATH_OR_DIR] \
        --out target/units-gso-legacy.tsv [--source-md tests/data/SOURCE-gso.md]

PATH_OR_DIR is the wheel (vietnam_provinces-0.6.0-py3-none-any.whl), the sdist
(vietnam_provinces-0.6.0.tar.gz), a directory holding one of them, or a directory holding the
unpacked wheel/sdist. Without --archive the script runs
`pip download --no-deps --only-binary=:all: vietnam-provinces==0.6.0` into a temporary
directory.

Input used from the archive:
  vietnam_provinces/data/flat-divisions.json   one object per commune: province_name,
                                               province_code, district_name, district_code,
                                               ward_name, ward_code (+ codenames, unused);
                                               districts without communes have ward_code null
  vietnam_provinces/data/nested-divisions.json only cross-checked against the flat file
  vietnam_provinces/__init__.py                only read as text for `__data_version__`

Output: one row per legacy commune, sorted by commune code, tab-separated:
  commune_code5  commune_full_name  district_code3  district_full_name  province_code2
  province_full_name
Names are the package's full names (type word included, e.g. "Xã EaBar", "Huyện Buôn Đôn",
"Tỉnh Đắk Lắk"), NFC-normalised and otherwise unchanged. The first line starts with `#` and
names the source, version, licence, URL, archive SHA-256, row count and columns.

Python 3.11, standard library only.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import re
import subprocess
import sys
import tarfile
import tempfile
import unicodedata
import zipfile
from pathlib import Path

DIST = "vietnam-provinces"
MODULE = "vietnam_provinces"
VERSION = "0.6.0"
LICENCE = "GPL-3.0-or-later"
AUTHOR = "Nguyễn Hồng Quân <ng.hong.quan@gmail.com>"
PYPI_URL = f"https://pypi.org/project/{DIST}/{VERSION}/"
REPO_URL = "https://github.com/sunshine-tech/VietnamProvinces"
WHEEL_NAME = f"{MODULE}-{VERSION}-py3-none-any.whl"
SDIST_NAME = f"{MODULE}-{VERSION}.tar.gz"
# SHA-256 of the archives as downloaded from PyPI when this script was written; a different
# archive only triggers a warning (the data file is still checked against the wheel's RECORD,
# or against EXPECTED_DATA_SHA256 for an sdist / unpacked tree).
EXPECTED_ARCHIVE_SHA256 = {
    WHEEL_NAME: "4b5772870efdcb7c58a64fbdc0e0c9ce497e67017a0c189dff99582ddadb7815",
    SDIST_NAME: "19d1292918bd6bf9a3d378787d940d55c0d8842d0ab87aae12f87b05766975fa",
}
FLAT_FILE = f"{MODULE}/data/flat-divisions.json"
NESTED_FILE = f"{MODULE}/data/nested-divisions.json"
INIT_FILE = f"{MODULE}/__init__.py"
DATA_FILES = [FLAT_FILE, NESTED_FILE, INIT_FILE]
EXPECTED_DATA_SHA256 = {
    FLAT_FILE: "c4a08b96c4f444e7ed6334d55dfd11942ed6736390387e7df957789c47d47ac3",
    NESTED_FILE: "a7de74aa026531fff09636cbb6657dab09a83eaff5f230e4736f66e0b7460001",
}

EXPECTED = {"provinces": 63, "districts": 696}

# Type words the full names are expected to start with (checked, never rewritten).
PROVINCE_TYPES = ["Thành phố", "Tỉnh"]
DISTRICT_TYPES = ["Thành phố", "Thị xã", "Quận", "Huyện"]
COMMUNE_TYPES = ["Thị trấn", "Phường", "Xã"]

COLUMNS = ["commune_code5", "commune_full_name", "district_code3", "district_full_name",
           "province_code2", "province_full_name"]


def log(*a) -> None:
    print(*a, file=sys.stderr)


def nfc(s: str) -> str:
    return unicodedata.normalize("NFC", s)


def sha256_bytes(b: bytes) -> str:
    return hashlib.sha256(b).hexdigest()


# ---------------------------------------------------------------------------------------------
# Locating the package data


class Source:
    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.record: dict[str, str] = {}  # path -> urlsafe-b64 sha256 (wheel RECORD)
        self.archive_name: str | None = None
        self.archive_sha256: str | None = None
        self.metadata_version: str | None = None
        self.declared_licence: str | None = None


def _parse_record(text: str, src: Source) -> None:
    for line in text.splitlines():
        cols = line.rsplit(",", 2)
        if len(cols) == 3 and cols[1].startswith("sha256="):
            src.record[cols[0]] = cols[1][len("sha256="):]


def _parse_metadata(text: str, src: Source) -> None:
    for line in text.splitlines():
        if not line.strip():
            break  # end of the header block
        key, _, val = line.partition(":")
        if key == "Version":
            src.metadata_version = val.strip()
        elif key in ("License", "License-Expression") and val.strip():
            src.declared_licence = val.strip()


def _parse_pyproject(text: str, src: Source) -> None:
    m = re.search(r'^license\s*=\s*\{\s*text\s*=\s*"([^"]+)"', text, re.M)
    if m is None:
        m = re.search(r'^license\s*=\s*"([^"]+)"', text, re.M)
    if m and not src.declared_licence:
        src.declared_licence = m.group(1)


def _read_from_zip(path: Path, src: Source) -> None:
    src.archive_name = path.name
    src.archive_sha256 = sha256_bytes(path.read_bytes())
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


def _read_from_tar(path: Path, src: Source) -> None:
    src.archive_name = path.name
    src.archive_sha256 = sha256_bytes(path.read_bytes())
    with tarfile.open(path, "r:gz") as t:
        members = {m.name: m for m in t.getmembers() if m.isfile()}
        top = f"{MODULE}-{VERSION}/"
        for want in DATA_FILES:
            m = members.get(top + want)
            if m is None:
                raise SystemExit(f"error: {top + want} not found in {path}")
            src.files[want] = t.extractfile(m).read()
        if (m := members.get(top + "PKG-INFO")) is not None:
            _parse_metadata(t.extractfile(m).read().decode("utf-8"), src)
        if (m := members.get(top + "pyproject.toml")) is not None:
            _parse_pyproject(t.extractfile(m).read().decode("utf-8"), src)


def _read_from_dir(d: Path, src: Source) -> None:
    for name in (WHEEL_NAME, SDIST_NAME):
        if (d / name).is_file():
            _read_archive(d / name, src)
            return
    # An unpacked wheel or sdist: the directory containing `vietnam_provinces/`.
    root = None
    for cand in (d, d.parent, *sorted(d.glob(f"{MODULE}-{VERSION}"))):
        if (cand / FLAT_FILE).is_file():
            root = cand
            break
    if root is None:
        raise SystemExit(f"error: no {WHEEL_NAME}, {SDIST_NAME} or unpacked {FLAT_FILE} under {d}")
    for want in DATA_FILES:
        p = root / want
        if not p.is_file():
            raise SystemExit(f"error: {p} missing")
        src.files[want] = p.read_bytes()
    for info in sorted(root.glob(f"{MODULE}-*.dist-info")):
        if (info / "RECORD").is_file():
            _parse_record((info / "RECORD").read_text("utf-8"), src)
        if (info / "METADATA").is_file():
            _parse_metadata((info / "METADATA").read_text("utf-8"), src)
    if (root / "PKG-INFO").is_file():
        _parse_metadata((root / "PKG-INFO").read_text("utf-8"), src)
    if (root / "pyproject.toml").is_file():
        _parse_pyproject((root / "pyproject.toml").read_text("utf-8"), src)


def _read_archive(p: Path, src: Source) -> None:
    if p.name.endswith(".whl") or zipfile.is_zipfile(p):
        _read_from_zip(p, src)
    elif p.name.endswith((".tar.gz", ".tgz")):
        _read_from_tar(p, src)
    else:
        raise SystemExit(f"error: {p}: not a wheel or .tar.gz sdist")


def load_source(archive: str | None, tmp: Path) -> Source:
    src = Source()
    if archive is None:
        dl = tmp / "download"
        dl.mkdir()
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
               f"{DIST}=={VERSION}", "-d", str(dl)]
        log("running:", " ".join(cmd))
        subprocess.run(cmd, check=True, stdout=sys.stderr)
        _read_from_dir(dl, src)
    else:
        p = Path(archive)
        if p.is_file():
            _read_archive(p, src)
        elif p.is_dir():
            _read_from_dir(p, src)
        else:
            raise SystemExit(f"error: --archive {archive}: no such file or directory")

    if src.metadata_version and src.metadata_version != VERSION:
        raise SystemExit(f"error: package version is {src.metadata_version}, expected {VERSION}")
    m = re.search(r"^__version__\s*=\s*['\"]([^'\"]+)['\"]", src.files[INIT_FILE].decode("utf-8"),
                  re.M)
    if m and m.group(1) != VERSION:
        raise SystemExit(f"error: {INIT_FILE} says version {m.group(1)}, expected {VERSION}")
    if src.archive_name:
        want = EXPECTED_ARCHIVE_SHA256.get(src.archive_name)
        if want is None:
            log(f"warning: archive {src.archive_name} is neither {WHEEL_NAME} nor {SDIST_NAME}")
        elif src.archive_sha256 != want:
            log(f"warning: {src.archive_name} sha256 {src.archive_sha256} differs from the one "
                f"this script was written against ({want})")
    for name, data in src.files.items():
        want = src.record.get(name)
        if want is not None:
            got = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
            if got != want:
                raise SystemExit(f"error: {name} does not match the wheel RECORD hash")
        elif name in EXPECTED_DATA_SHA256:
            if sha256_bytes(data) != EXPECTED_DATA_SHA256[name]:
                log(f"warning: {name} sha256 {sha256_bytes(data)} differs from the one this "
                    f"script was written against ({EXPECTED_DATA_SHA256[name]})")
    if src.declared_licence and src.declared_licence != LICENCE:
        log(f"warning: package declares licence {src.declared_licence!r}, expected {LICENCE!r}")
    return src


def data_version(src: Source) -> str:
    m = re.search(r"^__data_version__\s*=\s*['\"]([^'\"]+)['\"]",
                  src.files[INIT_FILE].decode("utf-8"), re.M)
    return m.group(1) if m else "unknown"


# ---------------------------------------------------------------------------------------------
# Building the rows


def build(src: Source):
    flat = json.loads(src.files[FLAT_FILE].decode("utf-8"))
    nested = json.loads(src.files[NESTED_FILE].decode("utf-8"))
    anomalies: list[str] = []

    def name(v, what: str) -> str:
        if not isinstance(v, str) or not v.strip():
            raise SystemExit(f"error: empty {what} name {v!r}")
        s = nfc(v)
        if any(c in s for c in "\t\r\n"):
            raise SystemExit(f"error: {what} name {v!r} contains a tab or newline")
        if s != s.strip() or "  " in s:
            anomalies.append(f"{what} name {s!r} has leading/trailing or doubled spaces "
                             "(kept as is)")
        return s

    def code(v, n: int, what: str) -> str:
        if not isinstance(v, int) or isinstance(v, bool) or not 0 < v < 10 ** n:
            raise SystemExit(f"error: bad {what} code {v!r}")
        return f"{v:0{n}d}"

    def check_type(full: str, types: list[str], what: str, c: str) -> None:
        if not any(full.startswith(t + " ") for t in types):
            hit = [t for t in types if full.casefold().startswith(t.casefold() + " ")]
            anomalies.append(f"{what} {c} {full!r}: "
                             + (f"type word not in canonical case ({hit[0]!r})" if hit
                                else "no known type word at start"))

    provinces: dict[str, str] = {}
    districts: dict[str, tuple[str, str]] = {}
    communes: dict[str, tuple[str, str]] = {}

    def put(table: dict, key: str, val, what: str) -> None:
        if key in table and table[key] != val:
            raise SystemExit(f"error: {what} {key} inconsistent: {table[key]!r} vs {val!r}")
        table[key] = val

    for r in flat:
        pc = code(r["province_code"], 2, "province")
        pn = name(r["province_name"], "province")
        put(provinces, pc, pn, "province")
        dc = code(r["district_code"], 3, "district")
        dn = name(r["district_name"], "district")
        put(districts, dc, (dn, pc), "district")
        if r["ward_code"] is None:
            if r["ward_name"]:
                raise SystemExit(f"error: commune without code: {r!r}")
            continue
        wc = code(r["ward_code"], 5, "commune")
        wn = name(r["ward_name"], "commune")
        if wc in communes:
            raise SystemExit(f"error: duplicate commune code {wc}")
        communes[wc] = (wn, dc)

    # Cross-check against the nested file of the same package.
    n_prov: dict[str, str] = {}
    n_dist: dict[str, tuple[str, str]] = {}
    n_comm: dict[str, tuple[str, str]] = {}
    for p in nested:
        pc = code(p["code"], 2, "province")
        n_prov[pc] = nfc(p["name"])
        for d in p["districts"]:
            dc = code(d["code"], 3, "district")
            n_dist[dc] = (nfc(d["name"]), pc)
            for w in d["wards"]:
                n_comm[code(w["code"], 5, "commune")] = (nfc(w["name"]), dc)
    if (n_prov, n_dist, n_comm) != (provinces, districts, communes):
        raise SystemExit(f"error: {FLAT_FILE} and {NESTED_FILE} disagree")

    for pc, pn in provinces.items():
        check_type(pn, PROVINCE_TYPES, "province", pc)
    for dc, (dn, _) in districts.items():
        check_type(dn, DISTRICT_TYPES, "district", dc)
    for wc, (wn, _) in communes.items():
        check_type(wn, COMMUNE_TYPES, "commune", wc)

    rows = []
    for wc in sorted(communes):
        wn, dc = communes[wc]
        dn, pc = districts[dc]
        rows.append([wc, wn, dc, dn, pc, provinces[pc]])
    with_communes = {r[2] for r in rows}
    empty_districts = [(dc, districts[dc][0]) for dc in sorted(districts) if dc not in with_communes]
    return rows, provinces, districts, empty_districts, anomalies


def header_line(src: Source, n_rows: int) -> str:
    return ("# source: PyPI package " f"{DIST} {VERSION} ({PYPI_URL} ; {REPO_URL})"
            f"; licence: {LICENCE}; archive: {src.archive_name or 'unpacked tree'} sha256 "
            f"{src.archive_sha256 or 'n/a'}; data: {FLAT_FILE} (GSO export, data version "
            f"{data_version(src)}); rows: {n_rows}; columns: " + ", ".join(COLUMNS))


def render_source_md(src: Source, out_rel: str, out_sha: str, out_size: int, n_rows: int,
                     provinces: dict, districts: dict, empty_districts: list,
                     anomalies: list[str]) -> str:
    L = []
    L.append("# GSO legacy administrative units test fixture: source\n")
    L.append(f"`{out_rel}` is generated by `scripts/gen-units-gso.py`; do not edit it by hand.")
    L.append("It is a second, independent list of the legacy (pre-2025: 63 provinces, three "
             "tiers) administrative units with their GSO (Tổng cục Thống kê) codes, used to "
             "test the address resolver against spellings other than those of "
             "`vietnamadminunits` (which feeds `src/units/data/units.json`).\n")
    L.append("## Source\n")
    L.append(f"- Package: [`{DIST}`]({PYPI_URL}) version {VERSION} (PyPI), {REPO_URL}")
    L.append(f"- Licence: {LICENCE}. Copyright (C) {AUTHOR} (author named in the package "
             "metadata). The licence is declared in the sdist's `pyproject.toml` "
             "(`license = {text = \"GPL-3.0-or-later\"}`); the 0.6.0 wheel's METADATA has no "
             "licence field, and the package ships no LICENSE file or copyright notice of its "
             "own (later releases declare `License-Expression: GPL-3.0-or-later`).")
    L.append("- Licence consequence: GPL-3.0 is an open but copyleft licence. The fixture holds "
             "only factual data (official codes and official names published by the "
             "statistics office), but to be safe treat `" + out_rel + "` as GPL-3.0-or-later "
             "data: keep it a test fixture, do not embed it in the shipped binary or in "
             "`src/`.")
    if src.archive_name:
        L.append(f"- Archive: `{src.archive_name}`, SHA-256 `{src.archive_sha256}`")
    L.append(f"- Data file: `{FLAT_FILE}` (SHA-256 `{sha256_bytes(src.files[FLAT_FILE])}`), "
             f"cross-checked against `{NESTED_FILE}` (SHA-256 "
             f"`{sha256_bytes(src.files[NESTED_FILE])}`); both checked against the wheel's "
             "RECORD when read from the wheel.")
    L.append(f"- Data version (`__data_version__` in `{INIT_FILE}`, read as text): "
             f"{data_version(src)}. Per the package README the data is GSO's own Excel export "
             "from https://danhmuchanhchinh.gso.gov.vn/ (\"Xuất Excel\", \"Quận Huyện Phường "
             "Xã\"), converted to JSON by the package author's development tool (kept in the "
             "package's repository, not in the package). In the package data every name is "
             "already NFC and none has leading, trailing or doubled spaces.")
    L.append("- Independence: `vietnamadminunits` 1.0.4 built its legacy list from its own "
             "download of danhmuchanhchinh.gso.gov.vn (July 2025); `vietnam-provinces` 0.6.0 "
             "from GSO's Excel export of 2025-01-04. Neither package uses the other's data; "
             "both go back to GSO, six months apart, so a difference between them is either a "
             "change GSO made between those dates or the work of one package's processing.")
    L.append("- What was taken: data only (codes and full names of communes, districts, "
             "provinces). None of the package's code is used, imported, executed or copied "
             "(`__init__.py` is only read as text for the data version).")
    L.append("")
    L.append("## Regenerate\n")
    L.append("```sh")
    L.append("python3 scripts/gen-units-gso.py --out target/units-gso-legacy.tsv "
             "--source-md tests/data/SOURCE-gso.md")
    L.append("# or, offline, from an archive already downloaded with")
    L.append(f"# pip download --no-deps {DIST}=={VERSION}:")
    L.append(f"python3 scripts/gen-units-gso.py --archive {WHEEL_NAME} "
             "--out target/units-gso-legacy.tsv --source-md tests/data/SOURCE-gso.md")
    L.append("```\n")
    L.append("## Output\n")
    L.append(f"- `{out_rel}`: {out_size} bytes, SHA-256 `{out_sha}`")
    L.append(f"- Rows: {n_rows} legacy communes (one per row, sorted by commune code), in "
             f"{len(districts) - len(empty_districts)} districts of {len(provinces)} provinces.")
    L.append("- First line: `#` followed by source package, version, licence, URLs, archive "
             "SHA-256, data file and version, row count and the column names.")
    L.append("- Columns (tab-separated, UTF-8, `\\n` line ends): `" + "`, `".join(COLUMNS) + "`.")
    L.append("- Codes are zero-padded GSO codes (5, 3 and 2 digits). Names are the package's "
             "full names with their type word (`Xã EaBar`, `Huyện Buôn Đôn`, `Tỉnh Đắk Lắk`), "
             "NFC-normalised and otherwise exactly as the package spells them (type-word case, "
             "tone placement such as `Hoà`, apostrophes and hyphens untouched).")
    L.append(f"- {len(empty_districts)} districts have no communes and so no row: "
             + ", ".join(f"{dc} {dn}" for dc, dn in empty_districts) + ".")
    L.append("")
    L.append("## Anomalies seen in the package data (kept as is)\n")
    if anomalies:
        for a in anomalies:
            L.append(f"- {a}")
    else:
        L.append("None found.")
    return "\n".join(L) + "\n"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--archive", help="wheel or sdist file, directory holding it, or unpacked "
                    "tree (default: pip download into a temp dir)")
    ap.add_argument("--out", required=True, help="output TSV path")
    ap.add_argument("--source-md", help="also (re)write this SOURCE-gso.md")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory(prefix="gen-units-gso-") as t:
        src = load_source(args.archive, Path(t))
    rows, provinces, districts, empty_districts, anomalies = build(src)

    counts = {"provinces": len(provinces), "districts": len(districts)}
    bad = [f"{k}={counts[k]} (expected {v})" for k, v in EXPECTED.items() if counts[k] != v]
    if bad:
        raise SystemExit("error: unexpected counts: " + ", ".join(bad))

    lines = [header_line(src, len(rows))] + ["\t".join(r) for r in rows]
    blob = ("\n".join(lines) + "\n").encode("utf-8")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(blob)
    out_sha = sha256_bytes(blob)

    P = print
    P(f"wrote {out} ({len(blob)} bytes, sha256 {out_sha})")
    P(f"  communes (rows): {len(rows)}")
    P(f"  districts: {len(districts)} ({len(empty_districts)} without communes: "
      + ", ".join(f"{dc} {dn}" for dc, dn in empty_districts) + ")")
    P(f"  provinces: {len(provinces)}")
    P(f"  data version: {data_version(src)}")
    P("samples:")
    for r in rows:
        if r[0] in ("00001", "22225", "24283"):
            P("  " + " | ".join(r))
    P(f"anomalies: {len(anomalies) or 'none'}")
    for a in anomalies:
        P(f"  {a}")

    if args.source_md:
        try:
            out_rel = str(out.resolve().relative_to(Path.cwd().resolve()))
        except ValueError:
            out_rel = str(out)
        md = render_source_md(src, out_rel, out_sha, len(blob), len(rows), provinces,
                              districts, empty_districts, anomalies)
        Path(args.source_md).write_text(md, "utf-8")
        P(f"wrote {args.source_md}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""A legacy one-stop system pushing through lienthong with a stock SOAP client (zeep).

Usage: zeep_client.py HUB_URL TOKEN
Reads the WSDL the hub serves for the motcua-hatinh adapter, sends a good dossier status event
and a bad one, and prints one JSON line per call: the response, or the Fault.
"""

import json
import sys

import requests
import zeep
from zeep.transports import Transport

hub, token = sys.argv[1], sys.argv[2]
session = requests.Session()
session.headers["Authorization"] = "Bearer " + token
client = zeep.Client(f"{hub}/v1/ingest/motcua-hatinh?wsdl", transport=Transport(session=session))
operation = client.service["dossier-status"]

good = dict(
    MaHoSo="000.00.10.H42-250915-0001",
    MaSuKien="000.00.10.H42-250915-0001#3",
    MaTTHC="1.001612",
    CoQuanTiepNhan="000.00.10.H42",
    SoDinhDanhChuHoSo="042192004518",
    KenhNop="TRUCTUYEN",
    TrangThai="DANGXULY",
    ThoiDiem="15/09/2025 14:10:00",
    NgayTiepNhan="15/09/2025 08:42:10",
    NgayHenTra="18/09/2025 17:00:00",
    CanBoXuLy={"HoTen": "Phan Văn Hùng", "ChucVu": "Chuyên viên"},
    NoiDung="Chuyển thẩm định hồ sơ.",
)
result = operation(**good)
print(json.dumps({"call": "good", "exchange_id": result.ExchangeId, "digest": result.Digest,
                  "record_type": result.RecordType}, ensure_ascii=False))

bad = dict(good, TrangThai="KHONGRO", ThoiDiem="31/09/2025 14:10:00")
try:
    operation(**bad)
    print(json.dumps({"call": "bad", "fault": None}))
except zeep.exceptions.Fault as fault:
    detail = fault.detail
    codes = [e.text for e in detail.iter() if e.tag.endswith("}Code")] if detail is not None else []
    print(json.dumps({"call": "bad", "fault": fault.message, "faultcode": fault.code,
                      "codes": codes}, ensure_ascii=False))

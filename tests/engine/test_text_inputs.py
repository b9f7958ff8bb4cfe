"""Text inputs in other encodings and shapes: UTF-16 without a BOM, HTML tables, and forecast CSVs
in UTF-16, Latin-1 and Windows-1252 (they failed or read as mojibake)."""

import pandas as pd
import pytest

from engine.forecast import io as forecast_io
from engine.forecast.io import read_series, read_table
from engine.summarize.textio import decode_bytes, html_to_text, prepare_text
from engine.text.decode import sniff_encoding

ROWS = "".join(f"2020-{m:02d}-01,{m * 1.5}\n" for m in range(1, 13))


def write(tmp_path, data: bytes, name="s.csv"):
    p = tmp_path / name
    p.write_bytes(data)
    return p


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be"])
def test_utf16_without_a_bom_is_text_not_binary(codec):
    text = "Die Fähre fährt morgen wieder.\nÖffnungszeiten: 8–18 Uhr.\n"
    assert sniff_encoding(text.encode(codec)) == codec
    assert decode_bytes(text.encode(codec), "notes.txt") == text


def test_nuls_in_every_other_byte_that_do_not_read_as_text_are_still_binary():
    with pytest.raises(ValueError, match="binary"):
        decode_bytes(b"".join(bytes([i, 0]) for i in range(1, 31)) * 50, "table.bin")  # control codes
    with pytest.raises(ValueError, match="binary"):
        decode_bytes(b"abc\x00\x01\x02" * 1000, "blob.bin")  # NULs only in odd bytes, 1 pair in 3
    with pytest.raises(ValueError, match="binary"):
        # 16-bit little-endian numbers 33…126: every high byte NUL, but no space or line break
        decode_bytes(b"".join(i.to_bytes(2, "little") for i in range(33, 127)) * 20, "samples.bin")


def test_html_table_cells_are_separated_and_rows_broken():
    html = (
        "<p>Ferry times.</p><table><tr><th>Port</th><th>Departs</th></tr>"
        "<tr><td>Oslo</td><td>08:00</td></tr><tr><td>Bergen<td>09:30</table>"
    )
    assert html_to_text(html) == "Ferry times.\n\nPort Departs\n\nOslo 08:00\n\nBergen 09:30"
    assert "c1 c2" in prepare_text("<table><tr><td>c1</td><td>c2</td></tr></table>" * 2)


@pytest.mark.parametrize("codec", ["utf-16", "utf-16-le"])
def test_forecast_csv_in_utf16_reads_its_columns(tmp_path, codec):
    p = write(tmp_path, ("date,Température (°C)\n" + ROWS).encode(codec))
    s = read_series(p)
    assert s.name == "Température (°C)" and len(s) == 12 and s.freq == "MS"
    assert s.values[-1] == pytest.approx(18.0)


def test_forecast_csv_in_utf16_tab_separated(tmp_path):
    p = write(tmp_path, ("date\tWert\n" + ROWS.replace(",", "\t")).encode("utf-16"), "excel.txt")
    assert list(read_table(p).columns) == ["date", "Wert"]


@pytest.mark.parametrize("codec", ["latin-1", "cp1252"])
def test_forecast_csv_in_latin1_or_cp1252_has_readable_column_names(tmp_path, codec):
    text = "date,Température (°C),Umsatz “netto” €\n" + ROWS.replace("\n", ",1\n")
    p = write(tmp_path, text.encode(codec, errors="replace"))
    cols = list(read_table(p).columns)
    assert cols[1] == "Température (°C)"
    if codec == "cp1252":
        assert cols[2] == "Umsatz “netto” €"


def test_semicolon_latin1_csv_with_decimal_commas(tmp_path):
    rows = "".join(f"01.{m:02d}.2020;{m},5\n" for m in range(1, 13))
    s = read_series(write(tmp_path, ("Datum;Température\n" + rows).encode("latin-1")))
    assert s.name == "Température" and s.values[0] == pytest.approx(1.5)


def test_a_latin1_byte_after_the_first_64kb_is_not_replaced(tmp_path):
    rows = "".join(f"{i},ok\n" for i in range(20_000))  # > 64 KB of ASCII
    p = write(tmp_path, ("value,note\n" + rows + "20000,café\n").encode("cp1252"))
    df = read_table(p)
    assert df["note"].iloc[-1] == "café" and len(df) == 20_001


def test_utf8_file_with_a_stray_bad_byte_late_keeps_its_utf8(tmp_path):
    rows = "".join(f"{i},ok\n" for i in range(20_000))
    data = ("value,Température\n" + rows).encode() + b"20000,caf\xe9\n"
    df = read_table(write(tmp_path, data))
    assert df.columns[1] == "Température" and df.iloc[-1, 1] == "caf\ufffd"


def test_a_plain_file_is_read_once(tmp_path, monkeypatch):
    calls = []
    real = pd.read_csv
    monkeypatch.setattr(forecast_io.pd, "read_csv", lambda *a, **k: calls.append(k) or real(*a, **k))
    read_table(write(tmp_path, ("date,sales\n" + ROWS).encode()))
    assert len(calls) == 1 and calls[0]["encoding"] == "utf-8"


def test_binary_csv_is_refused_and_messages_carry_no_nuls(tmp_path):
    with pytest.raises(ValueError, match="binary") as err:
        read_table(write(tmp_path, b"a,b\n\x00\x01\x02\x03\xff" * 100, "blob.csv"))
    assert "\x00" not in str(err.value)
    # a UTF-16 table without numbers says so with its real column names
    p = write(tmp_path, "Name,Stadt\nAnna,Köln\nBen,Wien\nCem,Bern\n".encode("utf-16"), "text.csv")
    with pytest.raises(ValueError, match="no numeric column") as err:
        read_series(p)
    assert "\x00" not in str(err.value) and "'Name', 'Stadt'" in str(err.value)

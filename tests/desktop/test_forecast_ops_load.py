"""The desktop's loader reads a file as the forecast will: a semicolon file with decimal commas gives
the same numbers in the plot before forecasting as in the forecast."""

from desktop.forecast_ops import forecast_file, load_series


def test_semicolon_file_with_decimal_commas_loads_as_it_forecasts(tmp_path):
    path = tmp_path / "semi.csv"
    rows = "\n".join(f"2020-{m:02d}-01;{100 + m},5" for m in range(1, 13))
    path.write_text("date;value\n" + rows + "\n")
    loaded = load_series(str(path))
    assert loaded["column"] == "value" and loaded["y"] == [100.5 + m for m in range(1, 13)]
    assert not loaded["warnings"]
    fc = forecast_file(str(path), None, 2, "naive")
    assert fc["y"] == loaded["y"] and fc["mean"][0] == 112.5

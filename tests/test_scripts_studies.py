"""The study scripts run at tiny size and produce what they promise."""
import numpy as np

from scripts import temperature


def test_temperature_sweep_tiny(tmp_path):
    rows = temperature.run(walkers=300, ratios=(1.5,), span=6.0)
    (r,) = rows
    assert r["arrived"] > 0.95
    assert abs(r["ratio"] - 1) < 4 * r["se"] / r["exact"] + 0.02
    assert r["T"] > 0 and r["sigma"] > 0
    md = temperature.markdown(rows)
    assert f"{r['exact']:.2f}" in md
    p = temperature.figure(rows, tmp_path / "t.png")
    assert p.stat().st_size > 10_000
    assert np.isfinite(r["kramers"])

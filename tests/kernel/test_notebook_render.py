"""A notebook with a plotly chart, executed and exported to HTML by nbconvert, then rendered by
headless Chromium: the screenshot must show the chart's bars, not a blank plot area.

Needs the `pitlab` kernelspec on JUPYTER_PATH (scripts/test.js installs it into a temp prefix).
"""

import os
import shutil
import struct
import subprocess
import tempfile
import unittest
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
NOTEBOOK = os.path.join(HERE, "fixtures", "plotly.ipynb")
# Flags from the machine notes: without the background-networking ones Chromium keeps trying
# (and failing) to reach Google's hosts on this closed network.
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--hide-scrollbars",
]


def read_png(path):
    """Decodes an 8-bit RGB/RGBA PNG into (width, height, channels, rows of bytes)."""
    with open(path, "rb") as f:
        data = f.read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat = 8, b""
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, color = struct.unpack(">IIBB", body[:10])
            assert depth == 8 and color in (2, 6), f"unsupported PNG depth {depth} color {color}"
            channels = 3 if color == 2 else 4
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    raw = zlib.decompress(idat)
    stride = width * channels
    rows, prev = [], bytearray(stride)
    for y in range(height):
        kind = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - channels] if i >= channels else 0
            b = prev[i]
            c = prev[i - channels] if i >= channels else 0
            if kind == 1:
                line[i] = (line[i] + a) & 255
            elif kind == 2:
                line[i] = (line[i] + b) & 255
            elif kind == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif kind == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(bytes(line))
        prev = line
    return width, height, channels, rows


class NotebookRenderTest(unittest.TestCase):
    def test_plotly_chart_renders_in_exported_html(self):
        chromium = shutil.which("chromium") or shutil.which("chromium-browser")
        self.assertIsNotNone(chromium, "Chromium is missing: apt-get install chromium")
        out = tempfile.mkdtemp(prefix="pitlab-render-")
        subprocess.run(
            ["jupyter", "nbconvert", "--to", "html", "--execute", NOTEBOOK, "--output-dir", out,
             "--ExecutePreprocessor.timeout=180", "--ExecutePreprocessor.startup_timeout=180"],
            check=True, capture_output=True, timeout=400,
        )
        page = os.path.join(out, "plotly.html")
        with open(page, encoding="utf-8") as f:
            html = f.read()
        self.assertIn("window.Plotly.newPlot", html)
        self.assertIn("pitlab render check", html)

        shot = os.path.join(out, "shot.png")
        subprocess.run(
            [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={os.path.join(out, 'profile')}",
             "--window-size=1000,1400", "--virtual-time-budget=15000", f"--screenshot={shot}",
             f"file://{page}"],
            check=True, capture_output=True, timeout=120,
        )
        width, height, channels, rows = read_png(shot)
        red = sum(
            1
            for row in rows
            for x in range(0, width * channels, channels)
            if row[x] > 200 and row[x + 1] < 60 and row[x + 2] < 60
        )
        # Three bars of about 200 x 300 px; an undrawn (blank) plot area has no red at all.
        self.assertGreater(red, 20_000, f"plot area looks blank: {red} red pixels in {shot}")


if __name__ == "__main__":
    unittest.main()

"""report.render.markdown_to_html (markdown-it-py): the prune and DSE reports' tables, code,
escaping and embedded plots."""

from __future__ import annotations

import base64
import re

from neutnngen.report.render import markdown_to_html

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==")

MD = """# neutnngen pruning: demo

Base: `prune-fraction{target=0.3}` keeps **70%** of the synapses.

| spec | synapses | note |
|---|---:|---|
| `none` | 300 | a\\|b |
| prune-weight{max=0} | 210 | <b>raw</b> |

## Accuracy vs cost

![accuracy vs cost](plots/prune_curve.png)

![missing](plots/not_given.png)

```
neutnngen prune CONFIG --passes 'SPEC'
```
"""


def test_tables_code_and_escaping(tmp_path):
    page = markdown_to_html(MD, "demo <report>", [])
    assert page.startswith("<!doctype html>") and page.rstrip().endswith("</body></html>")
    assert "<title>demo &lt;report&gt;</title>" in page
    assert "<h1>neutnngen pruning: demo</h1>" in page and "<h2>Accuracy vs cost</h2>" in page
    rows = re.findall(r"<tr>(.*?)</tr>", page, re.S)
    cells = [re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", r, re.S) for r in rows]
    assert cells == [["spec", "synapses", "note"],
                     ["<code>none</code>", "300", "a|b"],  # \| is a literal bar in a cell
                     ["prune-weight{max=0}", "210", "&lt;b&gt;raw&lt;/b&gt;"]]  # raw HTML escaped
    assert "<code>prune-fraction{target=0.3}</code>" in page and "<strong>70%</strong>" in page
    assert "<pre><code>neutnngen prune CONFIG --passes 'SPEC'\n</code></pre>" in page
    assert "<img" not in page  # no image files given: plots are left out, not linked


def test_images_embedded_as_png_data(tmp_path):
    plot = tmp_path / "prune_curve.png"
    plot.write_bytes(PNG)
    page = markdown_to_html(MD, "demo", [plot, tmp_path / "not_given.png"])
    imgs = re.findall(r"<img [^>]*>", page)
    assert imgs == [f"<img alt='accuracy vs cost' src='data:image/png;base64,"
                    f"{base64.b64encode(PNG).decode()}'>"]  # the absent file is left out

"""The report's document: blocks (headings, paragraphs, lists, tables, figures) rendered both
to Markdown (``report.md``, raw HTML neutralised) and to one self-contained HTML page
(``report.html``, figures inlined as base64 PNG)."""
from __future__ import annotations

import base64
import html
import re


class Doc:
    """Blocks rendered both to Markdown and to self-contained HTML."""

    def __init__(self):
        self.blocks = []

    def h(self, level, text):
        self.blocks.append(("h", level, text))

    def p(self, text):
        self.blocks.append(("p", text))

    def items(self, lines):
        self.blocks.append(("ul", list(lines)))

    def pre(self, text):
        self.blocks.append(("pre", text))

    def table(self, headers, rows, note=None):
        self.blocks.append(("table", list(headers), [list(r) for r in rows], note))

    def figure(self, fname, caption):
        self.blocks.append(("fig", fname, caption))

    def markdown(self):
        out = []
        t = md_text
        for b in self.blocks:
            if b[0] == "h":
                out += ["#" * b[1] + " " + t(b[2]), ""]
            elif b[0] == "p":
                out += [t(b[1]), ""]
            elif b[0] == "ul":
                out += [f"- {t(x)}" for x in b[1]] + [""]
            elif b[0] == "pre":     # a fence longer than any run of backticks inside
                runs = [len(r) for r in re.findall("`+", b[1])]
                fence = "`" * max([3] + [r + 1 for r in runs])
                out += [fence, b[1], fence, ""]
            elif b[0] == "table":
                _, headers, rows, note = b
                out.append("| " + " | ".join(t(h) for h in headers) + " |")
                out.append("|" + "|".join("---" for _ in headers) + "|")
                for r in rows:
                    out.append("| " + " | ".join(t(str(c)).replace("|", "\\|") for c in r)
                               + " |")
                out.append("")
                if note:
                    out += [t(note), ""]
            elif b[0] == "fig":
                alt = t(b[2]).replace("[", "\\[").replace("]", "\\]")
                out += [f"![{alt}](figures/{b[1]})", "", f"*{t(b[2])}*", ""]
        return "\n".join(out)

    def html(self, figdir, title):
        e = html.escape
        body = []
        for b in self.blocks:
            if b[0] == "h":
                body.append(f"<h{b[1]}>{e(b[2])}</h{b[1]}>")
            elif b[0] == "p":
                body.append(f"<p>{_inline(b[1])}</p>")
            elif b[0] == "ul":
                body.append("<ul>" + "".join(f"<li>{_inline(x)}</li>" for x in b[1]) + "</ul>")
            elif b[0] == "pre":
                body.append(f"<pre>{e(b[1])}</pre>")
            elif b[0] == "table":
                _, headers, rows, note = b
                t = ["<table><thead><tr>" + "".join(f"<th>{e(h)}</th>" for h in headers)
                     + "</tr></thead><tbody>"]
                for r in rows:
                    t.append("<tr>" + "".join(f"<td>{e(str(c))}</td>" for c in r) + "</tr>")
                t.append("</tbody></table>")
                body.append("".join(t))
                if note:
                    body.append(f"<p class='note'>{_inline(note)}</p>")
            elif b[0] == "fig":
                data = base64.b64encode((figdir / b[1]).read_bytes()).decode("ascii")
                body.append(f"<figure><img alt='{e(b[2], quote=True)}' "
                            f"src='data:image/png;base64,{data}'/>"
                            f"<figcaption>{e(b[2])}</figcaption></figure>")
        css = ("body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;max-width:1200px;"
               "margin:2em auto;padding:0 1em;color:#222;line-height:1.45}"
               "table{border-collapse:collapse;margin:.5em 0 1em;font-size:.9em}"
               "th,td{border:1px solid #ccc;padding:.25em .6em;text-align:right}"
               "th{background:#f0f0f0}td:first-child,th:first-child{text-align:left}"
               "pre{background:#f6f6f6;padding:.8em;overflow-x:auto;font-size:.85em}"
               "figure{margin:1em 0}img{max-width:100%;height:auto}"
               "figcaption{font-style:italic;color:#444;margin-top:.3em}"
               "code{background:#f0f0f0;padding:0 .2em}.note{color:#555;font-size:.9em}")
        return ("<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
                f"<title>{e(title)}</title><style>{css}</style></head><body>\n"
                + "\n".join(body) + "\n</body></html>\n")


_TAG_START = re.compile(r"<(?=[A-Za-z/!?])")


def md_text(text):
    """Markdown text with raw HTML neutralised: outside `code` spans (inside them Markdown
    shows characters as they are) a ``<`` that could open a tag, comment, declaration or
    autolink becomes ``&lt;`` (``2 < 10`` stays), and control characters are escaped — so
    that a label cannot inject markup into report.md."""
    from swarm.result import printable
    parts = printable(text).split("`")
    for i in range(0, len(parts), 2):
        parts[i] = _TAG_START.sub("&lt;", parts[i])
    return "`".join(parts)


def _inline(text):
    """Escape, then render `code` spans."""
    parts = html.escape(text).split("`")
    return "".join(f"<code>{p}</code>" if i % 2 else p for i, p in enumerate(parts))


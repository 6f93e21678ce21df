"""The cluster explorer of a run folder (``explorer.html``): look through the clusters, name them,
flag members that do not belong, and download the result as annotations.

The page is one self-contained file (inline script and style, thumbnails as data URIs, no network
requests), so it opens from disk anywhere. It shows the run's 2-d map (the same map as the
report, :func:`~deepclust.viz.report.map_points`) with the points coloured by cluster; choosing
a cluster (in the list or by clicking a point) shows its most and least confident members
(seeded random members for a method without confidences) as images, or as row numbers for
non-image data. Each cluster gets a name field and each shown member a flag. "Download CSV"
writes ``index,cluster,cluster_name,flagged[,path]`` for every row of the run: a cluster name
labels all its members at once, which is how clustering speeds up annotation, and flagged rows
are the ones to look at again. Names and flags are kept in the browser's local storage for this
run, so closing the page loses nothing. True classes are never shown (they would bias the naming).
"""

from __future__ import annotations

import base64
import html
import io
import json
from pathlib import Path

import numpy as np

from ..errors import InputError
from ..fileio import atomic_write_text
from .report import load_run_data, map_points, read_run


def pick_members(labels: np.ndarray, confidence, cluster: int, per_side: int, seed: int = 0):
    """Rows (into ``labels``) of the members of ``cluster`` to show: ``(most, least)`` confident,
    ``per_side`` each, disjoint (most confident first, least confident first); without
    confidences, ``per_side`` seeded random members and an empty second array."""
    members = np.flatnonzero(labels == cluster)
    if confidence is None:
        rng = np.random.default_rng(seed + int(cluster) + 1)
        return np.sort(rng.permutation(members)[:per_side]), members[:0]
    order = members[np.argsort(-np.asarray(confidence)[members], kind="stable")]
    most = order[:per_side]
    least = order[::-1][: min(per_side, len(order) - len(most))]
    return most, least


def thumbnail_uri(image: np.ndarray) -> str:
    """A PNG data URI of one image ``(H, W, C)`` with values in [0, 1] (clipped)."""
    from ..export import pil_image

    buf = io.BytesIO()
    pil_image(image).save(buf, format="PNG", optimize=True)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def explorer_data(run: dict, ds, *, map_method: str = "umap", max_map_points: int = 20_000,
                  per_cluster: int = 24) -> dict:
    """Everything the explorer page shows, as JSON-ready values (see the module docstring)."""
    labels, conf = run["labels"], run["confidence"]
    record = run["record"]
    data = {
        "title": f"{record['method']} on {record['data']['name']}",
        "key": f"deepclust-explorer:{record['method']}:{record['data']['name']}:{record.get('started', '')}",
        "index": run["index"].tolist(), "labels": labels.tolist(),
        "paths": list(ds.paths) if ds is not None and getattr(ds, "paths", None) else None,
        "map": None, "clusters": [],
    }
    mapped = map_points(run, ds, map_method=map_method, max_points=max_map_points)
    if mapped is not None:
        rows, coords, how, what = mapped
        coords = np.asarray(coords, dtype=np.float64)
        lo, span = coords.min(axis=0), np.ptp(coords, axis=0)
        unit = (coords - lo) / np.where(span > 0, span, 1.0)  # both axes in [0, 1]
        data["map"] = {"how": f"{how} ({what}, {len(rows)} points)", "rows": rows.tolist(),
                       "x": np.round(unit[:, 0], 4).tolist(), "y": np.round(unit[:, 1], 4).tolist()}
    images = ds.images() if ds is not None and ds.is_image else None
    for c in sorted(set(labels.tolist())):
        most, least = pick_members(labels, conf, c, per_cluster)
        entry = {"id": int(c), "size": int((labels == c).sum()),
                 "groups": []}
        for title, rows in (("most confident" if conf is not None else "random members", most),
                            ("least confident", least)):
            if len(rows) == 0:
                continue
            members = [{"row": int(r), "index": int(run["index"][r]),
                        "confidence": None if conf is None else round(float(conf[r]), 4),
                        "src": None if images is None else thumbnail_uri(images[int(r)])} for r in rows]
            entry["groups"].append({"title": title, "members": members})
        data["clusters"].append(entry)
    return data


def build_explorer(run_dir, out=None, *, map_method: str = "umap", max_map_points: int = 20_000,
                   per_cluster: int = 24) -> Path:
    """Write the cluster explorer of the finished run in ``run_dir`` (default
    ``run_dir/explorer.html``) and return its path.

    ``per_cluster`` members are shown from each end of a cluster's confidence ranking;
    ``map_method`` (``"umap"`` or ``"pca"``) and ``max_map_points`` are as in the report.
    """
    if per_cluster < 1:
        raise InputError(f"per_cluster must be at least 1, not {per_cluster}.")
    run = read_run(run_dir)
    ds = load_run_data(run)
    if ds is not None and ds.n_samples != len(run["labels"]):
        ds = None  # the data changed since the run: show what does not need it
    data = explorer_data(run, ds, map_method=map_method, max_map_points=max_map_points,
                         per_cluster=per_cluster)
    out = Path(out) if out is not None else Path(run_dir) / "explorer.html"
    return atomic_write_text(out, render(data))


def render(data: dict) -> str:
    """The explorer page for :func:`explorer_data`'s output."""
    payload = json.dumps(data, separators=(",", ":")).replace("<", "\\u003c")  # no "</script>" or "<!--"
    title = html.escape(data["title"])
    return (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
            f"<title>deepclust explorer: {title}</title><style>{_CSS}</style></head><body>"
            f"<header><h1>Cluster explorer: {title}</h1>"
            '<button id="download" type="button">Download CSV</button>'
            '<span id="status"></span></header>'
            '<main><aside id="clusters"></aside>'
            '<section id="mapbox"><canvas id="map" width="640" height="560"></canvas>'
            '<p id="maphow"></p><p id="tip"></p></section>'
            '<section id="members"><p>Choose a cluster.</p></section></main>'
            f'<script type="application/json" id="explorer-data">{payload}</script>'
            f"<script>{_JS}</script></body></html>")


_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;color:#222}
header{display:flex;gap:1rem;align-items:center;padding:.6rem 1rem;border-bottom:1px solid #ddd}
h1{font-size:1.2rem;margin:0;flex:1}#status{color:#555;font-size:.85rem}
main{display:grid;grid-template-columns:260px 660px 1fr;gap:1rem;padding:1rem}
aside .cl{display:flex;align-items:center;gap:.4rem;padding:.2rem;border-radius:4px;cursor:pointer}
aside .cl.sel{background:#eef}aside .sw{width:12px;height:12px;border-radius:2px;flex:none}
aside input{flex:1;min-width:0;font-size:.85rem}aside .n{font-size:.8rem;color:#555;margin-left:auto}
canvas{border:1px solid #ddd;cursor:crosshair}#maphow,#tip{font-size:.8rem;color:#555;margin:.2rem 0}
#members h2{font-size:1.05rem;margin:0 0 .4rem}#members h3{font-size:.95rem;margin:.8rem 0 .3rem}
.grid{display:flex;flex-wrap:wrap;gap:4px}
.m{border:2px solid transparent;cursor:pointer;font-size:.7rem;text-align:center;padding:1px}
.m img{width:56px;height:56px;image-rendering:pixelated;display:block}
.m.flag{border-color:#c00;background:#fee}.m .t{color:#555}
"""

_JS = r"""
const D = JSON.parse(document.getElementById('explorer-data').textContent);
const PAL = ['#1f77b4','#ff7f0e','#2ca02c','#d62728','#9467bd','#8c564b','#e377c2','#7f7f7f','#bcbd22',
             '#17becf','#aec7e8','#ffbb78','#98df8a','#ff9896','#c5b0d5','#c49c94','#f7b6d2','#dbdb8d','#9edae5'];
const colour = c => c < 0 ? '#bbbbbb' : (c < PAL.length ? PAL[c] : `hsl(${(c * 137.5) % 360},60%,50%)`);
let state = {names: {}, flags: {}};
try { const s = JSON.parse(localStorage.getItem(D.key) || 'null'); if (s) state = s; } catch (e) {}
const save = () => { try { localStorage.setItem(D.key, JSON.stringify(state)); } catch (e) {} };
let selected = null;
const aside = document.getElementById('clusters');
for (const c of D.clusters) {
  const row = document.createElement('div');
  row.className = 'cl'; row.dataset.cluster = c.id;
  const sw = document.createElement('span'); sw.className = 'sw'; sw.style.background = colour(c.id);
  const name = document.createElement('input');
  name.placeholder = c.id < 0 ? 'noise' : `cluster ${c.id}`; name.value = state.names[c.id] || '';
  name.setAttribute('aria-label', `name of cluster ${c.id}`);
  name.addEventListener('input', () => { state.names[c.id] = name.value; save(); });
  const n = document.createElement('span'); n.className = 'n'; n.textContent = c.size;
  row.append(sw, name, n);
  row.addEventListener('click', () => { if (selected !== c.id) choose(c.id); });
  aside.append(row);
}
const canvas = document.getElementById('map'), ctx = canvas.getContext('2d'), PAD = 10;
const px = i => PAD + D.map.x[i] * (canvas.width - 2 * PAD);
const py = i => canvas.height - PAD - D.map.y[i] * (canvas.height - 2 * PAD);
function draw() {
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  if (!D.map) { ctx.fillText('No embedding or data to draw a map from.', 20, 30); return; }
  for (let pass = 0; pass < 2; pass++) {
    for (let i = 0; i < D.map.rows.length; i++) {
      const c = D.labels[D.map.rows[i]], on = selected === null || c === selected;
      if ((pass === 1) !== (on && selected !== null)) continue;
      ctx.globalAlpha = on ? 0.8 : 0.08; ctx.fillStyle = colour(c);
      ctx.fillRect(px(i) - 1.5, py(i) - 1.5, 3, 3);
    }
  }
  ctx.globalAlpha = 1;
}
function nearest(ev) {
  const r = canvas.getBoundingClientRect(), x = ev.clientX - r.left, y = ev.clientY - r.top;
  let best = -1, bd = 36;
  for (let i = 0; i < D.map.rows.length; i++) {
    const d = (px(i) - x) ** 2 + (py(i) - y) ** 2;
    if (d < bd) { bd = d; best = i; }
  }
  return best;
}
if (D.map) {
  document.getElementById('maphow').textContent = D.map.how;
  canvas.addEventListener('mousemove', ev => {
    const i = nearest(ev), tip = document.getElementById('tip');
    tip.textContent = i < 0 ? '' : `row ${D.index[D.map.rows[i]]}, cluster ${D.labels[D.map.rows[i]]}`;
  });
  canvas.addEventListener('click', ev => { const i = nearest(ev); if (i >= 0) choose(D.labels[D.map.rows[i]]); });
}
function choose(id) {
  selected = id;
  for (const row of aside.children) row.classList.toggle('sel', Number(row.dataset.cluster) === id);
  const c = D.clusters.find(k => k.id === id), box = document.getElementById('members');
  box.innerHTML = '';
  const h = document.createElement('h2');
  h.textContent = `${id < 0 ? 'Noise' : 'Cluster ' + id} (${c.size} members): click a member to flag it`;
  box.append(h);
  for (const g of c.groups) {
    const t = document.createElement('h3'); t.textContent = g.title; box.append(t);
    const grid = document.createElement('div'); grid.className = 'grid';
    for (const m of g.members) {
      const el = document.createElement('div'); el.className = 'm'; el.dataset.index = m.index;
      el.title = `row ${m.index}` + (m.confidence === null ? '' : `, confidence ${m.confidence}`);
      if (m.src) {
        const img = document.createElement('img'); img.src = m.src; img.alt = `row ${m.index}`; el.append(img);
      }
      const cap = document.createElement('div'); cap.className = 't'; cap.textContent = m.index; el.append(cap);
      el.classList.toggle('flag', !!state.flags[m.index]);
      el.addEventListener('click', () => {
        if (state.flags[m.index]) delete state.flags[m.index]; else state.flags[m.index] = 1;
        el.classList.toggle('flag', !!state.flags[m.index]); save(); status();
      });
      grid.append(el);
    }
    box.append(grid);
  }
  draw();
}
const plural = (n, word) => `${n} ${word}${n === 1 ? '' : 's'}`;
function status() {
  const named = Object.values(state.names).filter(v => v.trim()).length;
  document.getElementById('status').textContent =
    `${named} of ${D.clusters.length} clusters named, ${plural(Object.keys(state.flags).length, 'member')} flagged`;
}
const field = v => /[",\n]/.test(v) ? '"' + v.replace(/"/g, '""') + '"' : v;
document.getElementById('download').addEventListener('click', () => {
  const lines = ['index,cluster,cluster_name,flagged' + (D.paths ? ',path' : '')];
  for (let r = 0; r < D.labels.length; r++) {
    const c = D.labels[r], i = D.index[r];
    lines.push([i, c, field((state.names[c] || '').trim()), state.flags[i] ? 1 : 0]
      .concat(D.paths ? [field(D.paths[r])] : []).join(','));
  }
  const a = document.createElement('a');
  a.href = URL.createObjectURL(new Blob([lines.join('\n') + '\n'], {type: 'text/csv'}));
  a.download = 'annotations.csv'; document.body.append(a); a.click(); a.remove();
});
draw(); status();
"""

__all__ = ["build_explorer", "explorer_data", "pick_members", "render", "thumbnail_uri"]

"""Live charts that update in place: one Plotly.js plot per chart, redrawn with Plotly.react.

Why not `st.plotly_chart`: Streamlit gives a plotly chart an identity hashed from its figure, so
every new figure (every refresh of a training run) unmounts the chart and mounts a new one. On
the live page that was four fresh Plotly plots (and WebGL contexts) per refresh: the browser
drew 7 frames a second, the longest frame took 0.87 s, and charts that had data showed empty
in some frames (measured in headless Chromium on this 2-core machine, GAN on ring8).

Why not an iframe per chart (components v1, what this module was before): each frame loaded and
parsed its own copy of plotly.min.js (4.8 MB), five of them on the GAN page, on the browser's
one main thread; the first chart of a new GAN run was drawn 10-15 s after Start.

Here a chart is a keyed Streamlit components-v2 element, drawn in the page itself (no iframe), so
its identity is its key and it stays mounted. Plotly.js is loaded once per browser tab, shared by
every chart and kept across page changes (the app is one page in the browser); each new figure
goes to Plotly.react, which updates the plot in place. When figures arrive faster than the
browser draws, only the newest is drawn. Plotly.js comes from the installed `plotly` package
(offline, no CDN): a folder holds a copy of plotly.min.js and the plotly_white template, made
once per plotly version, and is served by a route of app.py's server with a year's caching (or,
without it, by Streamlit's component file route: a v1 declaration that is never mounted).
`preload()` fetches and parses Plotly.js while the Train page is read, so the live page that
Start opens draws at once.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
import threading
import weakref
from collections import OrderedDict
from functools import cache
from pathlib import Path

import streamlit as st
import streamlit.components.v1 as components_v1

DEFAULT_HEIGHT = 400
ASSETS_NAME = "genlab_livechart_assets"

# The element's code, run in the page for each new `data`. It finds its plot (the .genlab-live
# div), loads Plotly.js and the template once per tab (window.__genlabPlotly), and queues the
# newest figure for the tab's one drawing loop; it writes the number of points drawn on the div
# (data-points) so tests and benchmarks can see what is on screen.
JS = """
function loadPlotly(base) {
  if (!window.__genlabPlotly) {
    window.__genlabPlotly = Promise.all([
      new Promise((ok, fail) => {
        if (window.Plotly) return ok();
        const s = document.createElement("script");
        s.src = base + "plotly.min.js";
        s.async = true;
        s.onload = () => ok();
        s.onerror = () => { window.__genlabPlotly = null; fail(new Error("plotly.min.js")); };
        document.head.appendChild(s);
      }),
      fetch(base + "template.json").then((r) => r.json()),
    ]).then(([, template]) => ({Plotly: window.Plotly, template: template}));
  }
  return window.__genlabPlotly;
}

function points(el) {  // as Plotly holds them (the JSON's arrays may be base64-typed arrays)
  let n = 0;
  for (const tr of el._fullData || []) {
    const xy = tr.x ? tr.x.length : (tr.y ? tr.y.length : 0);  // a series may give y alone
    n += xy + (tr.z ? tr.z.length : 0) + (tr.values ? tr.values.length : 0);
  }
  return n;
}

// One queue for every chart of the tab: charts are drawn one per animation frame, the highest
// on the page first, so the browser paints each as soon as it is drawn (a reloaded live page
// drew its five charts in one 1.2 s task: nothing showed until all were done).
const queue = (window.__genlabQueue = window.__genlabQueue || {charts: new Set(), busy: false});

function schedule(el) {
  queue.charts.add(el);
  if (queue.busy) return;
  queue.busy = true;
  loadPlotly(el.__base)
    .then(async ({Plotly, template}) => {
      while (queue.charts.size) {
        await new Promise((ok) => requestAnimationFrame(() => ok()));
        const next = [...queue.charts]
          .map((c) => [c.isConnected ? c.getBoundingClientRect().top : Infinity, c])
          .sort((a, b) => a[0] - b[0])[0][1];
        queue.charts.delete(next);
        if (next.isConnected && next.__pending) await draw(next, Plotly, template);
      }
    })
    .catch(() => queue.charts.clear())
    .finally(() => { queue.busy = false; });
}

async function draw(el, Plotly, template) {
  const next = el.__pending;
  el.__pending = null;
  const fig = JSON.parse(next.spec);
  const layout = Object.assign({}, fig.layout || {}, {height: next.height, autosize: true});
  layout.template = template;  // one look for every live chart (plotly_white)
  el.style.height = next.height + "px";
  const config = Object.assign({responsive: true, displaylogo: false}, next.config || {});
  // frames: the figures with a slider over t (diffusion, flow matching) animate in place
  await Plotly.react(el, {data: fig.data || [], layout: layout, frames: fig.frames || [],
                          config: config});
  el.dataset.points = String(points(el));
}

export default function (component) {
  const data = component.data || {};
  const el = component.parentElement.querySelector(".genlab-live");
  if (!el) return;
  const base = window.location.pathname.replace(/[^/]*$/, "") + data.assets;
  if (data.preload) {  // after the page is drawn, so the first paint does not wait for it
    setTimeout(() => loadPlotly(base).catch(() => {}), data.preload);
    return;
  }
  el.__base = base;
  if (data.spec === el.__shown && data.height === el.__height) return;
  el.__shown = data.spec;
  el.__height = data.height;
  el.style.height = data.height + "px";  // the space is kept while Plotly.js loads
  el.__pending = {spec: data.spec, height: data.height, config: data.config};
  schedule(el);
}
"""
HTML = '<div class="genlab-live"></div>'
PRELOAD_AFTER_MS = 1500


ASSET_ROUTE = "genlab/assets"  # app.py's server serves the folder here (asset_routes)
_routed = False  # whether this process's server has that route


@cache
def _folder() -> Path:
    """A folder with plotly.min.js and template.json, made once per plotly version (shared by
    every process on the machine, written atomically); its name holds the version's hash."""
    import plotly
    import plotly.io as pio

    source = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    template = json.dumps(pio.templates["plotly_white"].to_plotly_json())
    tag = hashlib.sha1(f"{plotly.__version__}\n{template}".encode()).hexdigest()[:12]
    folder = Path(tempfile.gettempdir()) / f"genlab-plotly-{tag}"
    if not (folder / "template.json").exists():
        tmp = Path(tempfile.mkdtemp(prefix="genlab-plotly-"))
        shutil.copyfile(source, tmp / "plotly.min.js")
        (tmp / "template.json").write_text(template, encoding="utf-8")
        try:
            tmp.rename(folder)
        except OSError:  # another process made it first
            shutil.rmtree(tmp, ignore_errors=True)
    return folder


@cache
def _assets() -> str:
    """Where the browser gets Plotly.js, relative to the app's root. From app.py's server: its
    own route, cached by the browser for a year (the name changes with plotly's version). Else
    (AppTest, a Streamlit without st.App): Streamlit's component file route, whose "public"
    without a max-age made the browser fetch the 4.8 MB again (1.5 MB gzipped) on every load."""
    folder = _folder()
    if _routed:
        return f"{ASSET_ROUTE}/{folder.name}/"
    return "component/" + components_v1.declare_component(ASSETS_NAME, path=str(folder)).name + "/"


def asset_routes() -> list:
    """The route that serves Plotly.js and the template for every chart, for app.py's st.App."""
    global _routed
    from starlette.responses import FileResponse, PlainTextResponse
    from starlette.routing import Route

    async def serve(request):
        folder = _folder()
        name = request.path_params["name"]
        known = ("plotly.min.js", "template.json")
        if request.path_params["tag"] != folder.name or name not in known:
            return PlainTextResponse("not found", status_code=404)
        immutable = {"Cache-Control": "public, max-age=31536000, immutable"}
        return FileResponse(folder / name, headers=immutable)

    _routed = True
    return [Route(f"/{ASSET_ROUTE}/{{tag}}/{{name}}", serve)]


@cache
def _component():
    return st.components.v2.component(
        "genlab_livechart",
        html=HTML,
        js=JS,
        isolate_styles=False,  # Plotly.js styles its plots from the page's <head>
    )


_SPECS: OrderedDict[int, tuple[weakref.ref, str]] = OrderedDict()  # id(figure) -> its JSON
_SPECS_MAX = 64
_SPECS_LOCK = threading.Lock()


def _spec(fig) -> str:
    """The figure's JSON, made once per figure: the live page's figures are shared by every
    viewer and never changed after they are built."""
    with _SPECS_LOCK:
        have = _SPECS.get(id(fig))
        if have is not None and have[0]() is fig:
            _SPECS.move_to_end(id(fig))
            return have[1]
    spec = fig.to_json(validate=False)
    with _SPECS_LOCK:
        _SPECS[id(fig)] = (weakref.ref(fig), spec)
        while len(_SPECS) > _SPECS_MAX:
            _SPECS.popitem(last=False)
    return spec


def live_chart(fig, key: str, config: dict | None = None) -> None:
    """Draw `fig` (a plotly Figure) under `key`, updating the chart already on the page when
    there is one. The figure's layout height (DEFAULT_HEIGHT without one) sizes it."""
    height = int(fig.layout.height or DEFAULT_HEIGHT)
    data = {"spec": _spec(fig), "height": height, "config": config or {}, "assets": _assets()}
    _component()(data=data, key=key, height=height)


def preload(key: str = "livechart.preload") -> None:
    """Load Plotly.js in the browser shortly after this page is drawn (an empty element), so
    the live charts of the next page draw without waiting for it."""
    _component()(data={"preload": PRELOAD_AFTER_MS, "assets": _assets()}, key=key, height="content")

"""Live charts that update in place: one Plotly.js plot per chart, redrawn with Plotly.react.

Why not `st.plotly_chart`: Streamlit gives a plotly chart an identity hashed from its figure, so
every new figure (every refresh of a training run) unmounts the chart and mounts a new one. On
the live page that was four fresh Plotly plots (and WebGL contexts) per refresh: the browser
drew 7 frames a second, the longest frame took 0.87 s, and charts that had data showed empty
in some frames (measured in headless Chromium on this 2-core machine, GAN on ring8).

Here a chart is a keyed Streamlit component (components v1: an iframe whose identity is its key,
so it stays mounted); the iframe keeps one plot and hands each new figure to Plotly.react, which
updates it in place. When figures arrive faster than the browser draws, only the newest is
drawn. Plotly.js comes from the installed `plotly` package (offline, no CDN): the component's
folder holds the page below and a copy of plotly.min.js, made once per plotly version.
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
import threading
import weakref
from collections import OrderedDict
from functools import cache
from pathlib import Path

import streamlit.components.v1 as components

DEFAULT_HEIGHT = 400

# The component's page: the Streamlit component protocol by hand (componentReady, render,
# setFrameHeight), a draw loop that coalesces updates, and the number of points drawn on the
# iframe element (data-points) so tests and benchmarks can see what is on screen.
PAGE = """<!doctype html>
<html><head><meta charset="utf-8">
<script src="plotly.min.js"></script>
<style>
html, body { margin: 0; padding: 0; overflow: hidden; background: transparent; }
#plot { width: 100%; }
</style></head>
<body><div id="plot"></div>
<script>
const plot = document.getElementById("plot");
let shown = null, height = 0, pending = null, drawing = false;

function send(type, extra) {
  window.parent.postMessage(Object.assign({isStreamlitMessage: true, type: type}, extra), "*");
}

function points() {  // as Plotly holds them (the JSON's arrays may be base64-typed arrays)
  let n = 0;
  for (const tr of plot._fullData || []) {
    n += (tr.x ? tr.x.length : 0) + (tr.z ? tr.z.length : 0) + (tr.values ? tr.values.length : 0);
  }
  return n;
}

async function draw() {
  if (drawing) return;
  drawing = true;
  try {
    while (pending) {
      const next = pending;
      pending = null;
      const fig = JSON.parse(next.spec);
      const layout = Object.assign({}, fig.layout || {}, {height: next.height, autosize: true});
      layout.template = next.template;  // one look for every live chart (plotly_white)
      if (next.height !== height) {
        height = next.height;
        plot.style.height = height + "px";
        send("streamlit:setFrameHeight", {height: height});
      }
      const config = Object.assign({responsive: true, displaylogo: false}, next.config || {});
      // frames: the figures with a slider over t (diffusion, flow matching) animate in place
      await Plotly.react(plot, {data: fig.data || [], layout: layout, frames: fig.frames || [],
                                config: config});
      if (window.frameElement) window.frameElement.dataset.points = String(points());
    }
  } finally {
    drawing = false;
  }
}

window.addEventListener("message", (event) => {
  const msg = event.data;
  if (!msg || msg.type !== "streamlit:render") return;
  const args = msg.args || {};
  if (args.spec === shown && args.height === height) return;
  shown = args.spec;
  pending = {spec: args.spec, height: args.height, config: args.config, template: args.template};
  requestAnimationFrame(draw);
});
send("streamlit:componentReady", {apiVersion: 1});
</script></body></html>
"""


@cache
def _component():
    """The component, declared once per process over a folder with PAGE and plotly.min.js."""
    import plotly

    source = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    tag = hashlib.sha1(f"{plotly.__version__}\n{PAGE}".encode()).hexdigest()[:12]
    folder = Path(tempfile.gettempdir()) / f"genlab-livechart-{tag}"
    if not (folder / "index.html").exists():
        tmp = Path(tempfile.mkdtemp(prefix="genlab-livechart-"))
        shutil.copyfile(source, tmp / "plotly.min.js")
        (tmp / "index.html").write_text(PAGE, encoding="utf-8")
        try:
            tmp.rename(folder)
        except OSError:  # another process made it first
            shutil.rmtree(tmp, ignore_errors=True)
    return components.declare_component("genlab_livechart", path=str(folder))


_SPECS: OrderedDict[int, tuple[weakref.ref, str]] = OrderedDict()  # id(figure) -> its JSON
_SPECS_MAX = 64
_SPECS_LOCK = threading.Lock()


@cache
def _template() -> dict:
    import plotly.io as pio

    return pio.templates["plotly_white"].to_plotly_json()


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
    there is one. The figure's layout height (DEFAULT_HEIGHT without one) sizes the frame."""
    height = int(fig.layout.height or DEFAULT_HEIGHT)
    _component()(
        spec=_spec(fig),
        height=height,
        template=_template(),
        config=config or {},
        key=key,
        default=None,
    )

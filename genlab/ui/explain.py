"""Teaching mode: the presenter switch's state and the short explanations shown next to each view.

`teaching()` says whether the switch in the shared sidebar is on; `note(key)` shows the text of
`TEXTS[key]` only then (views stay uncluttered otherwise); `chart_height(h)` enlarges charts for a
projector. The texts say what a view shows and how to read it, in a few sentences.
"""

from __future__ import annotations

import streamlit as st

KEY = "genlab.teaching"  # st.session_state key of the mode (a plain key: no widget owns it)
SWITCH = "genlab.teaching.switch"  # the sidebar toggle's widget key
QUERY = "teaching"  # ?teaching=on in the URL: survives a reload and travels in a share link
ENLARGE = 1.5  # chart height factor in teaching mode

TEXTS: dict[str, str] = {
    # ----- 2D points (the canvas of inside_points) -----
    "points.heatmap": (
        "**The discriminator's view of the plane.** Each pixel is D's output for a point placed "
        "there (P(real) for the logistic losses, a raw score for the others): green where D says "
        "*real*, purple where it says *generated*, white where it cannot tell. D learns to paint "
        "green where the real data lies and purple where the generator's points sit; the "
        "generator then moves its points towards the green. When training succeeds the plane "
        "fades to white: D cannot tell real from generated anywhere."
    ),
    "points.manifold": (
        "**The generator's manifold.** A regular grid of noise vectors z (a 2D slice through noise "
        "space when z has more than two dimensions) mapped through G and drawn with its grid "
        "lines. Where the grid is stretched, G spreads a little noise over a large area (few "
        "samples land there); where it is folded or crowded, many z map to the same spot. A good "
        "generator folds the grid onto the real data's shape."
    ),
    "points.arrows": (
        "**Where the generator wants to move each point.** An arrow is −∂L_G/∂x at a generated "
        "point: the direction in which moving that point would lower the generator's loss, which "
        "is the direction in which the discriminator's output rises fastest. Arrows point uphill "
        "on the heatmap, towards what D currently calls real; they are long where D's verdict "
        "changes quickly, and vanish where D is flat (then G gets no signal: saturation)."
    ),
    "points.vae_posterior": (
        "**The encoder's map of the data.** Each dot is the posterior mean E[z|x] of one real "
        "point, placed in latent space and coloured by its label. The KL term pulls these codes "
        "towards the standard normal (a round cloud around 0); the reconstruction term pushes "
        "different data apart. Clusters that separate by colour mean the code carries the class."
    ),
    "points.vae_decoder_map": (
        "**The decoder's map.** A grid of latent codes z around 0 decoded to data space: how the "
        "decoder lays the latent plane over the data. Regions of latent space that decode "
        "between the data's modes produce the VAE's characteristic blurry bridges."
    ),
    "points.step_buttons": (
        "**One step at a time.** Train only D, only G, or both for a single step and watch the "
        "views: after a D step the heatmap sharpens around the current fakes; after a G step "
        "the points move along the arrows. Slow motion adds a pause after every step."
    ),
    # ----- images -----
    "images.interpolation": (
        "**Walking between two codes.** Two random noise vectors z_a, z_b and the points on the "
        "great circle between them (spherical interpolation: a Gaussian z lives near a sphere), "
        "each decoded. Smooth, plausible in-between images mean the model has learned a smooth "
        "map from codes to images rather than memorising a few examples."
    ),
    "images.traversal": (
        "**One knob at a time.** Each row starts from the same code z and moves a single latent "
        "dimension from −3 to +3 while the others stay fixed. A row that changes one property "
        "(thickness, slant, identity) shows what that dimension encodes; a row that does not "
        "change at all is a dimension the model ignores. For a VAE the rows are sorted by how "
        "much the encoder uses each dimension (its KL, in nats)."
    ),
    "images.classes": (
        "**One row per class.** The conditional GAN is asked for each class in turn with the same "
        "noise vectors in every column: the class label should decide *what* is drawn, the noise "
        "*how* (the style, which should match down each column)."
    ),
    "images.critic": (
        "**The discriminator's verdict.** Under each image, D's output for it alone "
        "(P(real) or a raw score). Green: D scores it at least as high as a typical real image "
        "(the median over the real ones shown); red: lower. While training works, real and "
        "generated images get similar scores: D can no longer tell them apart."
    ),
    "images.reconstruction": (
        "**Reconstructions.** Top row: real images the model did not train on; bottom row: "
        "decode(encode(x)), the decoder's mean at the encoder's code. What survives the round "
        "trip is what the latent code captures; blur is the price of the Gaussian bottleneck and "
        "of the β weight on the KL term (larger β, blurrier)."
    ),
    # ----- sequences -----
    "sequences.band": (
        "**Generated series over the real data's spread.** The grey band holds the middle 80% of "
        "the real series at each time step (or mean ± one standard deviation), the dashed line "
        "their mean; coloured lines are generated series. Good samples stay inside the band and "
        "have the real data's shape, not only its average: a model that outputs the mean curve "
        "fits the band but has collapsed."
    ),
    "sequences.critic": (
        "**The recurrent discriminator, step by step.** The recurrent GAN's D reads a series and "
        "gives a verdict at every time step. Lower panel: D's output along real series (grey) and "
        "generated ones (red), thick lines the averages. Where the red curve drops, D has "
        "spotted the generated series (often at the start, or where a wave bends wrongly)."
    ),
    "sequences.reconstruction": (
        "**Reconstructions.** Grey: validation series the model did not train on; colours: "
        "decode(encode(x)). A VAE that follows the wiggles has put them into its code; one that "
        "draws a smooth average keeps only the broad shape (a larger β smooths more)."
    ),
    # ----- text -----
    "text.heat": (
        "**How surprised the model is by each character.** Each character is coloured by the "
        "probability the LSTM gave it after reading the characters before it, p(char | prefix); "
        "⏎ is the end of the item. Green: expected; red: a surprise. First letters are usually "
        "uncertain (many names are possible), later ones become predictable. The figure on the "
        "right is the mean −log p: the model's loss on this one string, in nats per character."
    ),
    "text.novel": (
        "**Copied or new?** Generated items found verbatim in the training data, and the rest. A "
        "model that only reproduces training items has memorised; many new but plausible items "
        "mean it has learned the patterns of the data."
    ),
    # ----- diffusion and flow models (genlab.ui.inside_flows) -----
    "flows.process": (
        "**From noise to data.** Purple points start as pure Gaussian noise (noise level t = 1) "
        "and the sampler moves them, step by step, to t = 0, where they should lie on the data. "
        "Drag the slider or press play to watch them travel. A diffusion model (DDPM) also adds "
        "a little fresh noise at every step; a flow, or DDIM, moves them deterministically."
    ),
    "flows.field": (
        "**The learned field at this t.** Orange arrows: where the network tells a point at "
        "this spot and noise level to go. For a flow this is the velocity of the straight path "
        "from noise to data; for diffusion it is the score, the direction in which the noisy "
        "data gets denser. Early (t near 1) the arrows point broadly at the data's centre; late "
        "they point sharply at the nearest mode."
    ),
    "flows.noising": (
        "**The forward process.** Green: the real data with noise mixed in to level t, the "
        "inputs the network trained on at that level. At t = 0 it is the data, at t = 1 it is "
        "indistinguishable from the Gaussian the sampler starts from."
    ),
    "flows.loss_levels": (
        "**Loss per noise level.** The charts show the loss for each quarter of noise levels "
        "(loss/t0-0.25 ... loss/t0.75-1), not only the mean: predicting the noise is hardest "
        "near the data for diffusion, predicting the velocity is hardest near the noise end for "
        "a flow."
    ),
    "images.reverse": (
        "**The reverse process.** Each row is one sample, from pure noise on the left to the "
        "finished image on the right; the row below shows the opposite direction, real images "
        "drowned in noise. Structure (where the strokes go) appears early, detail late."
    ),
    "images.steps": (
        "**Sampling steps cost time.** Every step is one run of the network (two with "
        "guidance). Fewer steps are faster; DDIM and the flow's ODE solvers keep their quality "
        "down to a few tens of steps, the ancestral DDPM sampler needs many more."
    ),
    # ----- attention (genlab.ui.inside_flows) -----
    "text.attention": (
        "**Where the transformer looks.** One heatmap per layer and head: row i is the "
        "character being read, column j an earlier character, the colour how much of its "
        "attention it spends there (each row sums to 1). Nothing lies above the diagonal: the "
        "causal mask hides the future. Some heads look at the previous character, others at "
        "the start of the name."
    ),
    # ----- Train page -----
    "data.draw": (
        "**Draw your own distribution.** Click a grey dot to drop a small cloud of points there, "
        "or choose the box or lasso tool in the chart's toolbar and drag to fill an area. Pick a "
        "class before drawing to make a labelled data set (needed by the conditional GAN)."
    ),
}


def switch() -> None:
    """The sidebar toggle. The mode lives under KEY, which no widget owns (Streamlit drops a
    widget's state on pages that do not draw it, e.g. mid switch_page), and in the URL, which a
    reload keeps: a new session starts from `?teaching=on`."""
    if KEY not in st.session_state:
        st.session_state[KEY] = st.query_params.get(QUERY) in ("on", "1", "true")
    st.session_state[SWITCH] = st.session_state[KEY]
    st.toggle(
        "Teaching mode",
        key=SWITCH,
        on_change=lambda: st.session_state.update({KEY: st.session_state[SWITCH]}),
        help="For presenting: hides advanced settings and the live knobs, enlarges the "
        "charts, and explains each view of a model next to it.",
    )
    qp = {k: st.query_params[k] for k in st.query_params}
    wanted = {k: v for k, v in qp.items() if k != QUERY} | ({QUERY: "on"} if teaching() else {})
    if wanted != qp:  # a page switch dropped it, or the switch moved
        st.query_params.from_dict(wanted)


def teaching() -> bool:
    """Is the presenter switch on?"""
    return bool(st.session_state.get(KEY, False))


def text(key: str) -> str:
    return TEXTS.get(key, "")


def note(key: str) -> None:
    """The explanation of view `key`, shown only in teaching mode."""
    if teaching() and key in TEXTS:
        st.info(TEXTS[key], icon=":material/school:")


def chart_height(height: int) -> int:
    """Charts grow in teaching mode (readable from the back of a room)."""
    return int(height * ENLARGE) if teaching() else height

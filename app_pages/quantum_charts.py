"""The quantum view's figures: pure Plotly from the service's results, no Streamlit and no computing.

Every number drawn here comes from `TaskService.quantum_state / shots / noise`; these functions only choose
how it looks, so they can be built (and tested) without a browser.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from qnn_core.service import NoiseEffect, QuantumState, ReadoutCurves, ShotEstimate

QUBIT_COLOURS = (
    "#4C78A8",
    "#F58518",
    "#54A24B",
    "#E45756",
    "#72B7B2",
    "#B279A2",
    "#FF9DA6",
    "#9D755D",
    "#BAB0AC",
    "#EECA3B",
    "#1F77B4",
    "#D62728",
)
LABELLED = 3  # basis states named above their bars in the full distribution


def _margins(fig: go.Figure, height: int) -> go.Figure:
    fig.update_layout(height=height, margin=dict(l=10, r=10, t=40, b=10))
    return fig


def state_chart(state: QuantumState) -> go.Figure:
    """Basis-state probabilities after the encoding and after the circuit; a bar per state up to 8 qubits (the
    most likely named), else the top states of each only."""
    stages = (
        ("after the encoding alone", state.encoded),
        ("after the circuit (what a measurement samples)", state.final),
    )
    if not state.every_state:
        fig = make_subplots(rows=1, cols=2, subplot_titles=[t for t, _ in stages], horizontal_spacing=0.25)
        for col, (_, s) in enumerate(stages, 1):
            kets, probs = [k for k, _ in s.top][::-1], [p for _, p in s.top][::-1]
            fig.add_bar(
                x=probs,
                y=kets,
                orientation="h",
                marker_color="#4C78A8",
                showlegend=False,
                row=1,
                col=col,
                text=[f"{p:.1%}" for p in probs],
                textposition="auto",
            )
        return _margins(fig, 80 + 28 * len(state.final.top))
    n = state.n_qubits
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.12, subplot_titles=[t for t, _ in stages])
    index = np.arange(2**n)
    kets = [f"|{i:0{n}b}⟩" for i in index]
    for row, (_, s) in enumerate(stages, 1):
        fig.add_bar(
            x=index,
            y=s.probs,
            marker_color="#4C78A8" if row == 1 else "#54A24B",
            showlegend=False,
            hovertext=kets,
            hovertemplate="%{hovertext}: %{y:.2%}<extra></extra>",
            row=row,
            col=1,
        )
        for rank, (ket, p) in enumerate(s.top[:LABELLED]):  # staggered: the likeliest states often sit side by side
            fig.add_annotation(
                x=int(ket[1:-1], 2),
                y=p,
                text=ket,
                showarrow=True,
                arrowhead=0,
                ax=0,
                ay=-14 - 14 * rank,
                font=dict(size=10),
                row=row,
                col=1,
            )
        fig.update_yaxes(title_text="probability", tickformat=".0%", row=row, col=1)
    fig.update_xaxes(title_text=f"basis state (0 … {2**n - 1}; qubit 0 is the leftmost bit)", row=2, col=1)
    return _margins(fig, 480)


def _sphere(fig: go.Figure, col: int) -> None:
    """A translucent unit sphere with its equator and the three axes, in scene `col`."""
    u, v = np.meshgrid(np.linspace(0, 2 * np.pi, 30), np.linspace(0, np.pi, 16))
    fig.add_trace(
        go.Surface(
            x=np.cos(u) * np.sin(v),
            y=np.sin(u) * np.sin(v),
            z=np.cos(v),
            opacity=0.12,
            showscale=False,
            colorscale=[[0, "#9ecae1"], [1, "#9ecae1"]],
            hoverinfo="skip",
        ),
        row=1,
        col=col,
    )
    t = np.linspace(0, 2 * np.pi, 60)
    fig.add_trace(
        go.Scatter3d(
            x=np.cos(t),
            y=np.sin(t),
            z=0 * t,
            mode="lines",
            line=dict(color="#aaa", width=2),
            hoverinfo="skip",
            showlegend=False,
        ),
        row=1,
        col=col,
    )
    for axis, label in (((1, 0, 0), "x"), ((0, 1, 0), "y"), ((0, 0, 1), "|0⟩"), ((0, 0, -1), "|1⟩")):
        fig.add_trace(
            go.Scatter3d(
                x=[0, 1.15 * axis[0]],
                y=[0, 1.15 * axis[1]],
                z=[0, 1.15 * axis[2]],
                mode="lines+text",
                text=["", label],
                line=dict(color="#888", width=2),
                hoverinfo="skip",
                showlegend=False,
            ),
            row=1,
            col=col,
        )


def bloch_chart(state: QuantumState) -> go.Figure:
    """Each qubit's Bloch vector (<X>, <Y>, <Z>) after the encoding and at the end, on two spheres. A vector
    shorter than the radius is a qubit entangled with the others (its own state is mixed)."""
    fig = make_subplots(
        rows=1,
        cols=2,
        specs=[[{"type": "scene"}, {"type": "scene"}]],
        subplot_titles=["after the encoding", "at the end"],
        horizontal_spacing=0.02,
    )
    for col, s in enumerate((state.encoded, state.final), 1):
        _sphere(fig, col)
        for w, (x, y, z) in enumerate(s.bloch):
            colour = QUBIT_COLOURS[w % len(QUBIT_COLOURS)]
            fig.add_trace(
                go.Scatter3d(
                    x=[0, x],
                    y=[0, y],
                    z=[0, z],
                    mode="lines+markers",
                    name=f"q{w}",
                    legendgroup=f"q{w}",
                    showlegend=col == 1,
                    line=dict(color=colour, width=6),
                    marker=dict(size=[0, 5], color=colour),
                    hovertemplate=f"q{w}: ⟨X⟩={x:+.2f} ⟨Y⟩={y:+.2f} ⟨Z⟩={z:+.2f}, length {np.linalg.norm((x, y, z)):.2f}"
                    "<extra></extra>",
                ),
                row=1,
                col=col,
            )
    axis = dict(range=[-1.2, 1.2], visible=False)  # the sphere draws its own axes; a grid box would hide it
    scene = dict(xaxis=axis, yaxis=axis, zaxis=axis, aspectmode="cube", camera=dict(eye=dict(x=1.15, y=1.15, z=0.55)))
    fig.update_layout(scene=scene, scene2=scene, legend=dict(orientation="h", y=-0.02))
    fig.update_layout(height=400, margin=dict(l=0, r=0, t=40, b=0))
    return fig


def entanglement_chart(state: QuantumState) -> go.Figure:
    """Per qubit at the end: the entropy of its reduced state (bars, bits) and its purity Tr rho^2 (markers).
    After the encoding both are trivial (entropy 0, purity 1): only the CNOT rings entangle."""
    names = [f"q{w}" for w in range(state.n_qubits)]
    fig = go.Figure(
        go.Bar(
            x=names,
            y=state.final.entropy,
            name="entropy S(ρ) at the end (bits)",
            marker_color="#B279A2",
            hovertemplate="%{x}: %{y:.3f} bits<extra></extra>",
        )
    )
    fig.add_scatter(
        x=names,
        y=state.final.purity,
        mode="markers",
        name="purity Tr ρ² at the end",
        marker=dict(symbol="diamond", size=11, color="#4C78A8"),
    )
    fig.add_scatter(
        x=names,
        y=state.encoded.entropy,
        mode="markers",
        name="entropy after the encoding",
        marker=dict(symbol="line-ew-open", size=18, color="#888"),
    )
    fig.update_layout(yaxis=dict(range=[0, 1.1], title="bits / purity"), legend=dict(orientation="h", y=-0.2))
    return _margins(fig, 320)


def shots_chart(estimate: ShotEstimate) -> go.Figure:
    """The exact <Z> (bars) and each re-sampling's estimate (dots): how far finite shots scatter them."""
    n = estimate.exact_expvals.shape[0]
    names = [f"q{w}" for w in range(n)]
    fig = go.Figure(go.Bar(x=names, y=estimate.exact_expvals, name="exact ⟨Z⟩", marker_color="#BAB0AC"))
    if estimate.shots:
        rng = np.random.default_rng(0)  # horizontal jitter only, so that the dots do not hide each other
        xs = np.repeat(np.arange(n)[None, :], estimate.resamples, 0) + rng.uniform(-0.25, 0.25, estimate.expvals.shape)
        fig.add_scatter(
            x=xs.ravel(),
            y=estimate.expvals.ravel(),
            mode="markers",
            marker=dict(size=5, color="#E45756"),
            name=f"{estimate.resamples} estimates from {estimate.shots:,} shots each",
        )
    fig.update_layout(
        xaxis=dict(tickvals=list(range(n)), ticktext=names),
        yaxis=dict(range=[-1.05, 1.05], title="⟨Z⟩"),
        legend=dict(orientation="h", y=-0.2),
    )
    return _margins(fig, 300)


def noise_chart(effect: NoiseEffect) -> go.Figure:
    """<Z> of each qubit without and with the noise: depolarizing pulls every value towards 0."""
    names = [f"q{w}" for w in range(effect.expvals.shape[0])]
    fig = go.Figure(go.Bar(x=names, y=effect.exact_expvals, name="exact", marker_color="#BAB0AC"))
    fig.add_bar(x=names, y=effect.expvals, name=f"depolarizing p = {effect.p:g}", marker_color="#F58518")
    fig.update_layout(
        barmode="group", yaxis=dict(range=[-1.05, 1.05], title="⟨Z⟩"), legend=dict(orientation="h", y=-0.2)
    )
    return _margins(fig, 300)


def readout_curves_chart(curves: ReadoutCurves) -> go.Figure:
    """Test accuracy against shots (log axis) and against noise, one line per model; bottlenecks dashed."""
    fig = make_subplots(
        rows=1, cols=2, subplot_titles=("⟨Z⟩ from N shots per image", "depolarizing noise p per gate layer")
    )
    for i, (name, r) in enumerate(curves.lines):
        color = QUBIT_COLOURS[i // 2 % len(QUBIT_COLOURS)]
        dash = "dash" if r["model"] == "bottleneck" else "solid"
        fig.add_trace(
            go.Scatter(
                x=list(curves.shots),
                y=[r["shots"][str(n)]["mean"] * 100 for n in curves.shots],
                name=name,
                legendgroup=name,
                mode="lines+markers",
                line={"color": color, "dash": dash},
            ),
            row=1,
            col=1,
        )
        fig.add_trace(
            go.Scatter(
                x=list(curves.noise),
                y=[r["noise"][f"{p:g}"] * 100 for p in curves.noise],
                name=name,
                legendgroup=name,
                showlegend=False,
                mode="lines+markers",
                line={"color": color, "dash": dash},
            ),
            row=1,
            col=2,
        )
    fig.update_xaxes(type="log", title_text="shots", row=1, col=1)
    fig.update_xaxes(title_text="p", row=1, col=2)
    fig.update_yaxes(title_text="test accuracy (%)", row=1, col=1)
    return _margins(fig, 420)

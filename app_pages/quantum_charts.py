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
        if "device" in r:  # the simulated device: at its shots, and where the depolarizing curve costs as much
            v = r["device"]
            star = dict(symbol="star", size=15, color=color, line=dict(color="black", width=1))
            tip = (
                f"{name} on {v['qpu']} (simulated), {v['shots']:,} shots, first {v['images']:,} test images: "
                f"{v['accuracy']:.2%} (exact there {v['exact']:.2%})"
            )
            fig.add_trace(
                go.Scatter(
                    x=[v["shots"]],
                    y=[v["accuracy"] * 100],
                    mode="markers",
                    marker=star,
                    name=f"★ {v['qpu']}",
                    legendgroup=name,
                    showlegend=False,
                    hovertext=[tip],
                    hoverinfo="text",
                ),
                row=1,
                col=1,
            )
            if v.get("p_same_shrink") is not None:
                fig.add_trace(
                    go.Scatter(
                        x=[v["p_same_shrink"]],
                        y=[v["accuracy"] * 100],
                        mode="markers",
                        marker=star,
                        legendgroup=name,
                        showlegend=False,
                        hovertext=[f"{tip}; the depolarizing p that shrinks ⟨Z⟩ as much: {v['p_same_shrink']:.3f}"],
                        hoverinfo="text",
                    ),
                    row=1,
                    col=2,
                )
    fig.update_xaxes(type="log", title_text="shots (★: a simulated real device)", row=1, col=1)
    fig.update_xaxes(title_text="p (★: the p that shrinks ⟨Z⟩ as much as the device)", row=1, col=2)
    fig.update_yaxes(title_text="test accuracy (%)", row=1, col=1)
    return _margins(fig, 420)


def coupling_map_chart(routing) -> go.Figure:
    """The device's qubits and couplers where qiskit draws them; the physical qubits the routed circuit occupies
    coloured (labelled with the model's wire that starts there), each used coupler as thick as its CNOT count,
    and the couplers where the router inserted SWAPs in orange."""
    xy = routing.coordinates
    cnots = {(a, b): k for a, b, k in routing.cnot_edges}
    swaps = {(a, b): k for a, b, k in routing.swap_edges}
    fig = go.Figure()
    for a, b in routing.edges:  # every coupler, thin and grey: what the chip offers
        fig.add_scatter(
            x=[xy[a][0], xy[b][0]],
            y=[xy[a][1], xy[b][1]],
            mode="lines",
            line=dict(color="#d0d0d0", width=2),
            hoverinfo="skip",
            showlegend=False,
        )
    for a, b in sorted(set(cnots) | set(swaps)):
        k, s = cnots.get((a, b), 0), swaps.get((a, b), 0)
        fig.add_scatter(
            x=[xy[a][0], (xy[a][0] + xy[b][0]) / 2, xy[b][0]],
            y=[xy[a][1], (xy[a][1] + xy[b][1]) / 2, xy[b][1]],
            mode="lines",
            line=dict(color="#F58518" if s else "#4C78A8", width=2 + 0.5 * k),
            hovertemplate=f"Q{a}–Q{b}: {k} CNOTs in the routed circuit"
            + (f"; the router inserted {s} SWAPs here" if s else "")
            + "<extra></extra>",
            showlegend=False,
        )
    start = {p: w for w, p in enumerate(routing.initial)}
    end = {p: w for w, p in enumerate(routing.final)}
    used = set(routing.physical)
    calib = {q.physical: q for q in routing.qubits}
    idle = [q for q in range(len(xy)) if q not in used]
    fig.add_scatter(
        x=[xy[q][0] for q in idle],
        y=[xy[q][1] for q in idle],
        mode="markers",
        marker=dict(size=9, color="#e8e8e8", line=dict(color="#b0b0b0", width=1)),
        hovertext=[f"Q{q}: not used" for q in idle],
        hoverinfo="text",
        name="physical qubit, not used",
    )
    order = sorted(used)

    def hover(q: int) -> str:
        c = calib[q]
        text = f"Q{q}: readout error {c.readout_error:.2%}, T1 {c.t1_us:.0f} µs, T2 {c.t2_us:.0f} µs"
        if q in start:
            text += f"<br>wire q{start[q]} starts here"
        if q in end:
            text += f"<br>wire q{end[q]} is measured here"
        return text

    fig.add_scatter(
        x=[xy[q][0] for q in order],
        y=[xy[q][1] for q in order],
        mode="markers+text",
        marker=dict(
            size=26,
            color=[QUBIT_COLOURS[start[q] % len(QUBIT_COLOURS)] if q in start else "#bbbbbb" for q in order],
            line=dict(color="#333", width=1),
        ),
        text=[f"q{start[q]}" if q in start else "" for q in order],
        textfont=dict(color="white", size=11),
        hovertext=[hover(q) for q in order],
        hoverinfo="text",
        name="used: the model's wire that starts there",
    )
    fig.add_scatter(
        x=[xy[q][0] for q in order],
        y=[xy[q][1] - 0.42 for q in order],
        mode="text",
        text=[f"Q{q}" for q in order],
        textfont=dict(size=9, color="#555"),
        hoverinfo="skip",
        showlegend=False,
    )
    span_y = max(y for _, y in xy) - min(y for _, y in xy)
    fig.update_layout(
        xaxis=dict(visible=False),
        yaxis=dict(visible=False),
        legend=dict(orientation="h", y=-0.05),
        plot_bgcolor="white",
    )
    return _margins(fig, int(min(480, max(280, 24 * span_y + 200))))


def device_chart(run) -> go.Figure:
    """<Z> of each qubit: exact, from ideal shots and from the device's noisy shots (bars: the first run; dots:
    every re-run), so the shots' scatter and the noise's shrinking can be told apart."""
    n = run.exact_expvals.shape[0]
    names, x = [f"q{w}" for w in range(n)], list(range(n))  # numeric x: the re-runs' dots sit beside their bar
    fig = go.Figure(go.Bar(x=x, y=run.exact_expvals, name="exact", marker_color="#BAB0AC"))
    fig.add_bar(x=x, y=run.ideal.expvals[0], name=f"{run.shots:,} ideal shots", marker_color="#4C78A8")
    fig.add_bar(x=x, y=run.expvals[0], name=f"{run.shots:,} shots on {run.device}", marker_color="#E45756")
    if run.reruns > 1:
        xs = np.repeat(np.arange(n)[None, :], run.reruns, 0) + 0.27
        fig.add_scatter(
            x=xs.ravel(),
            y=run.expvals.ravel(),
            mode="markers",
            marker=dict(size=5, color="#7f1d1d"),
            name=f"each of {run.reruns} re-runs on {run.device}",
        )
    fig.update_layout(
        barmode="group",
        xaxis=dict(tickvals=list(range(n)), ticktext=names),
        yaxis=dict(range=[-1.05, 1.05], title="⟨Z⟩"),
        legend=dict(orientation="h", y=-0.2),
    )
    return _margins(fig, 320)

"""A drawing of a model's quantum circuit, built from the QuantumLayer itself (gates, wires, parameters)."""

from __future__ import annotations

import plotly.graph_objects as go

from qnn_core.models.quantum import QuantumLayer


def circuit_columns(layer: QuantumLayer) -> list[list[tuple]]:
    """The circuit as columns of gates: ("RY", wire, text) single-qubit gates or ("CNOT", control, target)."""
    n = layer.n_qubits
    cols: list[list[tuple]] = [[("RY", w, f"x{w}") for w in range(n)]]
    for d in range(layer.depth):
        cols.append([("RX", w, f"{layer.rx[d * n + w].params.item():+.2f}") for w in range(n)])
        cols.append([("RY", w, f"{layer.ry[d * n + w].params.item():+.2f}") for w in range(n)])
        cols += [[("CNOT", a, b)] for a, b in layer.ring()]
    cols.append([("Z", w, "⟨Z⟩") for w in range(n)])
    return cols


def circuit_figure(layer: QuantumLayer) -> go.Figure:
    cols = circuit_columns(layer)
    n = layer.n_qubits
    fig = go.Figure()
    x_of = []
    x = 0.0
    for col in cols:
        x_of.append(x)
        x += 0.55 if col[0][0] == "CNOT" else 1.0
    width = x
    for w in range(n):
        fig.add_shape(type="line", x0=-0.6, x1=width, y0=-w, y1=-w, line=dict(color="#888", width=1))
        fig.add_annotation(x=-0.9, y=-w, text=f"q{w}", showarrow=False, font=dict(size=12))
    colours = {"RY": "#4C78A8", "RX": "#F58518", "Z": "#54A24B"}
    for cx, col in zip(x_of, cols):
        for gate in col:
            if gate[0] == "CNOT":
                _, a, b = gate
                fig.add_shape(type="line", x0=cx, x1=cx, y0=-a, y1=-b, line=dict(color="#222", width=1.5))
                fig.add_shape(
                    type="circle",
                    x0=cx - 0.08,
                    x1=cx + 0.08,
                    y0=-a - 0.08,
                    y1=-a + 0.08,
                    fillcolor="#222",
                    line_color="#222",
                )
                fig.add_shape(
                    type="circle",
                    x0=cx - 0.17,
                    x1=cx + 0.17,
                    y0=-b - 0.17,
                    y1=-b + 0.17,
                    line=dict(color="#222", width=1.5),
                    fillcolor="white",
                )
                fig.add_annotation(x=cx, y=-b, text="+", showarrow=False, font=dict(size=14))
                continue
            name, w, text = gate
            fig.add_shape(
                type="rect",
                x0=cx - 0.4,
                x1=cx + 0.4,
                y0=-w - 0.3,
                y1=-w + 0.3,
                fillcolor=colours[name],
                line_color="white",
                opacity=0.95,
            )
            label = text if name == "Z" else f"{name}<br>{text}"
            fig.add_annotation(x=cx, y=-w, text=label, showarrow=False, font=dict(size=9, color="white"))
    fig.update_xaxes(visible=False, range=[-1.2, width + 0.2])
    fig.update_yaxes(visible=False, range=[-n + 0.4, 0.6])
    fig.update_layout(height=60 + 42 * n, margin=dict(l=10, r=10, t=10, b=10), plot_bgcolor="white", showlegend=False)
    return fig

"""Recurrent networks: the Elman RNN, the LSTM and the GRU (primer: "Recurrent Neural Networks").

* ``rnn``: Elman 1990, "Finding structure in time" (primer: "Basic RNN").
* ``lstm``: Hochreiter & Schmidhuber 1997, "Long short-term memory", with the forget gate of
  Gers, Schmidhuber & Cummins 2000, "Learning to forget" (primer: "Long Short-Term Memory").
* ``gru``: Cho et al. 2014, "Learning phrase representations using RNN encoder-decoder for
  statistical machine translation" (primer: "Gated Recurrent Unit").

Every cell has two implementations that hold the same parameters under the same names:

* ``impl="fast"``: ``torch.nn.RNN`` / ``LSTM`` / ``GRU`` (cuDNN on a GPU); a padded batch
  with ``lengths`` goes through ``pack_padded_sequence``.
* ``impl="reference"``: the primer's equations written literally, one line each, in the
  small cell modules below (:class:`ElmanCell`, :class:`LSTMCell`, :class:`GRUCell`), and a
  python loop over time steps (:class:`ReferenceRecurrent`). Padded steps are masked: the
  state is kept and the output is zero.

Both keep ``torch.nn``'s parameter names and layouts (``weight_ih_l{k}``, ``weight_hh_l{k}``,
``bias_ih_l{k}``, ``bias_hh_l{k}``, ``_reverse`` for the backward direction; gates stacked in
torch's order, i,f,g,o for the LSTM and r,z,n for the GRU) and torch's initialization
(uniform in ±1/√hidden_size), so ``model.rnn.state_dict()`` loads into a bare
``torch.nn.LSTM`` and back, and weights move freely between the two implementations.

**Layer normalization** (``norm="layer"``; Ba, Kiros & Hinton 2016, "Layer normalization";
primer: "Regularization Methods", "Layer Normalization": "better for RNNs"). Each summed
input is normalized over its units at every step, with a gain per unit, no running
statistics and nothing shared across the batch, so a step's output does not depend on the
other sequences or on the step's position. The paper's equations:

* RNN (section 3.1, eq. 4): h_t = tanh(LN(W x_t + U h_{t-1}) + b) (or relu), one
  normalization of the summed inputs (gain g; the paper's b is torch's ``bias_ih + bias_hh``).
* LSTM (the paper's supplementary, "Teaching machines to read"): the gates are
  LN(W x_t) + LN(U h_{t-1}) + b, the input and recurrent contributions normalized apart
  (over all four gates together), and h_t = o_t ⊙ tanh(LN(c_t)), with gain and bias.
* GRU: the same as the LSTM's gates, LN(W x_t) and LN(U h_{t-1}) over the three gates, in
  torch's GRU convention (the reset gate multiplies the normalized U_n h_{t-1} + b_hn).

The gains start at one and the LN(c_t) bias at zero; the normalizations of summed inputs
have no bias of their own (torch's ``bias_ih``/``bias_hh`` follow them, the paper's b). Their
parameters are ``ln_ih_l{k}`` (``ln_l{k}`` for the RNN), ``ln_hh_l{k}``, ``ln_c_l{k}`` and
``ln_c_bias_l{k}`` beside torch's (``_reverse`` for the backward direction). torch.nn's fused
kernels have no layer norm, so with ``norm="layer"``:

* ``impl="reference"``: the cells below with the equations one line each, in the loop.
* ``impl="fast"`` (:class:`LayerNormRecurrent`): the same parameters; the input projections
  W x_t and their normalization are computed for every step at once (one matrix product per
  layer instead of one per step), and only the recurrent part loops, its gates in one matrix
  product. Measured on this project's shared, loaded 2-core CPU (batch 32, 50 steps, 128
  units, one layer, forward and backward, best of 10-15, one thread): with 64 inputs it
  takes 0.56x (RNN), 0.86x (GRU) and 0.93x (LSTM) the reference loop's time, and 1.3x (RNN,
  GRU) to 2.0x (LSTM) that of torch.nn's fused kernels without layer norm; with 8 inputs
  the input product it saves is small and the two loops take about the same time. The loop
  over time steps in python, which a fused kernel does not have, is what layer norm costs.

``norm="batch"`` is refused: batch statistics would have to be kept per time step (Cooijmans
et al. 2017), which Ba et al. designed layer norm to avoid.

A network reads a batch of sequences (B, T, input_size), or token ids (B, T) through an
``nn.Embedding`` when ``vocab_size`` is given, and its ``head`` turns the recurrent outputs
into logits: ``"last"`` (the final state of each direction: the last real step forward, step
0 backward), ``"mean"`` or ``"max"`` over the real steps, or ``"all"`` (one output per step:
the primer's y_t = W_y h_t + b_y, for many-to-many tasks and language models).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from zoo.config.values import is_int
from zoo.errors import ZooError
from zoo.models.layers import (
    Classifier,
    Lengths,
    check_dropout,
    check_lengths,
    check_token_ids,
    sequence_example_input,
)
from zoo.registry import register_model

CELLS = ("rnn", "lstm", "gru")
HEADS = ("last", "mean", "max", "all")
IMPLS = ("fast", "reference")
RECURRENT_NORMS = ("none", "layer")
NONLINEARITIES = ("tanh", "relu")
FAST_MODULES = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}
#: the hidden state h (layers·directions, B, hidden), an LSTM's (h, c), or None for zeros
RecurrentState = torch.Tensor | tuple[torch.Tensor, torch.Tensor] | None
DEFAULT_STEPS, DEFAULT_INPUT_SIZE = 8, 8

# A state is h (B, H) for the RNN and the GRU, or (h, c) for the LSTM; inside the reference
# implementation it is always a tuple, (h,) or (h, c), so all cells are masked alike.
State = tuple[torch.Tensor, ...]


# ---------------------------------------------------------------------------------------------
# The cells: one time step, the primer's equations one line each. They hold no parameters: the
# weights of a layer and direction are passed in, stacked as torch.nn stacks them, so the
# parameters keep torch.nn's names and layouts. x_t is a batch of row vectors (B, input), so
# the primer's W x_t is x_t @ W.T.
# ---------------------------------------------------------------------------------------------


class ElmanCell(nn.Module):
    """One step of the Elman (1990) network (primer: "Basic RNN"):
    h_t = tanh(W x_t + b_ih + U h_{t-1} + b_hh), or relu. The primer's W_x is torch's ``weight_ih``,
    its W_h is ``weight_hh`` and its single bias b is ``bias_ih + bias_hh``."""

    num_gates = 1

    def __init__(self, nonlinearity: str = "tanh") -> None:
        super().__init__()
        self.nonlinearity = nonlinearity

    def forward(
        self,
        x_t: torch.Tensor,
        state: State,
        weight_ih: torch.Tensor,
        weight_hh: torch.Tensor,
        bias_ih: torch.Tensor,
        bias_hh: torch.Tensor,
    ) -> State:
        (h_prev,) = state
        activation = torch.tanh if self.nonlinearity == "tanh" else torch.relu
        W, U = weight_ih, weight_hh  # noqa: N806 (the primer's matrices)
        h_t = activation(x_t @ W.T + bias_ih + h_prev @ U.T + bias_hh)  # (B, H)
        return (h_t,)


class LSTMCell(nn.Module):
    """One step of the LSTM (Hochreiter & Schmidhuber 1997) with the forget gate of Gers et al.
    (2000), as the primer writes it ("Long Short-Term Memory"). The primer's W_f [h_{t-1}, x_t]
    is W_f x_t + U_f h_{t-1} with its matrix split in two (torch's ``weight_ih`` and
    ``weight_hh`` chunks), and its b_f is torch's b_if + b_hf. Gates are stacked in torch's
    order: input, forget, cell candidate (the primer's C̃_t, torch's g), output."""

    num_gates = 4

    def forward(
        self,
        x_t: torch.Tensor,
        state: State,
        weight_ih: torch.Tensor,
        weight_hh: torch.Tensor,
        bias_ih: torch.Tensor,
        bias_hh: torch.Tensor,
    ) -> State:
        h_prev, c_prev = state
        W_i, W_f, W_g, W_o = weight_ih.chunk(4)  # noqa: N806 (the primer's matrices)
        U_i, U_f, U_g, U_o = weight_hh.chunk(4)  # noqa: N806 (the primer's matrices)
        b_i, b_f, b_g, b_o = (bias_ih + bias_hh).chunk(4)
        f_t = torch.sigmoid(x_t @ W_f.T + h_prev @ U_f.T + b_f)  # forget gate
        i_t = torch.sigmoid(x_t @ W_i.T + h_prev @ U_i.T + b_i)  # input gate
        g_t = torch.tanh(x_t @ W_g.T + h_prev @ U_g.T + b_g)  # candidate C̃_t
        o_t = torch.sigmoid(x_t @ W_o.T + h_prev @ U_o.T + b_o)  # output gate
        c_t = f_t * c_prev + i_t * g_t  # cell state: C_t = f_t ⊙ C_{t-1} + i_t ⊙ C̃_t
        h_t = o_t * torch.tanh(c_t)  # h_t = o_t ⊙ tanh(C_t)
        return h_t, c_t


class GRUCell(nn.Module):
    """One step of the GRU (Cho et al. 2014; primer: "Gated Recurrent Unit", which gives no
    equations), in torch.nn's convention: the reset gate multiplies U_n h_{t-1} + b_hn *after*
    the matrix product (Cho et al. reset h_{t-1} before it: tanh(W x_t + U (r_t ⊙ h_{t-1}))),
    and the update gate z_t keeps the old state, h_t = (1 - z_t) ⊙ n_t + z_t ⊙ h_{t-1}, as in
    Cho et al. (some texts swap z_t and 1 - z_t). Gates are stacked in torch's order r, z, n."""

    num_gates = 3

    def forward(
        self,
        x_t: torch.Tensor,
        state: State,
        weight_ih: torch.Tensor,
        weight_hh: torch.Tensor,
        bias_ih: torch.Tensor,
        bias_hh: torch.Tensor,
    ) -> State:
        (h_prev,) = state
        W_r, W_z, W_n = weight_ih.chunk(3)  # noqa: N806 (the primer's matrices)
        U_r, U_z, U_n = weight_hh.chunk(3)  # noqa: N806 (the primer's matrices)
        b_ir, b_iz, b_in = bias_ih.chunk(3)
        b_hr, b_hz, b_hn = bias_hh.chunk(3)
        r_t = torch.sigmoid(x_t @ W_r.T + b_ir + h_prev @ U_r.T + b_hr)  # reset gate
        z_t = torch.sigmoid(x_t @ W_z.T + b_iz + h_prev @ U_z.T + b_hz)  # update gate
        n_t = torch.tanh(x_t @ W_n.T + b_in + r_t * (h_prev @ U_n.T + b_hn))  # candidate
        h_t = (1 - z_t) * n_t + z_t * h_prev  # (B, H)
        return (h_t,)


# Layer-normalized cells (Ba et al. 2016). ``layer_norm(a, gain, bias)`` is the paper's
# LN(a; α, β) = α ⊙ (a - μ) / σ + β over the last dimension (its units), σ with an ε of 1e-5.


LAYER_NORM_EPS = 1e-5


def layer_norm(
    a: torch.Tensor, gain: torch.Tensor, bias: torch.Tensor | None = None
) -> torch.Tensor:
    """LN(a; gain, bias) over the last dimension."""
    return nn.functional.layer_norm(a, a.shape[-1:], gain, bias, eps=LAYER_NORM_EPS)


class LayerNormElmanCell(ElmanCell):
    """One step of the layer-normalized RNN (Ba et al. 2016, section 3.1, eq. 4):
    h_t = tanh(LN(W x_t + U h_{t-1}; g) + b) (or relu), b being torch's ``bias_ih + bias_hh``."""

    #: the layer-norm parameters of one layer and direction: (name, size in hidden units, init)
    norms = (("ln", 1, 1.0),)

    def forward(  # type: ignore[override]
        self,
        x_t: torch.Tensor,
        state: State,
        weight_ih: torch.Tensor,
        weight_hh: torch.Tensor,
        bias_ih: torch.Tensor,
        bias_hh: torch.Tensor,
        gain: torch.Tensor,
    ) -> State:
        (h_prev,) = state
        activation = torch.tanh if self.nonlinearity == "tanh" else torch.relu
        W, U = weight_ih, weight_hh  # noqa: N806 (the paper's matrices)
        a_t = x_t @ W.T + h_prev @ U.T  # the summed inputs (B, H)
        return (activation(layer_norm(a_t, gain) + bias_ih + bias_hh),)

    @staticmethod
    def project(x: torch.Tensor, *weights: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """(x W^T for every step (B, T, H), weight_hh, what :meth:`step` needs besides)."""
        weight_ih, weight_hh, bias_ih, bias_hh, gain = weights
        return x @ weight_ih.T, weight_hh, bias_ih, bias_hh, gain

    def step(
        self, xw_t: torch.Tensor, state: State, weight_hh: torch.Tensor, *rest: torch.Tensor
    ) -> State:
        """The same step from the input projection x_t W^T computed beforehand (the fast
        path); the sum must be normalized whole, so only the product moves out of the loop."""
        bias_ih, bias_hh, gain = rest
        activation = torch.tanh if self.nonlinearity == "tanh" else torch.relu
        a_t = torch.addmm(xw_t, state[0], weight_hh.T)  # (B, H)
        return (activation(layer_norm(a_t, gain, bias_ih + bias_hh)),)


class LayerNormLSTMCell(LSTMCell):
    """One step of the layer-normalized LSTM (Ba et al. 2016, supplementary):
    (i, f, g, o) = LN(W x_t; α_x) + LN(U h_{t-1}; α_h) + b, c_t = σ(f) ⊙ c_{t-1} + σ(i) ⊙
    tanh(g), h_t = σ(o) ⊙ tanh(LN(c_t; α_c, β_c)). Gates in torch's order i, f, g, o."""

    norms = (("ln_ih", 4, 1.0), ("ln_hh", 4, 1.0), ("ln_c", 1, 1.0), ("ln_c_bias", 1, 0.0))

    def forward(  # type: ignore[override]
        self,
        x_t: torch.Tensor,
        state: State,
        weight_ih: torch.Tensor,
        weight_hh: torch.Tensor,
        bias_ih: torch.Tensor,
        bias_hh: torch.Tensor,
        gain_ih: torch.Tensor,
        gain_hh: torch.Tensor,
        gain_c: torch.Tensor,
        bias_c: torch.Tensor,
    ) -> State:
        h_prev, c_prev = state
        wx = layer_norm(x_t @ weight_ih.T, gain_ih)  # LN(W x_t), all four gates (B, 4H)
        uh = layer_norm(h_prev @ weight_hh.T, gain_hh)  # LN(U h_{t-1}) (B, 4H)
        a_i, a_f, a_g, a_o = (wx + uh + bias_ih + bias_hh).chunk(4, dim=-1)
        f_t = torch.sigmoid(a_f)  # forget gate
        i_t = torch.sigmoid(a_i)  # input gate
        g_t = torch.tanh(a_g)  # candidate C̃_t
        o_t = torch.sigmoid(a_o)  # output gate
        c_t = f_t * c_prev + i_t * g_t  # C_t = f_t ⊙ C_{t-1} + i_t ⊙ C̃_t
        h_t = o_t * torch.tanh(layer_norm(c_t, gain_c, bias_c))  # h_t = o_t ⊙ tanh(LN(C_t))
        return h_t, c_t

    @staticmethod
    def project(x: torch.Tensor, *weights: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """(LN(W x) + b for every step (B, T, 4H), weight_hh, what :meth:`step` needs)."""
        weight_ih, weight_hh, bias_ih, bias_hh, gain_ih, *rest = weights
        return layer_norm(x @ weight_ih.T, gain_ih) + (bias_ih + bias_hh), weight_hh, *rest

    def step(
        self, xw_t: torch.Tensor, state: State, weight_hh: torch.Tensor, *rest: torch.Tensor
    ) -> State:
        """The same step from LN(W x_t) + b computed beforehand (the fast path)."""
        gain_hh, gain_c, bias_c = rest
        h_prev, c_prev = state
        gates = xw_t + layer_norm(h_prev @ weight_hh.T, gain_hh)  # (B, 4H)
        i, f, g, o = gates.chunk(4, dim=-1)
        c_t = torch.sigmoid(f) * c_prev + torch.sigmoid(i) * torch.tanh(g)
        return torch.sigmoid(o) * torch.tanh(layer_norm(c_t, gain_c, bias_c)), c_t


class LayerNormGRUCell(GRUCell):
    """One step of the layer-normalized GRU: the LSTM's normalizations (Ba et al. 2016) in
    torch's GRU convention, LN(W x_t; α_x) and LN(U h_{t-1}; α_h) over the gates r, z, n:
    r_t = σ(LN(W x)_r + b_ir + LN(U h)_r + b_hr), z_t likewise, n_t = tanh(LN(W x)_n + b_in +
    r_t ⊙ (LN(U h)_n + b_hn)), h_t = (1 - z_t) ⊙ n_t + z_t ⊙ h_{t-1}."""

    norms = (("ln_ih", 3, 1.0), ("ln_hh", 3, 1.0))

    def forward(  # type: ignore[override]
        self,
        x_t: torch.Tensor,
        state: State,
        weight_ih: torch.Tensor,
        weight_hh: torch.Tensor,
        bias_ih: torch.Tensor,
        bias_hh: torch.Tensor,
        gain_ih: torch.Tensor,
        gain_hh: torch.Tensor,
    ) -> State:
        (h_prev,) = state
        wx_r, wx_z, wx_n = layer_norm(x_t @ weight_ih.T, gain_ih).chunk(3, dim=-1)
        uh_r, uh_z, uh_n = layer_norm(h_prev @ weight_hh.T, gain_hh).chunk(3, dim=-1)
        b_ir, b_iz, b_in = bias_ih.chunk(3)
        b_hr, b_hz, b_hn = bias_hh.chunk(3)
        r_t = torch.sigmoid(wx_r + b_ir + uh_r + b_hr)  # reset gate
        z_t = torch.sigmoid(wx_z + b_iz + uh_z + b_hz)  # update gate
        n_t = torch.tanh(wx_n + b_in + r_t * (uh_n + b_hn))  # candidate
        h_t = (1 - z_t) * n_t + z_t * h_prev  # (B, H)
        return (h_t,)

    @staticmethod
    def project(x: torch.Tensor, *weights: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """(LN(W x) + b_ih for every step (B, T, 3H), weight_hh, what :meth:`step` needs)."""
        weight_ih, weight_hh, bias_ih, bias_hh, gain_ih, gain_hh = weights
        return layer_norm(x @ weight_ih.T, gain_ih) + bias_ih, weight_hh, bias_hh, gain_hh

    def step(
        self, xw_t: torch.Tensor, state: State, weight_hh: torch.Tensor, *rest: torch.Tensor
    ) -> State:
        """The same step from LN(W x_t) + b_ih computed beforehand (the fast path)."""
        bias_hh, gain_hh = rest
        (h_prev,) = state
        x_r, x_z, x_n = xw_t.chunk(3, dim=-1)
        h_r, h_z, h_n = (layer_norm(h_prev @ weight_hh.T, gain_hh) + bias_hh).chunk(3, dim=-1)
        r_t, z_t = torch.sigmoid(x_r + h_r), torch.sigmoid(x_z + h_z)
        n_t = torch.tanh(x_n + r_t * h_n)
        return ((1 - z_t) * n_t + z_t * h_prev,)


def make_cell(cell: str, nonlinearity: str = "tanh", norm: str = "none") -> nn.Module:
    """The reference cell module of ``cell`` (rnn, lstm or gru), layer-normalized with
    ``norm="layer"``."""
    if cell == "rnn":
        return (LayerNormElmanCell if norm == "layer" else ElmanCell)(nonlinearity)
    if norm == "layer":
        return LayerNormLSTMCell() if cell == "lstm" else LayerNormGRUCell()
    return LSTMCell() if cell == "lstm" else GRUCell()


class ReferenceRecurrent(nn.Module):
    """``torch.nn.RNN`` / ``LSTM`` / ``GRU`` (``batch_first=True``) written as a python loop
    over layers, directions and time steps around a reference cell.

    Its parameters carry torch.nn's names, shapes, registration order and initialization
    (uniform in ±1/√hidden_size), so its ``state_dict`` and a bare torch module's are
    interchangeable, and both draw the same weights from the same seed.
    ``forward(x, lengths, state)`` returns the last layer's outputs (B, T, D·H), zero at padded
    steps, and the final state in torch's format, (L·D, B, H) or a pair of them for the LSTM.
    """

    def __init__(
        self,
        cell: nn.Module,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        dropout: float = 0.0,
        bidirectional: bool = False,
    ) -> None:
        super().__init__()
        self.cell = cell
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.dropout = dropout
        self.bidirectional = bidirectional
        self.batch_first = True
        self.num_directions = 2 if bidirectional else 1
        gate_size = cell.num_gates * hidden_size
        for layer in range(num_layers):
            layer_input = input_size if layer == 0 else hidden_size * self.num_directions
            for direction in range(self.num_directions):
                suffix = self._suffix(layer, direction)
                shapes = {
                    "weight_ih": (gate_size, layer_input),
                    "weight_hh": (gate_size, hidden_size),
                    "bias_ih": (gate_size,),
                    "bias_hh": (gate_size,),
                }
                for name, multiple, _ in getattr(cell, "norms", ()):  # Ba et al. 2016
                    shapes[name] = (multiple * hidden_size,)
                for name, shape in shapes.items():
                    self.register_parameter(name + suffix, nn.Parameter(torch.empty(shape)))
        self.reset_parameters()

    @staticmethod
    def _suffix(layer: int, direction: int) -> str:
        return f"_l{layer}" + ("_reverse" if direction == 1 else "")

    def reset_parameters(self) -> None:
        """torch.nn's initialization: every parameter uniform in ±1/√hidden_size; the layer
        norms' gains then at one and their biases at zero."""
        bound = self.hidden_size**-0.5
        for parameter in self.parameters():
            nn.init.uniform_(parameter, -bound, bound)
        for name, _, value in getattr(self.cell, "norms", ()):
            for layer in range(self.num_layers):
                for direction in range(self.num_directions):
                    nn.init.constant_(getattr(self, name + self._suffix(layer, direction)), value)

    def extra_repr(self) -> str:
        return (
            f"{self.input_size}, {self.hidden_size}, num_layers={self.num_layers}, "
            f"dropout={self.dropout}, bidirectional={self.bidirectional}, batch_first=True"
        )

    def weights(self, layer: int, direction: int) -> tuple[torch.Tensor, ...]:
        """weight_ih, weight_hh, bias_ih, bias_hh of one layer and direction, then its layer
        norms' parameters (if any)."""
        suffix = self._suffix(layer, direction)
        names = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
        names += tuple(name for name, _, _ in getattr(self.cell, "norms", ()))
        return tuple(getattr(self, name + suffix) for name in names)

    def scan(
        self,
        x: torch.Tensor,
        state: State,
        weights: tuple[torch.Tensor, ...],
        mask: torch.Tensor | None,
        reverse: bool,
    ) -> tuple[torch.Tensor, State]:
        """Run one direction of one layer over x (B, T, I) from ``state``. Where ``mask`` (B, T)
        is false (padding) the state is kept and the output is zero; read backwards, each
        sequence thus starts from ``state`` at its own last real step, as a packed sequence
        does in torch."""
        return self.loop(lambda t, s: self.cell(x[:, t], s, *weights), x, state, mask, reverse)

    @staticmethod
    def loop(
        step: Any, x: torch.Tensor, state: State, mask: torch.Tensor | None, reverse: bool
    ) -> tuple[torch.Tensor, State]:
        """``state = step(t, state)`` over the steps of x (B, T, ...), masked as :meth:`scan`
        says; returns the outputs (B, T, H) and the final state."""
        steps = range(x.shape[1] - 1, -1, -1) if reverse else range(x.shape[1])
        outputs: list[torch.Tensor] = [x.new_empty(0)] * x.shape[1]
        for t in steps:
            new_state = step(t, state)
            if mask is None:
                state = new_state
                outputs[t] = new_state[0]  # (B, H)
            else:
                real = mask[:, t, None]  # (B, 1)
                state = tuple(torch.where(real, new, old) for new, old in zip(new_state, state))
                outputs[t] = torch.where(real, new_state[0], 0.0)  # (B, H)
        return torch.stack(outputs, dim=1), state  # (B, T, H)

    def forward(
        self,
        x: torch.Tensor,
        lengths: torch.Tensor | None = None,
        state: torch.Tensor | tuple[torch.Tensor, torch.Tensor] | None = None,
    ) -> tuple[torch.Tensor, Any]:
        batch, steps = x.shape[:2]
        parts = 2 if isinstance(self.cell, LSTMCell) else 1
        if state is None:
            zeros = x.new_zeros(self.num_layers * self.num_directions, batch, self.hidden_size)
            states: State = (zeros,) * parts
        else:
            states = tuple(state) if parts == 2 else (state,)
        mask = None
        if lengths is not None:
            mask = torch.arange(steps, device=x.device) < lengths.to(x.device)[:, None]  # (B, T)
            x = torch.where(mask[:, :, None], x, 0.0)  # padding values never reach a gradient
        layer_input = x  # (B, T, I)
        finals: list[State] = []
        for layer in range(self.num_layers):
            outputs = []
            for direction in range(self.num_directions):
                index = layer * self.num_directions + direction
                initial = tuple(s[index] for s in states)  # (B, H) each
                out, final = self.scan(
                    layer_input, initial, self.weights(layer, direction), mask, direction == 1
                )
                outputs.append(out)  # (B, T, H)
                finals.append(final)
            layer_input = torch.cat(outputs, dim=-1)  # (B, T, D·H)
            if layer < self.num_layers - 1:  # dropout between layers, not after the last
                layer_input = nn.functional.dropout(layer_input, self.dropout, self.training)
        # (L·D, B, H), in torch's order: layer by layer, forward before backward
        final_state = tuple(torch.stack([f[k] for f in finals]) for k in range(parts))
        return layer_input, (final_state if parts == 2 else final_state[0])


class LayerNormRecurrent(ReferenceRecurrent):
    """The fast path of the layer-normalized cells (torch.nn's fused kernels have none): the
    reference's parameters and loop, but each layer's input projections (and, for the LSTM
    and the GRU, their normalization and biases) are computed for every step at once, and each
    step is the cell's vectorized ``step``."""

    def scan(
        self,
        x: torch.Tensor,
        state: State,
        weights: tuple[torch.Tensor, ...],
        mask: torch.Tensor | None,
        reverse: bool,
    ) -> tuple[torch.Tensor, State]:
        projected, *rest = self.cell.project(x, *weights)  # (B, T, G): every step at once
        # unbind, not projected[:, t]: each indexing's backward would write a (B, T, G) zero
        # gradient, T times over
        inputs = projected.unbind(dim=1)  # T × (B, G)
        return self.loop(lambda t, s: self.cell.step(inputs[t], s, *rest), x, state, mask, reverse)


class RecurrentNetwork(Classifier):
    """An RNN, LSTM or GRU over sequences of feature vectors or token ids, with a linear head.

    ``forward(x, lengths=None, state=None, return_state=False)``: x is (B, T, input_size)
    floats, or (B, T) token ids when the network has a ``vocab_size``; ``lengths`` (B,) are the
    real lengths of a padded batch (padded steps never change a real step's output); ``state``
    is the initial state in torch.nn's format, h (L·D, B, H) or (h, c) for the LSTM. Returns
    logits (B, num_classes), or (B, T, num_classes) for ``head="all"`` (zero at padded steps),
    and with ``return_state=True`` the pair (logits, final state in torch.nn's format).
    """

    stateful = True  # tasks may carry the final state into the next truncated-BPTT window

    def __init__(
        self,
        cell: str,
        input_size: int,
        num_classes: int,
        hidden_size: int = 128,
        num_layers: int = 1,
        nonlinearity: str = "tanh",
        dropout: float = 0.0,
        bidirectional: bool = False,
        head: str = "last",
        impl: str = "fast",
        vocab_size: int | None = None,
        embedding_dim: int | None = None,
        norm: str = "none",
    ) -> None:
        super().__init__()
        self.cell = cell
        self.norm = norm
        self.impl = impl
        self.pooling = head
        self.vocab_size = vocab_size
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.bidirectional = bidirectional
        self.num_directions = 2 if bidirectional else 1
        self.embedding = None
        if vocab_size is not None:
            input_size = embedding_dim or hidden_size
            self.embedding = nn.Embedding(vocab_size, input_size)
        self.input_size = input_size
        if norm == "layer":  # no fused kernel: the reference loop or its vectorized form
            recurrent = LayerNormRecurrent if impl == "fast" else ReferenceRecurrent
            self.rnn = recurrent(
                make_cell(cell, nonlinearity, norm),
                input_size,
                hidden_size,
                num_layers,
                dropout,
                bidirectional,
            )
        elif impl == "fast":
            options = {"nonlinearity": nonlinearity} if cell == "rnn" else {}
            self.rnn = FAST_MODULES[cell](
                input_size,
                hidden_size,
                num_layers,
                batch_first=True,
                dropout=dropout,
                bidirectional=bidirectional,
                **options,
            )
        else:
            self.rnn = ReferenceRecurrent(
                make_cell(cell, nonlinearity),
                input_size,
                hidden_size,
                num_layers,
                dropout,
                bidirectional,
            )
        self.num_features = hidden_size * self.num_directions
        self.head = nn.Linear(self.num_features, num_classes)

    @property
    def causal(self) -> bool:
        """Whether each output depends only on the steps up to it (not when bidirectional)."""
        return not self.bidirectional

    # -- inputs ---------------------------------------------------------------------------

    def _embed(self, x: torch.Tensor) -> torch.Tensor:
        if self.embedding is not None:
            if x.dim() != 2 or x.is_floating_point():
                raise ZooError(
                    f"{self.cell} with vocab_size={self.vocab_size} takes token ids of shape "
                    f"(batch, steps), got {x.dtype} of shape {tuple(x.shape)}."
                )
            check_token_ids(x, self.vocab_size, self.cell)
            return self.embedding(x)  # (B, T, E)
        if x.dim() != 3 or x.shape[-1] != self.input_size or not x.is_floating_point():
            raise ZooError(
                f"{self.cell} takes float sequences of shape (batch, steps, {self.input_size}), "
                f"got {x.dtype} of shape {tuple(x.shape)}."
            )
        return x

    def _check_state(self, state: Any, batch: int) -> None:
        shape = (self.num_layers * self.num_directions, batch, self.hidden_size)
        parts = list(state) if self.cell == "lstm" and isinstance(state, tuple | list) else [state]
        if len(parts) != (2 if self.cell == "lstm" else 1) or not all(
            isinstance(p, torch.Tensor) and p.shape == shape for p in parts
        ):
            form = "a pair (h, c) of tensors" if self.cell == "lstm" else "a tensor h"
            got = [
                tuple(p.shape) if isinstance(p, torch.Tensor) else type(p).__name__ for p in parts
            ]
            raise ZooError(
                f"{self.cell} state must be {form} of shape {shape} (layers·directions, batch, "
                f"hidden_size), got {got}."
            )

    @staticmethod
    def _step_mask(lengths: torch.Tensor, steps: int, device: torch.device) -> torch.Tensor:
        return torch.arange(steps, device=device) < lengths.to(device)[:, None]  # (B, T)

    # -- the network ----------------------------------------------------------------------

    def recurrent_outputs(
        self, x: torch.Tensor, lengths: Lengths = None, state: RecurrentState = None
    ) -> tuple[torch.Tensor, RecurrentState]:
        """The last layer's outputs (B, T, D·H), zero at padded steps, and the final state in
        torch.nn's format."""
        lengths = check_lengths(x, lengths)
        if state is not None:
            self._check_state(state, x.shape[0])
        x = self._embed(x)  # (B, T, I)
        if isinstance(self.rnn, ReferenceRecurrent):
            return self.rnn(x, lengths, state)
        if lengths is None:
            return self.rnn(x, state)
        packed = pack_padded_sequence(x, lengths.cpu(), batch_first=True, enforce_sorted=False)
        outputs, final = self.rnn(packed, state)
        outputs, _ = pad_packed_sequence(outputs, batch_first=True, total_length=x.shape[1])
        return outputs, final  # (B, T, D·H)

    def pool(self, outputs: torch.Tensor, lengths: Lengths = None) -> torch.Tensor:
        """The head's input from the outputs (B, T, D·H): (B, D·H), or (B, T, D·H) for "all"."""
        batch, steps = outputs.shape[:2]
        lengths = None if lengths is None else torch.as_tensor(lengths, device=outputs.device)
        if self.pooling == "all":
            return outputs  # (B, T, D·H)
        if self.pooling == "last":
            hidden = self.hidden_size
            last = steps - 1 if lengths is None else lengths - 1  # the last real step
            forward = outputs[torch.arange(batch, device=outputs.device), last, :hidden]
            if not self.bidirectional:
                return forward  # (B, H)
            return torch.cat([forward, outputs[:, 0, hidden:]], dim=-1)  # (B, 2H)
        if lengths is None:
            return outputs.mean(dim=1) if self.pooling == "mean" else outputs.amax(dim=1)
        real = self._step_mask(lengths, steps, outputs.device)[:, :, None]  # (B, T, 1)
        if self.pooling == "mean":
            return outputs.masked_fill(~real, 0.0).sum(dim=1) / real.sum(dim=1)  # (B, D·H)
        return outputs.masked_fill(~real, float("-inf")).amax(dim=1)  # (B, D·H)

    def forward_features(
        self, x: torch.Tensor, lengths: Lengths = None, state: RecurrentState = None
    ) -> torch.Tensor:
        outputs, _ = self.recurrent_outputs(x, lengths, state)
        return self.pool(outputs, lengths)

    def forward_head(self, features: torch.Tensor, lengths: Lengths = None) -> torch.Tensor:
        logits = self.head(features)  # (B, C) or (B, T, C)
        if self.pooling == "all" and lengths is not None:
            real = self._step_mask(torch.as_tensor(lengths), logits.shape[1], logits.device)
            logits = logits.masked_fill(~real[:, :, None], 0.0)  # zero at padded steps
        return logits

    def forward(  # type: ignore[override]
        self,
        x: torch.Tensor,
        lengths: Lengths = None,
        state: RecurrentState = None,
        return_state: bool = False,
    ) -> torch.Tensor | tuple[torch.Tensor, RecurrentState]:
        outputs, final = self.recurrent_outputs(x, lengths, state)  # (B, T, D·H)
        logits = self.forward_head(self.pool(outputs, lengths), lengths)
        return (logits, final) if return_state else logits

    def reset_classifier(self, num_classes: int) -> None:
        """Replace the head with a freshly initialized one for ``num_classes`` outputs."""
        self.head = self.like_model(nn.Linear(self.num_features, num_classes))


# ---------------------------------------------------------------------------------------------
# Builders
# ---------------------------------------------------------------------------------------------


def _check_arguments(name: str, arguments: dict[str, Any]) -> None:
    """Refuse a bad builder argument with one message naming it and what is allowed."""

    def refuse(key: str, allowed: str) -> None:
        raise ZooError(f"model {name!r}: {key} must be {allowed}, got {arguments[key]!r}.")

    if arguments["input_size"] is None and arguments["vocab_size"] is not None:
        arguments = {**arguments, "input_size": 1}  # token ids: the embedding sets the size
    for key in ("input_size", "num_classes", "hidden_size", "num_layers"):
        if not (is_int(arguments[key]) and arguments[key] >= 1):
            refuse(key, "an integer >= 1" + (" (or null with vocab_size)" * (key == "input_size")))
    for key in ("vocab_size", "embedding_dim"):
        value = arguments[key]
        if value is not None and not (is_int(value) and value >= 1):
            refuse(key, "null or an integer >= 1")
    if arguments["embedding_dim"] is not None and arguments["vocab_size"] is None:
        refuse("embedding_dim", "null without vocab_size (token inputs)")
    choices = {"head": HEADS, "impl": IMPLS, "nonlinearity": NONLINEARITIES}
    for key, allowed in choices.items():
        if key in arguments and arguments[key] not in allowed:
            refuse(key, "one of " + ", ".join(allowed))
    if arguments["norm"] == "batch":
        raise ZooError(
            f"model {name!r}: norm=batch does not apply to recurrent cells: its statistics "
            "would have to be kept per time step (Cooijmans et al. 2017); use norm=layer "
            "(Ba et al. 2016's layer norm, made for recurrent networks) or none."
        )
    if arguments["norm"] not in (*RECURRENT_NORMS, None):  # None: none, as every family
        refuse("norm", "one of " + ", ".join(RECURRENT_NORMS))
    if not isinstance(arguments["bidirectional"], bool):
        refuse("bidirectional", "true or false")
    try:
        check_dropout(arguments["dropout"])
    except (ZooError, TypeError):
        refuse("dropout", "a number in [0, 1)")
    if arguments["dropout"] > 0 and arguments["num_layers"] == 1:
        raise ZooError(
            f"model {name!r}: dropout={arguments['dropout']} does nothing with num_layers=1: "
            "it applies between stacked recurrent layers (as torch.nn's); set "
            "model.num_layers=2 or more, or leave dropout at 0."
        )


def _build(cell: str, arguments: dict[str, Any]) -> RecurrentNetwork:
    _check_arguments(cell, arguments)
    return RecurrentNetwork(cell, **arguments)


GATED = (
    "a gated cell's sigmoid gates and tanh candidate are its design: the gates must lie in "
    "(0, 1) to scale what they pass."
)
REGISTRATION = {
    "family": "recurrent",
    "tasks": ("classification", "regression", "language_model"),
    "input_kinds": ("sequence", "tokens"),
    "default_input_size": (DEFAULT_STEPS, DEFAULT_INPUT_SIZE),
    "example_input": sequence_example_input,
}


@register_model(
    **REGISTRATION,
    paper="Elman 1990, Finding structure in time",
    inapplicable={
        "activation": "the Elman RNN's activation is model.nonlinearity (tanh or relu, the "
        "choices of torch.nn's fused kernel)."
    },
)
def rnn(
    *,
    input_size: int | None = DEFAULT_INPUT_SIZE,
    num_classes: int = 10,
    hidden_size: int = 128,
    num_layers: int = 1,
    nonlinearity: str = "tanh",
    dropout: float = 0.0,
    bidirectional: bool = False,
    head: str = "last",
    impl: str = "fast",
    vocab_size: int | None = None,
    embedding_dim: int | None = None,
    norm: str = "none",
) -> RecurrentNetwork:
    """An Elman RNN (tanh or relu) with a linear head; ``impl="reference"`` is the loop."""
    return _build("rnn", locals())


@register_model(
    **REGISTRATION,
    paper="Hochreiter & Schmidhuber 1997, Long short-term memory; forget gate: Gers, "
    "Schmidhuber & Cummins 2000, Learning to forget",
    inapplicable={"activation": GATED},
)
def lstm(
    *,
    input_size: int | None = DEFAULT_INPUT_SIZE,
    num_classes: int = 10,
    hidden_size: int = 128,
    num_layers: int = 1,
    dropout: float = 0.0,
    bidirectional: bool = False,
    head: str = "last",
    impl: str = "fast",
    vocab_size: int | None = None,
    embedding_dim: int | None = None,
    norm: str = "none",
) -> RecurrentNetwork:
    """An LSTM with a linear head; ``impl="reference"`` is the primer's equations in a loop."""
    return _build("lstm", locals())


@register_model(
    **REGISTRATION,
    paper="Cho et al. 2014, Learning phrase representations using RNN encoder-decoder for "
    "statistical machine translation",
    inapplicable={"activation": GATED},
)
def gru(
    *,
    input_size: int | None = DEFAULT_INPUT_SIZE,
    num_classes: int = 10,
    hidden_size: int = 128,
    num_layers: int = 1,
    dropout: float = 0.0,
    bidirectional: bool = False,
    head: str = "last",
    impl: str = "fast",
    vocab_size: int | None = None,
    embedding_dim: int | None = None,
    norm: str = "none",
) -> RecurrentNetwork:
    """A GRU with a linear head; ``impl="reference"`` is torch's GRU equations in a loop."""
    return _build("gru", locals())

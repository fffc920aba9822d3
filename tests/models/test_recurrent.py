"""RNN, LSTM and GRU: the reference loop (the primer's equations) against torch.nn, padding,
carried state, token inputs and argument checks."""

from __future__ import annotations

import pytest
import torch
from conftest import named
from torch import nn

from zoo import ZooError, create_model, get_model_info, load_pretrained, save_pretrained
from zoo.models.recurrent import LSTMCell

CELLS = {
    "rnn_tanh": ("rnn", {"nonlinearity": "tanh"}),
    "rnn_relu": ("rnn", {"nonlinearity": "relu"}),
    "lstm": ("lstm", {}),
    "gru": ("gru", {}),
}
TORCH_MODULES = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}
HEADS = ("last", "mean", "max", "all")
SMALL = {"input_size": 3, "hidden_size": 5, "num_classes": 4}
LENGTHS = [6, 2, 4]  # a padded batch of 3 sequences, the longest 6 steps
BATCH, STEPS = len(LENGTHS), max(LENGTHS)


def build(key: str, impl: str = "fast", **kwargs) -> nn.Module:
    cell, options = CELLS[key]
    torch.manual_seed(0)
    return create_model(cell, impl=impl, **{**SMALL, **options, **kwargs})


def pair(key: str, dtype: torch.dtype = torch.float32, **kwargs) -> tuple[nn.Module, nn.Module]:
    """A fast model and a reference model holding the fast one's weights."""
    fast = build(key, **kwargs).to(dtype)
    reference = build(key, impl="reference", **kwargs).to(dtype)
    torch.manual_seed(1)  # other weights than the fast model's: the copy must do it all
    for parameter in reference.parameters():
        nn.init.normal_(parameter)
    reference.load_state_dict(fast.state_dict())
    return fast, reference


def as_tuple(state) -> tuple[torch.Tensor, ...]:
    return tuple(state) if isinstance(state, tuple | list) else (state,)


def random_state(model, dtype: torch.dtype, generator: torch.Generator):
    shape = (model.num_layers * model.num_directions, BATCH, model.hidden_size)
    parts = tuple(torch.randn(shape, generator=generator, dtype=dtype) for _ in range(2))
    return parts if model.cell == "lstm" else parts[0]


def outputs_states_and_gradients(model, x, lengths, state):
    """Logits, final state and the gradients of a fixed random loss with respect to the input,
    the initial state and every parameter."""
    x = x.clone().requires_grad_()
    if state is not None:
        state = tuple(s.clone().requires_grad_() for s in as_tuple(state))
        state = state if model.cell == "lstm" else state[0]
    logits, final = model(x, lengths, state, return_state=True)
    generator = torch.Generator().manual_seed(2)
    targets = [logits, *as_tuple(final)]
    loss = sum(
        (t * torch.randn(t.shape, generator=generator, dtype=t.dtype)).sum() for t in targets
    )
    inputs = [x, *(as_tuple(state) if state is not None else ()), *model.parameters()]
    return logits, as_tuple(final), torch.autograd.grad(loss, inputs)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("bidirectional", [False, True], ids=["uni", "bi"])
@pytest.mark.parametrize("num_layers", [1, 2])
@pytest.mark.parametrize("key", CELLS)
def test_reference_equals_fast_outputs_states_and_gradients(key, num_layers, bidirectional, dtype):
    """The primer's equations in a loop give torch.nn's outputs, final states and gradients,
    for every head, with and without a padded batch of variable lengths and an initial state."""
    tolerance = {"atol": 1e-5, "rtol": 1e-5} if dtype == torch.float32 else {}
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(BATCH, STEPS, SMALL["input_size"], generator=generator, dtype=dtype)
    for head in HEADS:
        fast, reference = pair(
            key, dtype, head=head, num_layers=num_layers, bidirectional=bidirectional
        )
        state = random_state(fast, dtype, generator)
        for lengths, initial in [(None, None), (torch.tensor(LENGTHS), state)]:
            expected = outputs_states_and_gradients(fast, x, lengths, initial)
            got = outputs_states_and_gradients(reference, x, lengths, initial)
            torch.testing.assert_close(got[0], expected[0], **tolerance)
            for got_part, expected_part in zip(got[1:], expected[1:], strict=True):
                assert len(got_part) == len(expected_part)
                for g, e in zip(got_part, expected_part, strict=True):
                    torch.testing.assert_close(g, e, **tolerance)


@pytest.mark.parametrize("key", CELLS)
def test_parameters_have_torch_names_layouts_and_initialization(key):
    """model.rnn's state dict is a bare torch.nn module's, for both implementations, and the
    same seed draws the same weights."""
    cell, options = CELLS[key]
    kwargs = {"num_layers": 2, "bidirectional": True}
    torch.manual_seed(0)
    bare = TORCH_MODULES[cell](3, 5, batch_first=True, **kwargs, **options)
    for impl in ("fast", "reference"):
        model = build(key, impl, **kwargs)
        got, expected = model.rnn.state_dict(), bare.state_dict()
        assert list(got) == list(expected)
        for name in expected:
            assert torch.equal(got[name], expected[name]), name
        assert list(model.state_dict()) == [f"rnn.{n}" for n in expected] + [
            "head.weight",
            "head.bias",
        ]


@pytest.mark.parametrize("bidirectional", [False, True], ids=["uni", "bi"])
@pytest.mark.parametrize("key", CELLS)
def test_both_impls_equal_a_bare_torch_module_run_on_each_sequence_alone(key, bidirectional):
    """An independent reference: torch.nn's module with the same weights, run on each sequence
    of the padded batch alone (no padding, no packing), gives the outputs at the real steps
    and the final states."""
    cell, options = CELLS[key]
    sequences = [torch.randn(length, 3) for length in LENGTHS]
    padded = torch.zeros(BATCH, STEPS, 3)
    for row, sequence in enumerate(sequences):
        padded[row, : len(sequence)] = sequence
    for impl in ("fast", "reference"):
        model = build(key, impl, num_layers=2, bidirectional=bidirectional)
        bare = TORCH_MODULES[cell](
            3, 5, 2, batch_first=True, bidirectional=bidirectional, **options
        )
        bare.load_state_dict(model.rnn.state_dict())
        with torch.no_grad():
            outputs, final = model.recurrent_outputs(padded, torch.tensor(LENGTHS))
            whole, whole_final = model.recurrent_outputs(padded)
            bare_whole, bare_whole_final = bare(padded)
            torch.testing.assert_close(whole, bare_whole, atol=1e-6, rtol=1e-5)
            for g, e in zip(as_tuple(whole_final), as_tuple(bare_whole_final), strict=True):
                torch.testing.assert_close(g, e, atol=1e-6, rtol=1e-5)
            for row, sequence in enumerate(sequences):
                alone, alone_final = bare(sequence[None])
                length = len(sequence)
                torch.testing.assert_close(outputs[row, :length], alone[0], atol=1e-6, rtol=1e-5)
                assert not outputs[row, length:].any()  # zero at padded steps
                for g, e in zip(as_tuple(final), as_tuple(alone_final), strict=True):
                    torch.testing.assert_close(g[:, row], e[:, 0], atol=1e-6, rtol=1e-5)


def test_one_lstm_step_by_hand_from_the_primers_equations():
    """One LSTM step written out from the primer's equations, with torch's weight chunks
    (gates stacked i, f, g, o), equals the reference cell and torch.nn.LSTM."""
    torch.manual_seed(0)
    bare = nn.LSTM(3, 4)
    x, h_prev, c_prev = torch.randn(3), torch.randn(4), torch.randn(4)
    W_i, W_f, W_c, W_o = bare.weight_ih_l0.detach().chunk(4)  # input → gates
    U_i, U_f, U_c, U_o = bare.weight_hh_l0.detach().chunk(4)  # hidden → gates
    b_i, b_f, b_c, b_o = (bare.bias_ih_l0 + bare.bias_hh_l0).detach().chunk(4)
    # The primer writes W_f × [h_{t-1}, x_t]: one matrix on the concatenation.
    hx = torch.cat([h_prev, x])
    f_t = torch.sigmoid(torch.cat([U_f, W_f], dim=1) @ hx + b_f)
    i_t = torch.sigmoid(torch.cat([U_i, W_i], dim=1) @ hx + b_i)
    C_tilde = torch.tanh(torch.cat([U_c, W_c], dim=1) @ hx + b_c)
    C_t = f_t * c_prev + i_t * C_tilde
    o_t = torch.sigmoid(torch.cat([U_o, W_o], dim=1) @ hx + b_o)
    h_t = o_t * torch.tanh(C_t)

    weights = (bare.weight_ih_l0, bare.weight_hh_l0, bare.bias_ih_l0, bare.bias_hh_l0)
    with torch.no_grad():
        cell_h, cell_c = LSTMCell()(x[None], (h_prev[None], c_prev[None]), *weights)
        out, (torch_h, torch_c) = bare(x[None, None], (h_prev[None, None], c_prev[None, None]))
    for h, c in [(cell_h[0], cell_c[0]), (torch_h[0, 0], torch_c[0, 0])]:
        torch.testing.assert_close(h, h_t)
        torch.testing.assert_close(c, C_t)
    torch.testing.assert_close(out[0, 0], h_t)


@pytest.mark.parametrize("bidirectional", [False, True], ids=["uni", "bi"])
@pytest.mark.parametrize("impl", ["fast", "reference"])
@pytest.mark.parametrize("key", CELLS)
def test_padding_never_changes_a_real_steps_output(key, impl, bidirectional):
    """The same sequences padded to other lengths with other values give the same outputs at
    the real steps; the last/mean/max heads equal those of each sequence run alone."""
    sequences = [torch.randn(length, 3) for length in LENGTHS]

    def padded(steps: int, value: float) -> torch.Tensor:
        batch = torch.full((BATCH, steps, 3), value)
        for row, sequence in enumerate(sequences):
            batch[row, : len(sequence)] = sequence
        return batch

    lengths = torch.tensor(LENGTHS)
    for head in HEADS:
        model = build(key, impl, num_layers=2, bidirectional=bidirectional, head=head).eval()
        with torch.no_grad():
            short = model(padded(STEPS, 0.0), lengths)
            long = model(padded(STEPS + 3, 7.5), lengths)
            alone = [model(sequence[None]) for sequence in sequences]
        if head == "all":
            assert short.shape == (BATCH, STEPS, 4) and long.shape == (BATCH, STEPS + 3, 4)
            torch.testing.assert_close(long[:, :STEPS], short)
            for row, length in enumerate(LENGTHS):
                torch.testing.assert_close(short[row, :length], alone[row][0], atol=1e-6, rtol=1e-5)
                assert not long[row, length:].any()  # zero at padded steps
        else:
            torch.testing.assert_close(long, short)
            torch.testing.assert_close(short, torch.cat(alone), atol=1e-6, rtol=1e-5)


def test_last_head_is_both_directions_final_state():
    """ "last" of a bidirectional model: the forward direction at each sequence's last real
    step and the backward direction at step 0, i.e. the last layer's final states."""
    for impl in ("fast", "reference"):
        model = build("lstm", impl, num_layers=2, bidirectional=True)
        x, lengths = torch.randn(BATCH, STEPS, 3), torch.tensor(LENGTHS)
        with torch.no_grad():
            outputs, (h, _) = model.recurrent_outputs(x, lengths)
            features = model.forward_features(x, lengths)
        forward = outputs[torch.arange(BATCH), lengths - 1, :5]
        torch.testing.assert_close(features, torch.cat([forward, outputs[:, 0, 5:]], dim=1))
        torch.testing.assert_close(features, torch.cat([h[-2], h[-1]], dim=1))


@pytest.mark.parametrize("impl", ["fast", "reference"])
@pytest.mark.parametrize("key", CELLS)
def test_state_carried_across_two_halves_equals_one_run(key, impl):
    """Truncated backpropagation through time: running the two halves of a sequence, the
    first's final state starting the second, gives the outputs and state of one run."""
    model = build(key, impl, num_layers=2, head="all")
    assert model.stateful and model.causal
    x = torch.randn(2, 8, 3)
    with torch.no_grad():
        whole, whole_state = model(x, return_state=True)
        first, state = model(x[:, :4], return_state=True)
        second, final = model(x[:, 4:], state=state, return_state=True)
    torch.testing.assert_close(torch.cat([first, second], dim=1), whole)
    for g, e in zip(as_tuple(final), as_tuple(whole_state), strict=True):
        torch.testing.assert_close(g, e)


@pytest.mark.parametrize("head", HEADS)
def test_features_then_head_and_the_classifier_interface(head):
    model = build("gru", "reference", bidirectional=True, head=head)
    assert model.bidirectional and not model.causal and model.num_features == 10
    x, lengths = torch.randn(BATCH, STEPS, 3), torch.tensor(LENGTHS)
    with torch.no_grad():
        logits = model(x, lengths)
        features = model.forward_features(x, lengths)
        torch.testing.assert_close(model.forward_head(features, lengths), logits)
    assert logits.shape == ((BATCH, STEPS, 4) if head == "all" else (BATCH, 4))
    model.reset_classifier(7)
    assert model(x).shape[-1] == 7


@pytest.mark.parametrize("embedding_dim", [None, 4])
@pytest.mark.parametrize("key", CELLS)
def test_token_inputs_go_through_an_embedding(key, embedding_dim):
    fast, reference = pair(key, vocab_size=11, embedding_dim=embedding_dim, head="all")
    assert fast.embedding.weight.shape == (11, embedding_dim or SMALL["hidden_size"])
    assert fast.rnn.input_size == (embedding_dim or SMALL["hidden_size"])
    tokens = get_model_info(CELLS[key][0]).example_input(BATCH, size=STEPS, vocab_size=11)
    assert tokens.shape == (BATCH, STEPS) and tokens.dtype == torch.int64
    assert int(tokens.min()) >= 0 and int(tokens.max()) < 11
    lengths = torch.tensor(LENGTHS)
    with torch.no_grad():
        torch.testing.assert_close(reference(tokens, lengths), fast(tokens, lengths))
    assert fast(tokens).shape == (BATCH, STEPS, 4)
    fragments = ("vocab_size=11", "(batch, steps)", f"({BATCH}, {STEPS}, 3)")
    with pytest.raises(ZooError, match=named(*fragments)):
        fast(torch.randn(BATCH, STEPS, 3))
    # Token data has no features per step: the configs give input_size=null.
    model = create_model(CELLS[key][0], input_size=None, vocab_size=11, embedding_dim=embedding_dim)
    assert model.rnn.input_size == (embedding_dim or 128)


@pytest.mark.parametrize("impl", ["fast", "reference"])
def test_padding_values_never_reach_a_gradient(impl):
    """NaN padding: the real steps' outputs and every gradient stay those of zero padding."""
    x = torch.randn(BATCH, STEPS, 3)
    for row, length in enumerate(LENGTHS):
        x[row, length:] = 0.0
    gradients = []
    for value in (0.0, float("nan")):
        model = build("lstm", impl, num_layers=2, bidirectional=True, head="mean")
        padded = x.clone()
        for row, length in enumerate(LENGTHS):
            padded[row, length:] = value
        model(padded, torch.tensor(LENGTHS)).square().sum().backward()
        gradients.append([p.grad for p in model.parameters()])
    for with_nan, with_zero in zip(gradients[1], gradients[0], strict=True):
        torch.testing.assert_close(with_nan, with_zero)


def test_dropout_between_layers_only_in_training():
    """Dropout between stacked layers as torch.nn does: none after the last layer, so none
    at all with one layer (refused there, where torch.nn only warns)."""
    model = build("lstm", "reference", num_layers=2, dropout=0.5, head="all")
    x = torch.randn(2, 5, 3)
    torch.manual_seed(0)
    assert not torch.equal(model.train()(x), model(x))
    with pytest.raises(ZooError, match=named("dropout=0.5", "num_layers=1")):
        build("lstm", "reference", num_layers=1, dropout=0.5, head="all")
    with torch.no_grad():
        fast = build("lstm", num_layers=2, dropout=0.5, head="all").eval()
        torch.testing.assert_close(model.eval()(x), fast(x))


def test_weights_move_between_impls_through_save_pretrained(tmp_path):
    model = build("lstm", num_layers=2, bidirectional=True).eval()
    save_pretrained(model, tmp_path / "lstm")
    loaded = load_pretrained(tmp_path / "lstm").eval()
    reference = create_model("lstm", weights=tmp_path / "lstm", impl="reference").eval()
    assert reference.impl == "reference"
    x = torch.randn(2, 5, 3)
    with torch.no_grad():
        torch.testing.assert_close(loaded(x), model(x), rtol=0, atol=0)
        torch.testing.assert_close(reference(x), model(x))


@pytest.mark.parametrize(
    ("name", "kwargs", "fragments"),
    [
        ("lstm", {"head": "first"}, ("head", "'first'", "last", "mean", "max", "all")),
        ("gru", {"impl": "cudnn"}, ("impl", "'cudnn'", "fast", "reference")),
        ("rnn", {"nonlinearity": "sigmoid"}, ("nonlinearity", "'sigmoid'", "tanh", "relu")),
        ("lstm", {"hidden_size": 0}, ("hidden_size", ">= 1", "0")),
        ("gru", {"num_layers": 0}, ("num_layers", ">= 1", "0")),
        ("rnn", {"input_size": 2.5}, ("input_size", ">= 1", "2.5")),
        ("gru", {"input_size": None}, ("input_size", ">= 1", "vocab_size", "None")),
        ("lstm", {"vocab_size": 0}, ("vocab_size", "null", ">= 1", "0")),
        ("gru", {"embedding_dim": 4}, ("embedding_dim", "null", "vocab_size", "4")),
        ("lstm", {"bidirectional": "yes"}, ("bidirectional", "true", "false", "'yes'")),
        ("gru", {"dropout": -0.1}, ("dropout", "[0, 1)", "-0.1")),
        ("lstm", {"nonlinearity": "relu"}, ("'nonlinearity'", "hidden_size")),
    ],
)
def test_bad_arguments_name_the_value(name, kwargs, fragments):
    with pytest.raises(ZooError, match=named(f"'{name}'", *fragments)):
        create_model(name, **kwargs)


def test_bad_inputs_lengths_and_states_are_refused():
    model = build("lstm", num_layers=2)
    x = torch.randn(BATCH, STEPS, 3)
    with pytest.raises(ZooError, match=named("(batch, steps, 3)", f"({BATCH}, {STEPS}, 4)")):
        model(torch.randn(BATCH, STEPS, 4))
    with pytest.raises(ZooError, match=named("lengths", "[6, 0, 4]")):
        model(x, [6, 0, 4])
    with pytest.raises(ZooError, match=named("lengths", "[7, 2, 4]")):
        model(x, [7, 2, 4])
    with pytest.raises(ZooError, match=named("state", "(h, c)", "(2, 3, 5)", "[(2, 3, 5)]")):
        model(x, state=torch.zeros(2, 3, 5))


# ------------------------------------------------------- layer normalization (Ba et al. 2016)


def layer_normalized_pair(key: str, **kwargs) -> tuple[nn.Module, nn.Module]:
    """A fast and a reference layer-normalized model (float64) holding the same random weights
    (gains and biases far from their 1 and 0 starts, so that every one of them matters)."""
    fast = build(key, norm="layer", **kwargs).double()
    reference = build(key, "reference", norm="layer", **kwargs).double()
    assert list(fast.state_dict()) == list(reference.state_dict())
    torch.manual_seed(3)
    for parameter in fast.parameters():
        nn.init.normal_(parameter)
    reference.load_state_dict(fast.state_dict())
    return fast, reference


@pytest.mark.parametrize("key", CELLS)
def test_layer_norm_impls_compute_the_same_function(key):
    """impl=fast (input projections for every step at once, vectorized gates) and
    impl=reference (the cells' equations step by step) give the same outputs, final states
    and gradients with the same weights, padded batch and initial state included."""
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(BATCH, STEPS, SMALL["input_size"], generator=generator, dtype=torch.float64)
    fast, reference = layer_normalized_pair(key, num_layers=2, bidirectional=True, head="all")
    state = random_state(fast, torch.float64, generator)
    for lengths, initial in [(None, None), (torch.tensor(LENGTHS), state)]:
        expected = outputs_states_and_gradients(fast, x, lengths, initial)
        got = outputs_states_and_gradients(reference, x, lengths, initial)
        torch.testing.assert_close(got[0], expected[0])
        for got_part, expected_part in zip(got[1:], expected[1:], strict=True):
            for g, e in zip(got_part, expected_part, strict=True):
                torch.testing.assert_close(g, e)


def _ln(a: torch.Tensor, gain: torch.Tensor, bias: torch.Tensor | float = 0.0) -> torch.Tensor:
    """Ba et al. 2016, eq. 3-4: gain ⊙ (a - μ) / σ + bias, μ and σ over the units of a."""
    mu = a.mean(dim=-1, keepdim=True)
    sigma = ((a - mu) ** 2).mean(dim=-1, keepdim=True).add(1e-5).sqrt()
    return gain * (a - mu) / sigma + bias


def _paper_step(cell: str, p: dict[str, torch.Tensor], x, h, c):
    """One step of Ba et al.'s layer-normalized cells, written from the paper (section 3.1 for
    the RNN, the supplementary's LSTM; the GRU with the LSTM's two normalizations)."""
    b = p["bias_ih_l0"] + p["bias_hh_l0"]
    wx, uh = x @ p["weight_ih_l0"].T, h @ p["weight_hh_l0"].T
    if cell == "rnn":
        return torch.tanh(_ln(wx + uh, p["ln_l0"]) + b), None
    if cell == "lstm":
        gates = _ln(wx, p["ln_ih_l0"]) + _ln(uh, p["ln_hh_l0"]) + b
        i, f, g, o = gates.split(h.shape[-1], dim=-1)
        c_new = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        h_new = torch.sigmoid(o) * torch.tanh(_ln(c_new, p["ln_c_l0"], p["ln_c_bias_l0"]))
        return h_new, c_new
    size = h.shape[-1]
    x_r, x_z, x_n = _ln(wx, p["ln_ih_l0"]).split(size, dim=-1)
    h_r, h_z, h_n = _ln(uh, p["ln_hh_l0"]).split(size, dim=-1)
    b_ir, b_iz, b_in = p["bias_ih_l0"].split(size)
    b_hr, b_hz, b_hn = p["bias_hh_l0"].split(size)
    r = torch.sigmoid(x_r + b_ir + h_r + b_hr)
    z = torch.sigmoid(x_z + b_iz + h_z + b_hz)
    n = torch.tanh(x_n + b_in + r * (h_n + b_hn))
    return (1 - z) * n + z * h, None


@pytest.mark.parametrize("key", ["rnn_tanh", "lstm", "gru"])
def test_layer_norm_cells_are_the_papers_equations(key):
    """Two steps of both impls from a random state equal the paper's equations recomputed
    here from the model's parameters."""
    cell = CELLS[key][0]
    fast, reference = layer_normalized_pair(key)
    p = {name: value.detach() for name, value in fast.rnn.state_dict().items()}
    generator = torch.Generator().manual_seed(1)
    x = torch.randn(BATCH, 2, 3, generator=generator, dtype=torch.float64)
    h = torch.randn(BATCH, 5, generator=generator, dtype=torch.float64)
    c = torch.randn(BATCH, 5, generator=generator, dtype=torch.float64)
    expected_h, expected_c = h, c
    outputs = []
    for t in range(2):
        expected_h, expected_c = _paper_step(cell, p, x[:, t], expected_h, expected_c)
        outputs.append(expected_h)
    state = (h[None], c[None]) if cell == "lstm" else h[None]
    for model in (fast, reference):
        with torch.no_grad():
            got, final = model.recurrent_outputs(x, state=state)
        torch.testing.assert_close(got, torch.stack(outputs, dim=1))
        if cell == "lstm":
            torch.testing.assert_close(final[1][0], expected_c)


@pytest.mark.parametrize("key", CELLS)
def test_layer_norm_adds_gains_beside_torchs_parameters(key):
    """norm=layer keeps torch.nn's parameters (names, shapes) and adds the paper's gains (at
    one) and the LSTM's LN(c_t) bias (at zero); the default build has none of them."""
    plain, normed = build(key, num_layers=2), build(key, norm="layer", num_layers=2)
    torch_names = list(plain.rnn.state_dict())
    added = [name for name in normed.rnn.state_dict() if name not in torch_names]
    assert [n for n in normed.rnn.state_dict() if n in torch_names] == torch_names
    assert added and all(name.startswith("ln_") for name in added)
    for name in added:
        value = normed.rnn.state_dict()[name]
        assert torch.equal(value, torch.full_like(value, 0.0 if "bias" in name else 1.0))


def test_batch_norm_in_recurrent_cells_is_refused_saying_why():
    with pytest.raises(ZooError, match=named("norm=batch", "norm=layer")):
        create_model("lstm", norm="batch")
    with pytest.raises(ZooError, match=named("norm", "none", "layer", "'group'")):
        create_model("gru", norm="group")

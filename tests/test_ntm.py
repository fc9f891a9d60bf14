"""NTM shapes, dtypes, batch independence, internals, state handling and config errors."""

import math

import pytest
import torch
from memnets_tasks.algorithmic import CopyTask

from memnets import NTM, ntm_copy, ntm_priority_sort
from memnets.attention import content_weights, interpolate, read, sharpen, shift, write
from memnets.training.metrics import masked_bce


def small_ntm(**overrides) -> NTM:
    config = dict(input_size=5, output_size=4, controller_size=16, memory_slots=10, memory_width=6)
    return NTM(**{**config, **overrides})


@pytest.mark.parametrize("controller", ["lstm", "feedforward"])
@pytest.mark.parametrize("num_read_heads,num_write_heads", [(1, 1), (2, 1), (3, 2)])
def test_shapes_for_head_counts_and_controllers(controller, num_read_heads, num_write_heads):
    model = small_ntm(
        controller=controller, num_read_heads=num_read_heads, num_write_heads=num_write_heads
    )
    output, state, internals = model(torch.rand(3, 7, 5), return_internals=True, return_memory=True)
    assert output.shape == (3, 7, 4)
    assert state.memory.shape == (3, 10, 6)
    assert state.reads.shape == (3, num_read_heads, 6)
    assert internals.read_weights.shape == (3, 7, num_read_heads, 10)
    assert internals.write_weights.shape == (3, 7, num_write_heads, 10)
    assert internals.memory.shape == (3, 7, 10, 6)
    torch.testing.assert_close(internals.read_weights.sum(-1), torch.ones(3, 7, num_read_heads))
    torch.testing.assert_close(internals.write_weights.sum(-1), torch.ones(3, 7, num_write_heads))
    assert (state.controller is None) == (controller == "feedforward")


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_dtypes_follow_the_model(dtype):
    model = small_ntm().to(dtype)
    output, state = model(torch.rand(2, 4, 5, dtype=dtype))
    assert output.dtype == dtype and state.memory.dtype == dtype
    output.sum().backward()
    assert all(p.grad is None or torch.isfinite(p.grad).all() for p in model.parameters())


def test_batch_items_are_independent():
    torch.manual_seed(0)
    model = small_ntm(num_read_heads=2).double()
    x = torch.rand(2, 6, 5, dtype=torch.float64)
    together, _ = model(x)
    first, _ = model(x[:1])
    second, _ = model(x[1:])
    torch.testing.assert_close(together, torch.cat([first, second]))


def test_time_major_equals_batch_first():
    torch.manual_seed(0)
    model = small_ntm()
    time_major = small_ntm(batch_first=False)
    time_major.load_state_dict(model.state_dict())
    x = torch.rand(3, 5, 5)
    expected, _ = model(x)
    output, _ = time_major(x.transpose(0, 1))
    torch.testing.assert_close(output.transpose(0, 1), expected)


def test_state_is_passed_not_stored_and_splitting_a_sequence_continues_it():
    torch.manual_seed(0)
    model = small_ntm()
    x = torch.rand(2, 8, 5)
    whole, whole_state = model(x)
    first, state = model(x[:, :3])
    rest, state = model(x[:, 3:], state)
    torch.testing.assert_close(torch.cat([first, rest], 1), whole)
    torch.testing.assert_close(state.memory, whole_state.memory)
    # the module holds no per-sequence tensors: running again gives the same result
    again, _ = model(x)
    torch.testing.assert_close(again, whole)


def test_cell_step_matches_the_equations_by_hand():
    """One step of the cell equals the composition of the pure addressing functions."""
    torch.manual_seed(0)
    cell = NTM(input_size=3, output_size=2, controller_size=8, memory_slots=5, memory_width=4).cell
    state = cell.initial_state(2)
    x = torch.rand(2, 3)
    output, new_state = cell(x, state)
    hidden, _ = cell.controller(torch.cat([x, state.reads.flatten(1)], -1), state.controller)
    addressing, erase, add = cell.write_head(hidden)
    w = content_weights(state.memory, addressing.key, addressing.strength)
    w = sharpen(
        shift(interpolate(w, state.write_weights, addressing.gate), addressing.shift),
        addressing.gamma,
    )
    memory = write(state.memory, w, erase, add)
    r_addressing = cell.read_head(hidden)
    r = content_weights(memory, r_addressing.key, r_addressing.strength)
    r = sharpen(
        shift(interpolate(r, state.read_weights, r_addressing.gate), r_addressing.shift),
        r_addressing.gamma,
    )
    torch.testing.assert_close(new_state.memory, memory)
    torch.testing.assert_close(new_state.read_weights, r)
    expected = cell.output(torch.cat([hidden, read(memory, r).flatten(1)], -1))
    torch.testing.assert_close(output, expected)


def test_initial_state_options():
    constant = small_ntm(memory_init="constant")
    state = constant.initial_state(4)
    torch.testing.assert_close(state.memory, torch.full((4, 10, 6), 1e-6))
    torch.testing.assert_close(state.read_weights.sum(-1), torch.ones(4, 1))
    learned = small_ntm(memory_init="learned")
    assert any(name.endswith("initial_memory") for name, _ in learned.named_parameters())
    fixed = small_ntm(learned_initial_state=False, memory_init="constant")
    trainable = {name for name, p in fixed.named_parameters() if p.requires_grad}
    assert not any("initial" in name for name in trainable)
    default = small_ntm()  # learned_random: uniform in +-sqrt(6 / (N + M)), trainable
    memory = dict(default.named_parameters())["cell.initial_memory"]
    assert memory.requires_grad and memory.shape == (10, 6)
    bound = (6 / (10 + 6)) ** 0.5
    assert memory.abs().max() <= bound and memory.std() > bound / 4  # not the 1e-6 constant
    state64 = constant.initial_state(2, dtype=torch.float64, device="cpu")
    assert state64.memory.dtype == torch.float64


def test_constant_memory_heads_break_symmetry_and_write_rows_apart():
    """Regression: uniform initial weights over a constant memory kept every row alike forever."""
    torch.manual_seed(0)
    model = small_ntm(memory_init="constant")
    state = model.initial_state(1)
    assert state.write_weights[0, 0, 0] > 0.9  # focused on slot 0, not uniform
    _, state = model(torch.rand(1, 6, 5))
    rows = state.memory[0]  # (N, M)
    assert (rows - rows.mean(0)).abs().max() > 1e-3  # rows differ: the heads address slots


def test_gradients_reach_the_learned_initial_state():
    torch.manual_seed(0)
    model = small_ntm(memory_init="learned")
    output, _ = model(torch.rand(2, 3, 5))
    output.pow(2).sum().backward()
    for parameter in (model.cell.initial_memory, model.cell.initial_reads):
        assert parameter.grad is not None and parameter.grad.abs().sum() > 0
    # with a constant memory every slot looks alike and the weight gradient is uniform,
    # which the softmax projects out; a random memory breaks the symmetry
    model = small_ntm(memory_init="random")
    output, _ = model(torch.rand(2, 3, 5))
    output.pow(2).sum().backward()
    assert model.cell.initial_read_logits.grad.abs().sum() > 0


def test_paper_builders():
    copy = ntm_copy()
    assert (copy.cell.memory_slots, copy.cell.memory_width, copy.cell.controller_size) == (
        128,
        20,
        100,
    )
    sort = ntm_priority_sort()
    assert sort.cell.num_read_heads == 5 and sort.cell.num_write_heads == 5
    output, _ = sort(torch.rand(1, 3, 10))
    assert output.shape == (1, 3, 8)


@pytest.mark.parametrize(
    "overrides,message",
    [
        ({"shift_range": 2}, "shift_range must be a positive odd integer"),
        ({"num_read_heads": 0}, "num_read_heads must be a positive integer"),
        ({"num_write_heads": 0}, "num_write_heads"),
        ({"memory_width": 0}, "memory_width"),
        ({"controller": "gru"}, "controller must be"),
        ({"memory_init": "zeros"}, "memory_init must be"),
    ],
)
def test_impossible_configs_are_rejected(overrides, message):
    with pytest.raises(ValueError, match=message):
        small_ntm(**overrides)


def test_wrong_input_shapes_name_argument_and_shapes():
    model = small_ntm()
    with pytest.raises(ValueError, match=r"x has shape \(2, 3, 7\)"):
        model(torch.rand(2, 3, 7))
    with pytest.raises(ValueError, match="x must have 3 dimensions"):
        model(torch.rand(3, 5))
    state = model.initial_state(4)
    with pytest.raises(ValueError, match="state.memory"):
        model(torch.rand(2, 3, 5), state)


def test_a_tiny_ntm_learns_to_copy_one_step_back():
    """Sanity: gradients flow through memory; loss drops on a trivial delayed-copy task."""
    torch.manual_seed(0)
    model = small_ntm(input_size=4, output_size=4)
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-2)
    losses = []
    for _ in range(60):
        x = torch.randint(0, 2, (16, 6, 4)).float()
        target = torch.cat([torch.zeros(16, 1, 4), x[:, :-1]], 1)
        output, _ = model(x)
        loss = torch.nn.functional.binary_cross_entropy_with_logits(output, target)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        losses.append(loss.item())
    assert sum(losses[-10:]) / 10 < 0.8 * sum(losses[:10]) / 10


# options from the public implementations (issue 12), each off by default


def _small(**options) -> NTM:
    torch.manual_seed(0)
    return NTM(input_size=3, output_size=2, controller_size=6, memory_slots=8, memory_width=4,
               **options)  # fmt: skip


def test_spread_focus_puts_head_h_of_h_on_slot_h_n_over_h() -> None:
    model = _small(num_read_heads=4, num_write_heads=2, initial_focus="spread")
    state = model.initial_state(1)
    assert state.read_weights[0].argmax(-1).tolist() == [0, 2, 4, 6]
    assert state.write_weights[0].argmax(-1).tolist() == [0, 4]
    first = _small(num_read_heads=4, num_write_heads=2, initial_focus="first").initial_state(1)
    assert first.read_weights[0].argmax(-1).tolist() == [0, 0, 0, 0]
    default = _small(num_read_heads=4, num_write_heads=2).initial_state(1)  # spread
    assert default.read_weights[0].argmax(-1).tolist() == [0, 2, 4, 6]
    single = _small().initial_state(1)  # one read and one write head: slot 0 either way
    assert single.read_weights[0].argmax(-1).tolist() == [0]
    assert single.write_weights[0].argmax(-1).tolist() == [0]


def test_uniform_focus_starts_at_1_over_n_and_addresses_by_content_on_step_one() -> None:
    model = _small(num_read_heads=2, num_write_heads=1, initial_focus="uniform")
    state = model.initial_state(1)
    assert torch.allclose(state.read_weights, torch.full((1, 2, 8), 1 / 8))
    assert torch.allclose(state.write_weights, torch.full((1, 1, 8), 1 / 8))
    _, after = model.cell(torch.randn(1, 3), state)
    # the random memory breaks the symmetry: the first step's weights differ across slots
    assert after.write_weights.std() > 1e-4
    assert torch.allclose(after.write_weights.sum(-1), torch.ones(1, 1))
    for memory_init in ("constant", "learned"):
        with pytest.raises(ValueError, match="initial_focus='uniform' needs a random memory"):
            _small(initial_focus="uniform", memory_init=memory_init)


def test_pytorch_ntm_initialisation_widens_controller_heads_and_output() -> None:
    # input 3 + 1 read x width 4 = 7 controller inputs, 6 units, 8 x 4 memory, shifts 3
    model = _small(parameter_init="pytorch_ntm", forget_bias=1.0)
    cell = model.cell
    lstm_bound = 5 / (7 + 6) ** 0.5  # ~1.39, where PyTorch's default is 1 / sqrt(6) ~ 0.41
    for weight in (cell.controller.weight_ih, cell.controller.weight_hh):
        assert weight.abs().max() <= lstm_bound
        assert weight.abs().max() > 1 / 6**0.5  # wider than PyTorch's default could draw
    forget = slice(6, 12)  # gates (i, f, g, o): the forget bias is applied after the init
    assert torch.equal(cell.controller.bias_ih[forget], torch.ones(6))
    assert cell.controller.bias_ih[:6].abs().max() == 0 and cell.controller.bias_hh.abs().max() == 0
    # Xavier-uniform, gain 1.4, over one head's fan-out: read 4 + 1 + 1 + 3 + 1 = 10 rows,
    # write 10 + 4 + 4 = 18
    for head, rows in ((cell.read_head, 10), (cell.write_head, 18)):
        assert head.projection.weight.abs().max() <= 1.4 * (6 / (6 + rows)) ** 0.5
        assert head.projection.bias.abs().max() < 0.06  # N(0, 0.01^2)
    assert cell.output.weight.abs().max() <= (6 / (6 + 4 + 2)) ** 0.5
    default = _small().cell  # PyTorch's: every LSTM weight within 1 / sqrt(units)
    assert default.controller.weight_ih.abs().max() <= 1 / 6**0.5
    with pytest.raises(ValueError, match="parameter_init must be"):
        _small(parameter_init="xavier")


def test_pytorch_ntm_wide_also_widens_a_feed_forward_controller() -> None:
    # input 3 + 1 read x width 4 = 7 controller inputs, 6 units: +-5 / sqrt(13) ~ 1.39, where
    # PyTorch's Linear draws within 1 / sqrt(7) ~ 0.38
    wide = _small(controller="feedforward", parameter_init="pytorch_ntm_wide").cell.controller[0]
    assert 1 / 7**0.5 < wide.weight.abs().max() <= 5 / 13**0.5
    assert wide.bias.abs().max() == 0
    plain = _small(controller="feedforward", parameter_init="pytorch_ntm").cell.controller[0]
    default = _small(controller="feedforward").cell.controller[0]
    assert torch.equal(plain.weight, default.weight)  # 'pytorch_ntm' keeps PyTorch's here
    assert plain.weight.abs().max() <= 1 / 7**0.5
    # on an LSTM the two are one initialisation
    lstm = [
        _small(parameter_init=name).state_dict() for name in ("pytorch_ntm", "pytorch_ntm_wide")
    ]
    assert all(torch.equal(lstm[0][key], lstm[1][key]) for key in lstm[0])


def test_learned_random_memory_is_a_trainable_random_start() -> None:
    model = _small(memory_init="learned_random")
    memory = model.cell.initial_memory
    assert isinstance(memory, torch.nn.Parameter) and memory.requires_grad
    assert memory.std() > 0.1  # uniform over +-sqrt(6 / (N + M)), not a constant
    output, _ = model(torch.randn(2, 4, 3))
    output.sum().backward()
    assert memory.grad is not None and memory.grad.abs().sum() > 0
    assert not isinstance(_small(memory_init="random").cell.initial_memory, torch.nn.Parameter)


def test_forget_bias_sets_the_forget_gates_summed_bias() -> None:
    cell = _small(forget_bias=1.0).cell
    size = cell.controller_size
    forget = cell.controller.bias_ih[size : 2 * size] + cell.controller.bias_hh[size : 2 * size]
    torch.testing.assert_close(forget, torch.ones(size))
    with pytest.raises(ValueError, match="forget_bias"):
        _small(controller="feedforward", forget_bias=1.0)


def test_read_strength_init_sets_every_read_heads_first_key_strength() -> None:
    """The read heads' strength bias b with 1 + log(1 + e^b) = 10 (b = log(e^9 - 1)); the
    strengths of the first step, computed by hand from the projection, are 10 per read head
    where the controller output is zero, and the other parameters keep their values."""
    plain = _small(num_read_heads=2)
    strong = _small(num_read_heads=2, read_strength_init=10.0)
    bias = strong.cell.read_head.projection.bias.view(2, -1)  # (R, P)
    width = strong.cell.memory_width
    expected = math.log(math.exp(9.0) - 1.0)  # softplus^-1(9)
    torch.testing.assert_close(bias[:, width], torch.full((2,), expected))
    addressing = strong.cell.read_head(torch.zeros(1, strong.cell.controller_size))
    torch.testing.assert_close(addressing.strength, torch.full((1, 2), 10.0))
    unchanged = plain.cell.read_head.projection.bias.view(2, -1)
    keep = torch.ones_like(bias, dtype=torch.bool)
    keep[:, width] = False
    assert torch.equal(bias[keep], unchanged[keep])
    huge = _small(read_strength_init=1000.0).cell  # no overflow on the way to the bias
    torch.testing.assert_close(huge.read_head(torch.zeros(1, 6)).strength, torch.full((1, 1), 1e3))
    for bad in (1.0, 0.5, math.inf):
        with pytest.raises(ValueError, match="read_strength_init must be None or a finite"):
            _small(read_strength_init=bad)


def test_head_clip_acts_as_if_the_raw_head_parameters_were_clipped() -> None:
    """Biases of 100 clipped to 2 compute what biases of 2 compute without clipping."""
    clipped, plain = _small(head_clip=2.0), _small()
    for model, bias in ((clipped, 100.0), (plain, 2.0)):
        with torch.no_grad():
            for head in (model.cell.read_head, model.cell.write_head):
                head.projection.weight.zero_()
                head.projection.bias.fill_(bias)
    x = torch.randn(2, 5, 3)
    torch.testing.assert_close(clipped(x)[0], plain(x)[0])
    with pytest.raises(ValueError, match="head_clip"):
        _small(head_clip=0.0)


def test_a_small_cosine_eps_tells_rows_of_1e_6_apart() -> None:
    from memnets.attention import _cosine

    memory = torch.tensor([[[1e-6, 0.0], [0.0, 1e-6]]])  # (1, 2, 2): two tiny orthogonal rows
    key = torch.tensor([[[1.0, 0.0]]])  # (1, 1, 2)
    assert _cosine(memory, key).abs().max() < 0.02  # eps 1e-8 swamps ||row||^2 = 1e-12
    expected = torch.tensor([[[1.0, 0.0]]])
    torch.testing.assert_close(_cosine(memory, key, 1e-16), expected, rtol=1e-3, atol=1e-3)
    weights = _small(cosine_eps=1e-16)(torch.randn(1, 3, 3))[0]
    assert torch.isfinite(weights).all()


def test_a_stacked_controller_carries_every_layers_state() -> None:
    model = _small(controller_layers=2)
    state = model.initial_state(3)
    assert state.controller[0].shape == (3, 2, 6) and state.controller[1].shape == (3, 2, 6)
    x = torch.randn(3, 6, 3)
    whole, final = model(x)
    first, middle = model(x[:, :2])
    rest, _ = model(x[:, 2:], middle)
    torch.testing.assert_close(torch.cat([first, rest], dim=1), whole)
    assert not torch.equal(final.controller[0][:, 0], final.controller[0][:, 1])
    flat = middle._replace(controller=(middle.controller[0][:, 0], middle.controller[1][:, 0]))
    with pytest.raises(ValueError, match=r"state.controller\[0\].*\(3, 2, 6\)"):
        model(x[:, 2:], flat)
    with pytest.raises(ValueError, match="controller_layers"):
        _small(controller="feedforward", controller_layers=2)


def test_clipping_gradient_values_at_10_cannot_act_at_the_start() -> None:
    # why the NTM configs clip the gradient's norm: with the cost of a sequence averaged over
    # output channels, every gradient value of a fresh copy model is far below 10
    task = CopyTask(width=8, min_length=1, max_length=20)
    for seed in range(3):
        torch.manual_seed(seed)
        model = ntm_copy()
        batch = task.sample_batch(torch.Generator().manual_seed(seed), 32, length=20)
        output, _ = model(batch.inputs)
        masked_bce(output, batch.targets, batch.mask, reduction="sequence").backward()
        largest = max(p.grad.abs().max() for p in model.parameters() if p.grad is not None)
        assert 0 < largest < 1

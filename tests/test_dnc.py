"""DNC: hand-computed memory equations, a loop-over-slots reference of the paper's equations,
shapes, gradients, stability, explicit state and input errors."""

import math

import pytest
import torch

from memnets.dnc import (
    DNC,
    DNCState,
    access,
    allocation,
    directional_weights,
    dnc_babi,
    dnc_copy,
    interface_size,
    parse_interface,
    read_weighting,
    retention,
    update_links,
    update_precedence,
    update_usage,
    write_weighting,
)

D = torch.float64


def rows(*values) -> torch.Tensor:
    """A float64 tensor from nested lists (a batch of one when given one list)."""
    return torch.tensor(values, dtype=D)


def small_dnc(**overrides) -> DNC:
    config = dict(input_size=4, output_size=3, controller_size=8, memory_slots=5, memory_width=3)
    return DNC(**{**config, **overrides})


# allocation


def test_allocation_distinct_usages_by_hand():
    # usage [0.5, 0.1, 0.9]: free list (ascending usage) is slots 1, 0, 2
    expected = [(1 - 0.1), (1 - 0.5) * 0.1, (1 - 0.9) * 0.1 * 0.5]
    expected = [expected[1], expected[0], expected[2]]  # back to slot order 0, 1, 2
    torch.testing.assert_close(allocation(rows([0.5, 0.1, 0.9])), rows(expected))


def test_allocation_ties_put_the_lower_slot_first():
    # slots 0 and 1 tie at 0.2: the stable sort lists slot 0 first, so it gets 1 - 0.2
    expected = [1 - 0.2, (1 - 0.2) * 0.2, (1 - 0.5) * 0.2 * 0.2]
    torch.testing.assert_close(allocation(rows([0.2, 0.2, 0.5])), rows(expected))
    # the same tie with the slots swapped in value order
    expected = [(1 - 0.5) * 0.2 * 0.2, 1 - 0.2, (1 - 0.2) * 0.2]
    torch.testing.assert_close(allocation(rows([0.5, 0.2, 0.2])), rows(expected))


def test_allocation_of_a_full_memory_is_zero_with_finite_gradients():
    usage = torch.ones(2, 4, dtype=D, requires_grad=True)
    weights = allocation(usage)
    assert torch.equal(weights, torch.zeros(2, 4, dtype=D))
    weights.sum().backward()
    assert torch.isfinite(usage.grad).all()


def test_allocation_of_an_empty_memory_is_one_hot_on_slot_zero():
    usage = torch.zeros(2, 4, dtype=D, requires_grad=True)
    weights = allocation(usage)
    assert torch.equal(weights, rows([1.0, 0, 0, 0], [1.0, 0, 0, 0]))
    weights.sum().backward()
    assert torch.isfinite(usage.grad).all()


def test_allocation_with_usages_of_exactly_zero_and_one():
    usage = rows([1.0, 0.0, 0.5, 0.0]).requires_grad_()
    weights = allocation(usage)
    # free list: slot 1 (0), slot 3 (0), slot 2 (0.5), slot 0 (1)
    torch.testing.assert_close(weights, rows([0.0, 1.0, 0.0, 0.0]))
    weights.pow(2).sum().backward()
    assert torch.isfinite(usage.grad).all()


# usage, write weights, precedence, links


def test_retention_and_usage_by_hand():
    free_gates = rows([0.5, 1.0])  # (B=1, R=2)
    read_weights = rows([[0.2, 0.8, 0.0], [0.0, 0.5, 0.5]])  # (1, 2, 3)
    psi = retention(free_gates, read_weights)
    expected_psi = [(1 - 0.5 * 0.2) * 1, (1 - 0.5 * 0.8) * (1 - 0.5), 1 * (1 - 0.5)]
    torch.testing.assert_close(psi, rows(expected_psi))
    usage, written = [0.5, 0.0, 1.0], [0.5, 0.5, 0.0]
    new = update_usage(rows(usage), rows(written), psi)
    expected = [(u + w - u * w) * p for u, w, p in zip(usage, written, expected_psi)]
    torch.testing.assert_close(new, rows(expected))  # [0.675, 0.15, 0.5]


def test_usage_never_exceeds_one():
    usage = torch.rand(64, 50, dtype=torch.float32)
    usage[:, :10] = 1.0
    written = torch.rand(64, 50, dtype=torch.float32)
    new = update_usage(usage, written, torch.ones_like(usage))
    assert new.max() <= 1.0 and new.min() >= 0.0


def test_write_weighting_by_hand():
    weights = write_weighting(
        rows([0.9, 0.1, 0.0]), rows([0.2, 0.3, 0.5]), rows([0.25]), rows([0.8])
    )
    # 0.8 * (0.25 a + 0.75 c)
    torch.testing.assert_close(weights, rows([0.3, 0.2, 0.3]))


def test_precedence_by_hand():
    precedence = update_precedence(rows([0.5, 0.25, 0.0]), rows([0.3, 0.2, 0.3]))
    # (1 - 0.8) p + w
    torch.testing.assert_close(precedence, rows([0.1 + 0.3, 0.05 + 0.2, 0.3]))


def test_links_by_hand_with_a_zero_diagonal():
    links = rows([[0.0, 0.1, 0.2], [0.3, 0.0, 0.4], [0.5, 0.6, 0.0]])
    precedence, written = rows([0.5, 0.25, 0.0]), rows([0.3, 0.2, 0.3])
    expected = rows(
        [
            [0.0, (1 - 0.5) * 0.1 + 0.3 * 0.25, (1 - 0.6) * 0.2 + 0.3 * 0.0],
            [(1 - 0.5) * 0.3 + 0.2 * 0.5, 0.0, (1 - 0.5) * 0.4 + 0.2 * 0.0],
            [(1 - 0.6) * 0.5 + 0.3 * 0.5, (1 - 0.5) * 0.6 + 0.3 * 0.25, 0.0],
        ]
    )
    new = update_links(links, precedence, written)
    torch.testing.assert_close(new, expected)
    # the diagonal is forced to 0: slot 0 would otherwise get w_0 p_0 = 0.15
    assert torch.equal(new.diagonal(dim1=1, dim2=2), torch.zeros(1, 3, dtype=D))


def test_writes_in_order_link_each_slot_to_the_one_before():
    links, precedence = torch.zeros(1, 3, 3, dtype=D), torch.zeros(1, 3, dtype=D)
    for slot in range(3):  # write slots 0, 1, 2 one after the other
        written = torch.nn.functional.one_hot(torch.tensor([slot]), 3).to(D)
        links = update_links(links, precedence, written)  # with the previous precedence
        precedence = update_precedence(precedence, written)
    torch.testing.assert_close(links, rows([[0.0, 0, 0], [1.0, 0, 0], [0.0, 1, 0]]))
    torch.testing.assert_close(precedence, rows([0.0, 0.0, 1.0]))
    # forward from slot 0 goes to slot 1, backward from slot 2 goes to slot 1
    forward, backward = directional_weights(links, rows([[1.0, 0, 0], [0.0, 0, 1]]))
    torch.testing.assert_close(forward, rows([[0.0, 1, 0], [0.0, 0, 0]]))
    torch.testing.assert_close(backward, rows([[0.0, 0, 0], [0.0, 1, 0]]))


# reading


def test_directional_weights_by_hand():
    links = rows([[0.0, 0.1, 0.2], [0.3, 0.0, 0.4], [0.5, 0.6, 0.0]])
    read_weights = rows([[1.0, 0.0, 0.0], [0.0, 0.5, 0.5]])  # (1, R=2, 3)
    forward, backward = directional_weights(links, read_weights)
    # forward f = L w: head 0 is L's column 0, head 1 half of columns 1 and 2
    torch.testing.assert_close(forward, rows([[0.0, 0.3, 0.5], [0.15, 0.2, 0.3]]))
    # backward b = L^T w: head 0 is L's row 0, head 1 half of rows 1 and 2
    torch.testing.assert_close(backward, rows([[0.0, 0.1, 0.2], [0.4, 0.3, 0.2]]))


def test_read_weighting_by_hand_modes_are_backward_content_forward():
    backward, content, forward = (
        rows([[0.0, 0.1, 0.2]]),
        rows([[0.6, 0.2, 0.2]]),
        rows([[0.0, 0.3, 0.5]]),
    )
    weights = read_weighting(backward, content, forward, rows([[0.2, 0.5, 0.3]]))
    torch.testing.assert_close(weights, rows([[0.3, 0.21, 0.29]]))
    # a one-hot mode selects exactly that weighting
    only_forward = read_weighting(backward, content, forward, rows([[0.0, 0.0, 1.0]]))
    torch.testing.assert_close(only_forward, forward)


def test_parse_interface_layout_by_hand():
    heads, width = 2, 2
    size = interface_size(heads, width)
    assert size == heads * width + 3 * width + 5 * heads + 3 == 23
    raw = torch.arange(size, dtype=D).unsqueeze(0) / 10  # (1, 23): entry k holds k / 10
    parsed = parse_interface(raw, num_read_heads=heads, memory_width=width)

    def oneplus(value: float) -> float:
        return 1 + math.log1p(math.exp(value))

    def sigmoid(value: float) -> float:
        return 1 / (1 + math.exp(-value))

    def softmax(values: list[float]) -> list[float]:
        exps = [math.exp(v) for v in values]
        return [e / sum(exps) for e in exps]

    entry = [k / 10 for k in range(size)]
    torch.testing.assert_close(parsed.read_keys, rows([entry[0:2], entry[2:4]]))
    torch.testing.assert_close(parsed.read_strengths, rows([oneplus(entry[4]), oneplus(entry[5])]))
    torch.testing.assert_close(parsed.write_key, rows(entry[6:8]))
    torch.testing.assert_close(parsed.write_strength, rows([oneplus(entry[8])]))
    torch.testing.assert_close(parsed.erase, rows([sigmoid(v) for v in entry[9:11]]))
    torch.testing.assert_close(parsed.write_vector, rows(entry[11:13]))
    torch.testing.assert_close(parsed.free_gates, rows([sigmoid(v) for v in entry[13:15]]))
    torch.testing.assert_close(parsed.allocation_gate, rows([sigmoid(entry[15])]))
    torch.testing.assert_close(parsed.write_gate, rows([sigmoid(entry[16])]))
    torch.testing.assert_close(
        parsed.read_modes, rows([softmax(entry[17:20]), softmax(entry[20:23])])
    )


# an independent reference: the paper's equations with loops over slots, one sequence at a time


def _sigmoid(value: float) -> float:
    return 1 / (1 + math.exp(-value))


def _oneplus(value: float) -> float:
    return 1 + math.log1p(math.exp(value))


def _softmax(values: list[float]) -> list[float]:
    top = max(values)
    exps = [math.exp(v - top) for v in values]
    return [e / sum(exps) for e in exps]


def _take(values: list[float], count: int) -> list[float]:
    """The first ``count`` values, removed from ``values``."""
    taken = values[:count]
    del values[:count]
    return taken


def _content(memory: list[list[float]], key: list[float], strength: float) -> list[float]:
    eps = 1e-12  # the squared-norm epsilon memnets' cosine uses in float64
    key_norm = sum(k * k for k in key) + eps
    scores = []
    for row in memory:
        dot = sum(k * m for k, m in zip(key, row))
        scores.append(strength * dot / math.sqrt(key_norm * (sum(m * m for m in row) + eps)))
    return _softmax(scores)


def _controller(model: DNC, controller_input, h, c):
    """The controller's equations by hand on (I + R M,) vectors -> (h, c)."""
    if model.controller_kind == "feedforward":
        linear = model.controller[0]
        return torch.tanh(linear.weight @ controller_input + linear.bias), c
    lstm = model.controller
    gates = lstm.weight_ih @ controller_input + lstm.bias_ih + lstm.weight_hh @ h + lstm.bias_hh
    i, f, g, o = gates.chunk(4)
    c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
    return torch.sigmoid(o) * torch.tanh(c), c


def reference_sequence(model: DNC, x: torch.Tensor):
    """One sequence x (T, I) -> outputs (T, O) and the final state as lists of floats."""
    N, M, R = model.memory_slots, model.memory_width, model.num_read_heads
    memory = [[0.0] * M for _ in range(N)]
    usage, precedence, written = [0.0] * N, [0.0] * N, [0.0] * N
    links = [[0.0] * N for _ in range(N)]
    read_weights = [[0.0] * N for _ in range(R)]
    reads = [[0.0] * M for _ in range(R)]
    h = c = torch.zeros(model.controller_size, dtype=D)
    outputs = []
    for x_t in x:
        h, c = _controller(model, torch.cat([x_t, torch.tensor(reads, dtype=D).flatten()]), h, c)
        xi = (model.interface.weight @ h + model.interface.bias).tolist()
        read_keys = [_take(xi, M) for _ in range(R)]
        read_strengths = [_oneplus(v) for v in _take(xi, R)]
        write_key, write_strength = _take(xi, M), _oneplus(_take(xi, 1)[0])
        erase, write_vector = [_sigmoid(v) for v in _take(xi, M)], _take(xi, M)
        free_gates = [_sigmoid(v) for v in _take(xi, R)]
        allocation_gate, write_gate = _sigmoid(_take(xi, 1)[0]), _sigmoid(_take(xi, 1)[0])
        modes = [_softmax(_take(xi, 3)) for _ in range(R)]  # backward, content, forward
        assert not xi

        # usage from the previous write and read weights, then allocation by the free list
        for n in range(N):
            psi = 1.0
            for r in range(R):
                psi *= 1 - free_gates[r] * read_weights[r][n]
            usage[n] = (usage[n] + written[n] - usage[n] * written[n]) * psi
        allocated, used_before = [0.0] * N, 1.0
        for n in sorted(range(N), key=lambda n: usage[n]):  # a stable sort: ties by slot
            allocated[n] = (1 - usage[n]) * used_before
            used_before *= usage[n]
        # write weights by allocation and content on the previous memory, then erase and add
        write_content = _content(memory, write_key, write_strength)
        for n in range(N):
            by_content = (1 - allocation_gate) * write_content[n]
            written[n] = write_gate * (allocation_gate * allocated[n] + by_content)
            for m in range(M):
                memory[n][m] = memory[n][m] * (1 - written[n] * erase[m])
                memory[n][m] += written[n] * write_vector[m]
        # links with the previous precedence, then the precedence
        for i in range(N):
            for j in range(N):
                keep = (1 - written[i] - written[j]) * links[i][j]
                links[i][j] = 0.0 if i == j else keep + written[i] * precedence[j]
        total = sum(written)
        precedence = [(1 - total) * precedence[n] + written[n] for n in range(N)]
        # read weights from the new links and memory, then the reads
        new_read_weights = []
        for r in range(R):
            content = _content(memory, read_keys[r], read_strengths[r])
            weights = []
            for n in range(N):
                forward = sum(links[n][j] * read_weights[r][j] for j in range(N))
                backward = sum(links[i][n] * read_weights[r][i] for i in range(N))
                backward_mode, content_mode, forward_mode = modes[r]
                mixed = backward_mode * backward + content_mode * content[n]
                weights.append(mixed + forward_mode * forward)
            new_read_weights.append(weights)
        read_weights = new_read_weights
        reads = [
            [sum(read_weights[r][n] * memory[n][m] for n in range(N)) for m in range(M)]
            for r in range(R)
        ]
        features = torch.cat([h, torch.tensor(reads, dtype=D).flatten()])
        outputs.append(model.output.weight @ features + model.output.bias)
    final = dict(
        memory=memory,
        usage=usage,
        links=links,
        precedence=precedence,
        read_weights=read_weights,
        write_weights=written,
        reads=reads,
        hidden=h.tolist(),
    )
    return torch.stack(outputs), final


@pytest.mark.parametrize("controller", ["lstm", "feedforward"])
def test_model_matches_a_loop_reference_of_the_paper(controller):
    torch.manual_seed(0)
    model = small_dnc(controller=controller, num_read_heads=2).double()
    with torch.no_grad():  # larger interface weights: gates and modes away from 0.5
        model.interface.weight.mul_(4.0)
    x = torch.randn(2, 6, 4, dtype=D)
    with torch.no_grad():
        output, state = model(x)
        references = [reference_sequence(model, sequence) for sequence in x]
    torch.testing.assert_close(output, torch.stack([outputs for outputs, _ in references]))
    names = ["memory", "usage", "links", "precedence", "read_weights", "write_weights", "reads"]
    for name in names:
        expected = torch.tensor([final[name] for _, final in references], dtype=D)
        torch.testing.assert_close(getattr(state, name), expected, msg=name)
    if controller == "lstm":
        hidden = torch.tensor([final["hidden"] for _, final in references], dtype=D)
        torch.testing.assert_close(state.controller[0], hidden)
    # the reference exercised the memory: something was linked and nothing is full
    assert state.links.abs().sum() > 0.1 and (state.usage < 1).all()


# shapes, gradients, stability, state


@pytest.mark.parametrize("controller", ["lstm", "feedforward"])
@pytest.mark.parametrize("num_read_heads", [1, 2, 4])
def test_shapes_and_internals(controller, num_read_heads):
    model = small_dnc(controller=controller, num_read_heads=num_read_heads)
    output, state, internals = model(torch.rand(3, 7, 4), return_internals=True)
    B, T, N, M, R = 3, 7, 5, 3, num_read_heads
    assert output.shape == (B, T, 3)
    assert isinstance(state, DNCState)
    assert state.memory.shape == (B, N, M) and state.links.shape == (B, N, N)
    assert state.usage.shape == state.precedence.shape == state.write_weights.shape == (B, N)
    assert state.read_weights.shape == (B, R, N) and state.reads.shape == (B, R, M)
    assert (state.controller is None) == (controller == "feedforward")
    assert internals.usage.shape == internals.allocation.shape == (B, T, N)
    assert internals.write_weights.shape == (B, T, N)
    assert internals.read_weights.shape == (B, T, R, N)
    assert internals.read_modes.shape == (B, T, R, 3)
    assert internals.free_gates.shape == (B, T, R)
    assert internals.allocation_gate.shape == internals.write_gate.shape == (B, T)
    torch.testing.assert_close(internals.links, state.links)
    # weights are (sub-)distributions, usage stays in [0, 1]
    assert (internals.write_weights.sum(-1) <= 1 + 1e-6).all()
    assert (internals.read_weights.sum(-1) <= 1 + 1e-6).all()
    assert (internals.allocation.sum(-1) <= 1 + 1e-6).all()
    assert internals.usage.min() >= 0 and internals.usage.max() <= 1
    torch.testing.assert_close(internals.read_modes.sum(-1), torch.ones(B, T, R))


def test_time_major_equals_batch_first():
    torch.manual_seed(0)
    model = small_dnc(num_read_heads=2)
    time_major = small_dnc(num_read_heads=2, batch_first=False)
    time_major.load_state_dict(model.state_dict())
    x = torch.rand(3, 5, 4)
    expected, expected_state = model(x)
    output, state = time_major(x.transpose(0, 1))
    assert output.shape == (5, 3, 3)
    torch.testing.assert_close(output.transpose(0, 1), expected)
    torch.testing.assert_close(state.memory, expected_state.memory)


@pytest.mark.parametrize("controller", ["lstm", "feedforward"])
def test_gradients_reach_every_parameter(controller):
    torch.manual_seed(0)
    model = small_dnc(controller=controller, num_read_heads=2)
    output, _ = model(torch.rand(2, 5, 4))
    output.pow(2).sum().backward()
    for name, parameter in model.named_parameters():
        assert parameter.grad is not None, name
        assert torch.isfinite(parameter.grad).all(), name
        assert parameter.grad.abs().sum() > 0, name


def test_gradcheck_of_the_memory_functions():
    torch.manual_seed(0)
    usage = torch.tensor([[0.3, 0.7, 0.1, 0.5], [0.9, 0.2, 0.6, 0.4]], dtype=D)  # no ties
    assert torch.autograd.gradcheck(allocation, (usage.requires_grad_(),))
    links = (torch.rand(2, 4, 4, dtype=D) * 0.3).requires_grad_()
    precedence = (torch.rand(2, 4, dtype=D) * 0.2).requires_grad_()
    written = (torch.rand(2, 4, dtype=D) * 0.2).requires_grad_()
    assert torch.autograd.gradcheck(update_links, (links, precedence, written))
    assert torch.autograd.gradcheck(update_precedence, (precedence, written))
    free_gates = torch.rand(2, 3, dtype=D).requires_grad_()
    read_weights = torch.softmax(torch.randn(2, 3, 4, dtype=D), -1).requires_grad_()
    assert torch.autograd.gradcheck(retention, (free_gates, read_weights))
    assert torch.autograd.gradcheck(directional_weights, (links, read_weights))
    retained = torch.rand(2, 4, dtype=D).requires_grad_()
    assert torch.autograd.gradcheck(update_usage, (usage, written, retained))


def test_extreme_inputs_give_finite_outputs_and_gradients():
    torch.manual_seed(0)
    model = small_dnc(num_read_heads=2)
    with torch.no_grad():  # huge interface pre-activations: gates exactly 0/1, huge strengths
        model.interface.weight.mul_(1e4)
    x = torch.randn(2, 6, 4) * 1e4
    output, state, internals = model(x, return_internals=True)
    assert torch.isfinite(output).all()
    assert all(torch.isfinite(tensor).all() for tensor in state[1:])
    output.sum().backward()
    for name, parameter in model.named_parameters():
        assert torch.isfinite(parameter.grad).all(), name


def test_released_and_saturated_usage_give_finite_gradients():
    # free gate 1 on a slot read with weight 1 (retention exactly 0), usage exactly 1 elsewhere
    free_gates = torch.ones(1, 1, dtype=D, requires_grad=True)
    read_weights = rows([[1.0, 0.0, 0.0]]).requires_grad_()
    usage = rows([1.0, 1.0, 0.0]).requires_grad_()
    psi = retention(free_gates, read_weights)
    new_usage = update_usage(usage, rows([0.0, 0.0, 1.0]), psi)
    torch.testing.assert_close(new_usage, rows([0.0, 1.0, 1.0]))
    weights = allocation(new_usage)
    torch.testing.assert_close(weights, rows([1.0, 0.0, 0.0]))
    weights.pow(2).sum().backward()
    for tensor in (free_gates, read_weights, usage):
        assert torch.isfinite(tensor.grad).all()


@pytest.mark.parametrize("controller", ["lstm", "feedforward"])
def test_running_in_two_halves_equals_running_whole(controller):
    torch.manual_seed(0)
    model = small_dnc(controller=controller, num_read_heads=2).double()
    x = torch.rand(2, 8, 4, dtype=D)
    whole, whole_state = model(x)
    first, state = model(x[:, :3])
    rest, state = model(x[:, 3:], state)
    torch.testing.assert_close(torch.cat([first, rest], dim=1), whole)
    for name, expected in whole_state._asdict().items():
        if name != "controller":
            torch.testing.assert_close(getattr(state, name), expected, msg=name)
    if controller == "lstm":
        torch.testing.assert_close(state.controller, whole_state.controller)
    again, _ = model(x)  # nothing was stored on the module
    torch.testing.assert_close(again, whole)


def test_batch_items_are_independent():
    torch.manual_seed(0)
    model = small_dnc(num_read_heads=2).double()
    x = torch.rand(2, 6, 4, dtype=D)
    together, _ = model(x)
    first, _ = model(x[:1])
    second, _ = model(x[1:])
    torch.testing.assert_close(together, torch.cat([first, second]))


def test_initial_state_is_zeros_on_the_asked_dtype():
    state = small_dnc(num_read_heads=2).initial_state(3, dtype=D)
    assert state.memory.dtype == D and state.controller[0].shape == (3, 8)
    assert all(torch.equal(t, torch.zeros_like(t)) for t in (*state.controller, *state[1:]))
    assert small_dnc(controller="feedforward").initial_state(2).controller is None


# errors and builders


def test_bad_input_shape_names_the_argument_and_both_shapes():
    model = small_dnc()
    with pytest.raises(ValueError, match=r"x has shape \(2, 3, 7\) but expected \(B, T, 4\)"):
        model(torch.rand(2, 3, 7))
    with pytest.raises(ValueError, match=r"x must have 3 dimensions \(B, T, 4\).*\(3, 4\)"):
        model(torch.rand(3, 4))
    state = small_dnc(memory_slots=6).initial_state(2)
    with pytest.raises(ValueError, match=r"state.memory has shape \(2, 6, 3\).*\(2, 5, 3\)"):
        model(torch.rand(2, 3, 4), state)
    with pytest.raises(ValueError, match=r"usage must have 2 dimensions \(B, N\).*\(2, 3, 4\)"):
        allocation(torch.rand(2, 3, 4))


def test_bad_configuration_is_refused():
    with pytest.raises(ValueError, match="controller must be"):
        small_dnc(controller="gru")
    with pytest.raises(ValueError, match="num_read_heads"):
        small_dnc(num_read_heads=0)


def test_builders():
    copy = dnc_copy()
    assert (copy.input_size, copy.output_size, copy.controller_size) == (9, 8, 64)
    assert (copy.memory_slots, copy.memory_width, copy.num_read_heads) == (16, 16, 1)
    babi = dnc_babi(input_size=20, output_size=30)
    assert (babi.controller_kind, babi.controller_size) == ("lstm", 256)
    assert (babi.memory_slots, babi.memory_width, babi.num_read_heads) == (256, 64, 4)
    assert dnc_babi(input_size=20, output_size=30, memory_slots=8).memory_slots == 8
    with pytest.raises(TypeError, match="input_size"):
        dnc_babi()


def test_access_names_the_interface_tensor_of_the_wrong_shape():
    model = DNC(input_size=3, output_size=2, memory_slots=5, memory_width=4, num_read_heads=2)
    state = model.initial_state(2)
    raw = torch.zeros(2, interface_size(2, 4))
    interface = parse_interface(raw, num_read_heads=2, memory_width=4)
    interface.erase = torch.zeros(2, 3)  # width 3, memory 4
    with pytest.raises(ValueError, match=r"interface\.erase has shape \(2, 3\)"):
        access(state, interface)


def test_the_public_functions_make_the_models_step_bit_for_bit():
    torch.manual_seed(0)
    heads, width = 2, 4
    model = DNC(input_size=3, output_size=2, memory_slots=5, memory_width=width,
                num_read_heads=heads)  # fmt: skip
    x = torch.rand(2, 3, 3)  # (B, T, I)
    _, state = model(x[:, :2])
    _, stepped = model(x[:, 2:], state)  # the model's third step
    controller_input = torch.cat([x[:, 2], state.reads.flatten(1)], dim=-1)  # (B, I + R*M)
    hidden, _ = model.controller(controller_input, state.controller)  # (B, C)
    interface = parse_interface(model.interface(hidden), num_read_heads=heads, memory_width=width)
    by_hand, _ = access(state, interface)  # the checked public path
    for name in DNCState._fields[1:]:  # all but the controller's state
        assert torch.equal(getattr(by_hand, name), getattr(stepped, name)), name

"""The textbook per-example loop: Michael Nielsen's ``network.py``, for the benchmark.

A faithful copy of ``SGD``, ``update_mini_batch``, ``backprop`` and the helper
functions of ``src/network.py`` from *Neural Networks and Deep Learning*
(https://github.com/mnielsen/neural-networks-and-deep-learning, MIT licence),
in Python 3, with these changes only:

* float32 throughout (the benchmark compares every implementation in float32):
  the gradient accumulators are created with the parameters' dtype;
* randomness comes from generators passed in (``np.random.Generator`` for the
  initial weights, ``random.Random`` for the shuffle) instead of global state;
* ``SGD`` prints nothing (the book prints "Epoch j complete");
* weights start as N(0, 1/n_in), the book's ``network2.py`` initialiser, as
  every implementation in the benchmark does (speed does not depend on it);
* the hidden/output activation and the cost can be switched, so the same loop
  also runs the benchmark's ReLU + softmax/cross-entropy pair. With the
  defaults (sigmoid, quadratic) the code is the book's.
"""

from __future__ import annotations

import random

import numpy as np


class Network:
    def __init__(self, sizes, rng, dtype=np.float32, hidden="sigmoid", output="sigmoid",
                 cost="quadratic"):  # fmt: skip
        self.num_layers = len(sizes)
        self.sizes = sizes
        self.biases = [rng.standard_normal((y, 1)).astype(dtype) for y in sizes[1:]]
        self.weights = [
            (rng.standard_normal((y, x)) / np.sqrt(x)).astype(dtype)
            for x, y in zip(sizes[:-1], sizes[1:])
        ]
        self.hidden, self.hidden_prime = ACTIVATIONS[hidden]
        self.output, self.output_prime = ACTIVATIONS[output]
        self.cost = cost

    def SGD(self, training_data, epochs, mini_batch_size, eta, shuffle_rng):
        """Train with mini-batch stochastic gradient descent.

        ``training_data`` is a list of tuples ``(x, y)``: column vectors of the
        input and of the desired output.
        """
        n = len(training_data)
        for _ in range(epochs):
            shuffle_rng.shuffle(training_data)
            mini_batches = [
                training_data[k : k + mini_batch_size] for k in range(0, n, mini_batch_size)
            ]
            for mini_batch in mini_batches:
                self.update_mini_batch(mini_batch, eta)

    def update_mini_batch(self, mini_batch, eta):
        """Apply one gradient-descent step, backpropagating each example of the batch."""
        nabla_b = [np.zeros(b.shape, dtype=b.dtype) for b in self.biases]
        nabla_w = [np.zeros(w.shape, dtype=w.dtype) for w in self.weights]
        for x, y in mini_batch:
            delta_nabla_b, delta_nabla_w = self.backprop(x, y)
            nabla_b = [nb + dnb for nb, dnb in zip(nabla_b, delta_nabla_b)]
            nabla_w = [nw + dnw for nw, dnw in zip(nabla_w, delta_nabla_w)]
        self.weights = [w - (eta / len(mini_batch)) * nw for w, nw in zip(self.weights, nabla_w)]
        self.biases = [b - (eta / len(mini_batch)) * nb for b, nb in zip(self.biases, nabla_b)]

    def backprop(self, x, y):
        """Return ``(nabla_b, nabla_w)``, the gradient of C_x, layer by layer."""
        nabla_b = [np.zeros(b.shape, dtype=b.dtype) for b in self.biases]
        nabla_w = [np.zeros(w.shape, dtype=w.dtype) for w in self.weights]
        # feedforward
        activation = x
        activations = [x]  # list to store all the activations, layer by layer
        zs = []  # list to store all the z vectors, layer by layer
        for i, (b, w) in enumerate(zip(self.biases, self.weights)):
            z = np.dot(w, activation) + b
            zs.append(z)
            last = i == len(self.weights) - 1
            activation = self.output(z) if last else self.hidden(z)
            activations.append(activation)
        # backward pass
        delta = self.cost_derivative(activations[-1], y)
        if self.cost == "quadratic":
            delta = delta * self.output_prime(zs[-1])
        nabla_b[-1] = delta
        nabla_w[-1] = np.dot(delta, activations[-2].transpose())
        # l = 1 means the last layer of neurons, l = 2 the second-last, and so on
        # (the book's renumbering, as in its comment).
        for l in range(2, self.num_layers):
            z = zs[-l]
            sp = self.hidden_prime(z)
            delta = np.dot(self.weights[-l + 1].transpose(), delta) * sp
            nabla_b[-l] = delta
            nabla_w[-l] = np.dot(delta, activations[-l - 1].transpose())
        return (nabla_b, nabla_w)

    def cost_derivative(self, output_activations, y):
        """∂C_x/∂a for the quadratic cost; also δ^L for cross-entropy with sigmoid/softmax."""
        return output_activations - y


#### Miscellaneous functions
def sigmoid(z):
    """The sigmoid function."""
    return 1.0 / (1.0 + np.exp(-z))


def sigmoid_prime(z):
    """Derivative of the sigmoid function."""
    return sigmoid(z) * (1 - sigmoid(z))


def relu(z):
    return np.maximum(z, 0)


def relu_prime(z):
    return (z > 0).astype(z.dtype)


def softmax(z):
    e = np.exp(z - z.max())
    return e / e.sum()


def softmax_prime(z):  # only with the cross-entropy cost, where it is not used
    raise NotImplementedError("softmax with the quadratic cost is not part of the benchmark")


ACTIVATIONS = {
    "sigmoid": (sigmoid, sigmoid_prime),
    "relu": (relu, relu_prime),
    "softmax": (softmax, softmax_prime),
}


def training_data(X: np.ndarray, T: np.ndarray) -> list:
    """The book's data format: a list of (x, y) column vectors (built once, not timed)."""
    return [(x.reshape(-1, 1).copy(), t.reshape(-1, 1).copy()) for x, t in zip(X, T)]


def shuffler(seed: int) -> random.Random:
    return random.Random(seed)

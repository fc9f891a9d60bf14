"""Shared test set-up: small models on 2 cores run fastest single-threaded."""

import os

import torch

torch.set_num_threads(int(os.environ.get("MEMNETS_TEST_THREADS", "1")))

"""Hyperparameter declarations that several methods share word for word (`param(...)` with the
same bounds, group and help), so that each is written once."""

from __future__ import annotations

from typing import Any

from genlab.params import param


def lr(
    default: float,
    help: str = "Adam learning rate.",
    label: str = "Learning rate",
    optimizer: str = "*",
    high: float = 1.0,
) -> Any:
    """A learning rate, live, for the optimiser named `optimizer` ("*" = every optimiser)."""
    return param(
        default,
        label=label,
        low=1e-6,
        high=high,
        log=True,
        live=True,
        group="Optimiser",
        help=help,
        optimizer=optimizer,
    )


def grad_clip(default: float = 1.0) -> Any:
    return param(
        default,
        label="Gradient clip norm",
        low=0.0,
        high=100.0,
        live=True,
        group="Optimiser",
        help="Clip the gradient norm to this (0 = off).",
    )


def temperature(help: str) -> Any:
    return param(
        1.0, label="Sampling temperature", low=0.0, high=5.0, live=True, group="Sampling", help=help
    )


def top_k(help: str = "Text: sample among the k likeliest characters (0 = off).") -> Any:
    return param(0, label="Top-k sampling", low=0, high=256, live=True, group="Sampling", help=help)


def sample_steps(default: int, help: str) -> Any:
    return param(
        default, label="Sampling steps", low=1, high=4000, live=True, group="Sampling", help=help
    )


def dropout(default: float, where: str) -> Any:
    return param(
        default,
        label="Dropout",
        low=0.0,
        high=0.9,
        live=True,
        advanced=True,
        help=f"Dropout on {where} (masks drawn from the run's generator, so runs stay "
        "reproducible).",
    )

"""The record of a training run: :class:`History`, one entry per completed epoch."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any, ClassVar

from ..jsonable import to_jsonable

__all__ = ["History"]


@dataclass
class History:
    """Per-epoch measurements of a training run, one entry per completed epoch.

    Every list has one entry per epoch; values that were not measured (no
    validation or test data, accuracy of a regression) are ``None``. Costs
    are the data cost C₀ (mean over examples, without the L2 term).
    ``train_cost``/``train_accuracy`` are by default the running mean over the
    epoch's mini-batches, each taken from that batch's own forward pass before
    its update (as Keras reports them; with dropout, of the thinned network);
    with ``train(..., train_metrics="full")`` they are measured after the epoch
    on the whole training set with dropout off, as validation and test data
    always are (see :mod:`backprop.training.running`). ``seconds`` is the time
    spent in the epoch's mini-batches; evaluation time is in
    ``extras["eval_seconds"]``.
    """

    epoch: list[int] = field(default_factory=list)
    train_cost: list[float] = field(default_factory=list)
    train_accuracy: list[float | None] = field(default_factory=list)
    val_cost: list[float | None] = field(default_factory=list)
    val_accuracy: list[float | None] = field(default_factory=list)
    test_cost: list[float | None] = field(default_factory=list)
    test_accuracy: list[float | None] = field(default_factory=list)
    lr: list[float] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    #: epoch (1-based) with the best validation score, None without validation data
    best_epoch: int | None = None
    #: True when early stopping ended the run before ``epochs``
    stopped_early: bool = False
    #: None, or the message explaining that the cost became NaN/inf
    diverged: str | None = None
    #: further per-epoch series, e.g. appended by callbacks (gradient norms)
    extras: dict[str, list[Any]] = field(default_factory=dict)

    SERIES: ClassVar[tuple[str, ...]] = (
        "epoch",
        "train_cost",
        "train_accuracy",
        "val_cost",
        "val_accuracy",
        "test_cost",
        "test_accuracy",
        "lr",
        "seconds",
    )

    def __len__(self) -> int:
        return len(self.epoch)

    def __repr__(self) -> str:
        """A compact table of the last five epochs and the best one (not every list)."""
        from ..display import history_repr

        return history_repr(self)

    def _repr_html_(self) -> str:
        """The table of ``repr``, the best epoch in bold, for notebooks."""
        from ..display import history_html

        return history_html(self)

    def to_pandas(self) -> Any:
        """A ``pandas.DataFrame``, one row per epoch indexed by ``epoch``: every series that
        was measured (columns of only ``None`` are left out) and the per-epoch ``extras``."""
        try:
            import pandas as pd  # type: ignore[import-untyped]
        except ImportError:
            raise ImportError("History.to_pandas needs pandas: pip install pandas") from None
        series = {name: getattr(self, name) for name in self.SERIES[1:]}
        series.update({k: v for k, v in self.extras.items() if len(v) == len(self)})
        columns = {k: v for k, v in series.items() if any(x is not None for x in v)}
        frame = pd.DataFrame(columns, index=pd.Index(self.epoch, name="epoch"))
        return frame.astype({k: "float64" for k in columns if k != "epoch"})

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict (non-finite numbers become None)."""
        out = {f.name: to_jsonable(getattr(self, f.name), strict=False) for f in fields(self)}
        out["extras"] = {k: to_jsonable(v, strict=False) for k, v in self.extras.items()}
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> History:
        known = {f.name for f in fields(cls)}
        kwargs = {k: v for k, v in data.items() if k in known}
        for name in cls.SERIES:
            kwargs[name] = list(kwargs.get(name, []))
        kwargs["extras"] = {k: list(v) for k, v in (kwargs.get("extras") or {}).items()}
        return cls(**kwargs)

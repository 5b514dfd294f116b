"""Step durations per run: a plain plotting function and a widget that redraws it when a run ends."""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

import pandas as pd
from reactivex import abc
from reactivex import operators as ops

from resoto_rx.messages import CoreEvent, Message
from resoto_rx.notebook.frames import step_durations
from resoto_rx.notebook.view import LiveView
from resoto_rx.workflows.runner import TaskRunner

if TYPE_CHECKING:
    import ipywidgets
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

PLOT_RATE = 2.0
"""Redraws per second of a plot: rendering a PNG costs tens of ms, far more than a table."""


def plot_step_durations(durations: pd.DataFrame, ax: Axes | None = None, unit: str = "ms") -> Axes:
    """Stacked horizontal bars: one bar per run (oldest at the top), one segment per step.

    ``durations`` is what :func:`step_durations` returns. Without ``ax`` a new figure is made
    (``matplotlib.figure.Figure``, not pyplot: no global state).
    """
    if ax is None:
        from matplotlib.figure import Figure

        ax = Figure(figsize=(8, 0.4 * max(len(durations), 3) + 1.5)).subplots()
    scale = {"s": 1.0, "ms": 1000.0}[unit]
    if durations.empty:
        ax.set_title("step durations per run")
        ax.text(0.5, 0.5, "no run yet", ha="center", va="center", transform=ax.transAxes)
        return ax
    table = durations.fillna(0.0) * scale
    table.index = [f"run {i + 1}: {t:%H:%M:%S}" for i, t in enumerate(table.index)]
    left = pd.Series(0.0, index=table.index)
    colors = _colors(len(table.columns))
    for color, step in zip(colors, table.columns, strict=True):
        ax.barh(table.index, table[step], left=left, label=str(step), color=color)
        left = left + table[step]
    ax.invert_yaxis()
    ax.set_xlabel(f"duration ({unit})")
    ax.set_title("step durations per run")
    if len(table.columns):
        ax.legend(fontsize="small", ncols=2, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    _figure(ax).tight_layout()
    return ax


def _figure(ax: Axes) -> Figure:
    figure = ax.get_figure(root=True)
    assert figure is not None
    return figure


def _colors(n: int) -> list[tuple[float, float, float, float]]:
    from matplotlib import colormaps

    cmap = colormaps["tab20"]
    return [cmap(i % 20) for i in range(n)]


class StepDurationsPlot(LiveView):
    """A PNG of :func:`plot_step_durations` that redraws (at most ``max_rate`` per second) when a run ends.

    ``plot.durations()`` is the DataFrame behind the picture.
    """

    def __init__(
        self,
        runner: TaskRunner,
        workflow: str | None = None,
        scheduler: abc.SchedulerBase | None = None,
        max_rate: float = PLOT_RATE,
    ) -> None:
        super().__init__(runner.bus, scheduler, max_rate)
        self.runner = runner
        self.workflow = workflow
        # Only the ends of runs it plots: jobs and other workflows end too, and a redraw renders a PNG.

        def plotted(message: Message) -> bool:
            return workflow is None or message.data.get("descriptor_id") == workflow

        ends = self.bus.listen(CoreEvent.TASK_END).pipe(ops.filter(plotted))
        self.subscribe(ends.subscribe(lambda _: self.changed()))

    def durations(self) -> pd.DataFrame:
        return step_durations(self.runner, self.workflow)

    def png(self) -> bytes:
        """The current plot as PNG bytes."""
        ax = plot_step_durations(self.durations())
        out = io.BytesIO()
        _figure(ax).savefig(out, format="png", dpi=80)
        return out.getvalue()

    def _build(self) -> ipywidgets.Widget:
        import ipywidgets as w

        return w.Image(format="png")

    def _draw(self) -> None:
        assert self._widget is not None
        self._widget.value = self.png()

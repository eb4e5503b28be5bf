"""Progress for the chart commands: a rich bar on a terminal, plain lines on stderr otherwise
(stdout carries the JSON summary only, so scripts can parse it)."""

from contextlib import nullcontext


def reporter(stdout, stderr, verbosity: int):
    """(callback(stage, done, total) or None, a context manager around the run)."""
    if verbosity == 0:
        return None, nullcontext()
    if stderr.isatty():
        from rich.console import Console
        from rich.progress import Progress

        bar = Progress(console=Console(stderr=True), transient=False)
        tasks = {}

        def update(stage, done, total):
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=total or 1)
            bar.update(tasks[stage], completed=done, total=total or 1)

        return update, bar

    last = {}

    def log(stage, done, total):
        step = max(1, total // 10)
        if done in (0, total) or done - last.get(stage, 0) >= step:
            last[stage] = done
            stderr.write(f"{stage}: {done}/{total}")

    return log, nullcontext()

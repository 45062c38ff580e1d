"""Project tasks for the demo data (:mod:`metrics.demo`).

Tasks follow the project's playbook. Projects with the ``overdue`` trait get at
least one open, assigned task due before the as-of date; the others get none
(their open assigned tasks are due later). Projects with the ``unassigned``
trait get more than ten open unassigned tasks.
"""

from __future__ import annotations

from random import Random

from metrics.demo import names
from metrics.demo.world import DAY, Portal, iso_day, iso_ts

DONE_SHARE = {"live": 0.95, "on_hold": 0.45, "cancelled": 0.3}

# (project_id, title, assignee, due_on, completed_at, created_at); instants in epoch seconds
Task = list


def _planned(rng: Random, now: int, p: Portal) -> list[Task]:
    """The playbook's tasks (plus a few extras), some completed."""
    titles = list(names.TASK_TITLES[p.playbook])
    titles += rng.sample(names.EXTRA_TASK_TITLES, rng.randint(0, 3))
    tasks: list[Task] = []
    if p.start is None:  # not started: drafted in the last days, nothing done
        for title in titles:
            assignee = rng.choice(p.invited) if p.invited and rng.random() < 0.5 else ""
            due = now + int(rng.uniform(5, 60) * DAY) if rng.random() < 0.8 else None
            tasks.append(
                [p.project_id, title, assignee, due, None, now - int(rng.uniform(1, 10) * DAY)]
            )
        return tasks
    end = min(p.hi, now - 1)
    progress = 0.5
    if p.status == "in_progress" and p.target:
        progress = min(0.85, max(0.1, (now - p.start) / max(DAY, p.target - p.start)))
    for i, title in enumerate(titles):
        if rng.random() < 0.7:
            created = p.start + int(rng.uniform(0, 3) * DAY)
        else:
            created = p.start + int(rng.random() * (end - p.start))
        created = min(created, end - 2 * 3600)
        if p.status == "in_progress":
            done = rng.random() < (0.9 if i / len(titles) < progress else 0.1)
        else:
            done = rng.random() < DONE_SHARE[p.status]
        completed = created + 3600 + int(rng.random() ** 1.5 * (end - created - 3600))
        assignee = rng.choice(p.invited) if p.invited and rng.random() < 0.8 else ""
        due = created + int(rng.uniform(7, 45) * DAY) if rng.random() < 0.85 else None
        tasks.append([p.project_id, title, assignee, due, completed if done else None, created])
    return tasks


def _overdue_or_not(rng: Random, now: int, p: Portal, tasks: list[Task]) -> None:
    """Make overdue tasks exist exactly in projects with the ``overdue`` trait.

    A task is overdue when it is open, assigned and due before *now* (the end
    of the as-of date), so a task due on the as-of date itself is overdue.
    """

    def overdue(task: Task) -> bool:
        return task[2] != "" and task[4] is None and task[3] is not None and task[3] < now

    if "overdue" not in p.traits:
        for task in tasks:
            if overdue(task):
                task[3] = now + int(rng.uniform(0, 30) * DAY)  # due the day after as_of or later
        return
    if any(overdue(task) for task in tasks) or not p.invited or p.start is None:
        return
    created = max(p.start, min(p.hi, now) - 40 * DAY)
    due = max(created, now - int(rng.uniform(2, 15) * DAY))
    tasks.append(
        [p.project_id, rng.choice(names.EXTRA_TASK_TITLES), p.invited[0], due, None, created]
    )


def _unassigned(rng: Random, now: int, p: Portal) -> list[Task]:
    """A backlog of more than ten open tasks nobody owns."""
    pool = names.EXTRA_TASK_TITLES + names.TASK_TITLES[p.playbook]
    start = p.start if p.start is not None else now - 10 * DAY
    tasks = []
    for _ in range(rng.randint(11, 18)):
        created = max(start, now - int(rng.uniform(1, 60) * DAY))
        due = now + int(rng.uniform(3, 40) * DAY) if rng.random() < 0.5 else None
        tasks.append([p.project_id, rng.choice(pool), "", due, None, created])
    return tasks


def build_tasks(rng: Random, now: int, projects: list[Portal]) -> list[tuple[str, ...]]:
    """Rows of tasks.csv for ``projects``."""
    tasks: list[Task] = []
    for p in projects:
        mine = _planned(rng, now, p)
        if "unassigned" in p.traits:
            mine += _unassigned(rng, now, p)
        _overdue_or_not(rng, now, p, mine)
        tasks += mine
    width = max(5, len(str(len(tasks))))
    return [
        (
            f"tsk_{i:0{width}d}",
            pid,
            title,
            assignee,
            iso_day(due) if due is not None else "",
            iso_ts(completed) if completed is not None else "",
            iso_ts(created),
        )
        for i, (pid, title, assignee, due, completed, created) in enumerate(tasks, start=1)
    ]

"""Simulated participants: use-case-grounded agents (Chen et al. 2022, "SimEvals") for the book's studies.

Always labelled as simulation: an agent's accuracy measures how much task-relevant information a
condition's screen carries, not how people will do. One call per chapter::

    from xaibook import simulate
    simulate.report("nguyen2021")      # agents per condition beside people's accuracies
    simulate.figure("nguyen2021")      # learning curves, labelled as simulation
    simulate.power("nguyen2021")       # replication sample sizes from the agents' accuracies
    simulate.responses("nguyen2021")   # the agents' answers in the tidy trial schema
    simulate.show("nguyen2021")        # a chapter's section: sentence, table, figure, power

* :mod:`.agents`: the task type, the agents and their learning curves; :mod:`.observe`: the screen
  as numbers; :mod:`.jobs`: many base models as a job map, in-process or on Ray, through the cache;
* one module per study: :mod:`.nguyen`, :mod:`.shen`, :mod:`.alqaraawi`, :mod:`.im`, :mod:`.sixt`;
  :mod:`.results`: tables, figures, power, responses (``show(study)`` is a chapter's whole section).
"""
from .agents import AGENTS, AGENT_LABELS, Task, learning_curve, summarize
from .jobs import BACKENDS, map_jobs, shutdown
from .results import (CAVEAT, STUDIES, Simulation, disagreements, figure, power, report, responses, sentence, show,
                      simulate, timings)

__all__ = ["AGENTS", "AGENT_LABELS", "Task", "learning_curve", "summarize", "BACKENDS", "map_jobs", "shutdown",
           "CAVEAT", "STUDIES", "Simulation", "disagreements", "figure", "power", "report", "responses",
           "sentence", "show", "simulate", "timings"]

"""Simulated participants: use-case-grounded agents (Chen et al. 2022, "SimEvals") for the book's studies.

Always labelled as simulation: an agent's accuracy measures how much task-relevant information a
condition's screen carries, not how people will do.
"""

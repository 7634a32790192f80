"""Helpers several steps share (sticky comments, commit statuses, a task's pull requests).

Steps never import each other: what two steps need lives here.
"""

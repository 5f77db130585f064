"""Grading a class: many submissions in parallel and resumably, late policy, roster, results and
reports, shards and their merge, student selection."""

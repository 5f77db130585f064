"""``autograder export``: grades out to where they go.

- ``lms``: the gradebook files an LMS imports (Canvas's gradebook CSV, Moodle's grade import CSV,
  a plain CSV for a spreadsheet) from a results folder;
- ``gradescope``: the autograder zip Gradescope runs (``setup.sh``, ``run_autograder``, the course
  package and the assignment's rubric), and the runner it calls inside Gradescope.
"""

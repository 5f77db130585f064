"""The grading pipeline on the grader's side: read a notebook, recognise its assignment, restore
protected cells, execute it in a sandbox, run the rubric and score it into a result."""

"""What every part shares: the course and its assignments, configuration, student-facing
messages, the result file and atomic writes, data sets.  Nothing here runs student code."""

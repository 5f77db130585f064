"""For instructors writing a course: the rubric's pytest plugin, releasing student notebooks and
the bundle, the students' self-check, new-assignment scaffolds and the rubric audit."""

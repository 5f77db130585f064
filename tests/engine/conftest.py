import pytest

from autograder.core.course import Course

from .tiny import make_course


@pytest.fixture(scope="session")
def tiny(tmp_path_factory) -> Course:
    return Course(make_course(tmp_path_factory.mktemp("tiny-course")))
